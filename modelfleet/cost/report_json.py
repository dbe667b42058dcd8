"""The machine output of `modelfleet cost --format json` (DESIGN §5, extra keys allowed).

Contract: money is a decimal string rounded to cents ("1234.56"); unit prices keep the
catalog's precision; quantities are decimal strings; usage-dependent components have
`unit_price`/quantities null and `monthly_*` null with `"usage_based": true`. Key order is
stable. Shape:
{"currency": "USD", "stacks": [{"stack", "monthly_min", "monthly_expected", "monthly_max",
  "budget", "models": [{"model", "monthly_min", "monthly_expected", "monthly_max",
  "components": [{"resource", "name", "unit", "unit_price", "quantity_min", "quantity_max",
  "price_source", ...}]}], "unpriced": [{"type", "name", "reason"}],
  "rollouts": [{"model", "stable_version", "new_version", "strategy", "phase", "second_slot":
  {"monthly_min", "monthly_expected", "monthly_max", "overlap_per_update": null | {"hours", "min",
  "expected", "max"}, "basis"}}]}], "diff": null | {...}}
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from modelfleet.cost.diff import Change, Diff, percent
from modelfleet.cost.model import Component, ModelCost, RolloutCost, StackCost, money_str, number_str


def component_json(c: Component) -> dict[str, Any]:
    priced = not c.usage_based and c.unit_price is not None
    return {
        "resource": c.resource,
        "name": c.name,
        "description": c.description,
        "unit": c.unit,
        "unit_price": None if c.unit_price is None else number_str(c.unit_price),
        "quantity_min": number_str(c.quantity_min),
        "quantity_max": number_str(c.quantity_max),
        "quantity_expected": number_str(c.quantity_expected),
        "price_source": c.price_source,
        "monthly_min": money_str(c.monthly_min) if priced else None,
        "monthly_expected": money_str(c.monthly_expected) if priced else None,
        "monthly_max": money_str(c.monthly_max) if priced else None,
        "usage_based": c.usage_based,
        "share": number_str(c.share),
        "note": c.note,
    }


def model_json(m: ModelCost) -> dict[str, Any]:
    return {
        "model": m.model,
        "monthly_min": money_str(m.monthly_min),
        "monthly_expected": money_str(m.monthly_expected),
        "monthly_max": money_str(m.monthly_max),
        "components": [component_json(c) for c in m.components],
        "notes": list(m.notes),
    }


def second_slot_json(r: RolloutCost) -> dict[str, Any]:
    """The second slot's cost: monthly min / expected / max, the one-off overlap when the platform
    runs it only during the update, and how it was priced."""
    overlap = None if r.overlap_hours is None else {
        "hours": number_str(r.overlap_hours), "min": money_str(r.overlap_min), "expected": money_str(r.overlap_expected),
        "max": money_str(r.overlap_max)}
    return {"monthly_min": money_str(r.extra_min), "monthly_expected": money_str(r.extra_expected),
            "monthly_max": money_str(r.extra_max), "overlap_per_update": overlap, "basis": r.basis}


def rollout_json(r: RolloutCost) -> dict[str, Any]:
    return {"model": r.model, "stable_version": r.stable_version, "new_version": r.new_version, "strategy": r.strategy,
            "phase": r.phase, "second_slot": second_slot_json(r)}


def stack_json(s: StackCost) -> dict[str, Any]:
    shared = model_json(s.shared)
    del shared["model"]
    return {
        "stack": s.stack,
        "platform": s.platform,
        "environment": s.environment,
        "target": s.target,
        "monthly_min": money_str(s.monthly_min),
        "monthly_expected": money_str(s.monthly_expected),
        "monthly_max": money_str(s.monthly_max),
        "expected_basis": s.expected_basis,
        "budget": money_str(s.budget),
        "over_budget": s.over_budget,
        "models": [model_json(m) for m in s.models],
        "shared": shared,
        "unpriced": [u.as_dict() for u in s.unpriced],
        "usage_based": len(s.usage_based),
        "free": [f.as_dict() for f in s.free],
        # every rollout in progress (or aborted): what its second slot adds
        "rollouts": [rollout_json(r) for r in s.rollouts],
    }


def _pct(before: Decimal, after: Decimal) -> str | None:
    p = percent(before, after)
    return None if p is None else str(p)


def change_json(c: Change, key: str) -> dict[str, Any]:
    return {
        key: c.name,
        "status": c.status,
        "before_min": money_str(c.before_min),
        "after_min": money_str(c.after_min),
        "delta_min": money_str(c.delta_min),
        "before_expected": money_str(c.before_expected),
        "after_expected": money_str(c.after_expected),
        "delta_expected": money_str(c.delta_expected),
        "before_max": money_str(c.before_max),
        "after_max": money_str(c.after_max),
        "delta_max": money_str(c.delta_max),
        "delta_max_percent": _pct(c.before_max, c.after_max),
    }


def diff_json(d: Diff) -> dict[str, Any]:
    return {
        "base_ref": d.base_ref,
        "before_max": money_str(d.before_max),
        "after_max": money_str(d.after_max),
        "delta_max": money_str(d.after_max - d.before_max),
        "delta_max_percent": _pct(d.before_max, d.after_max),
        "stacks": [{**change_json(s.stack, "stack"), "models": [change_json(m, "model") for m in s.models]} for s in d.stacks],
    }


def cost_json(stacks: list[StackCost], diff: Diff | None = None) -> dict[str, Any]:
    return {"currency": "USD", "stacks": [stack_json(s) for s in stacks], "diff": None if diff is None else diff_json(diff)}
