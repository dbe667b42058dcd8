"""What a rollout in progress costs: the second slot, priced from the plan on every target.

Contract:
- The rollouts come from the plan (`config["rollouts"]`, `modelfleet.rollout.RolloutPlan.as_dict`
  as the target wired it), so every target that records its rollout there is covered without
  code of its own here.
- A priced component belongs to a slot (`Component.slot`): a mapper sets it when one resource
  holds both slots (a KServe InferenceService during a canary runs two Knative revisions);
  otherwise `slot_of` reads the resource's version (`modelfleet:version` tag or
  `app.kubernetes.io/version` label) against the rollout's stable and new versions (an Azure ML
  deployment per version).
- `rollout_costs(plan, models)` → one `RolloutCost` per rollout: the new slot's components
  summed (monthly min / expected / max), when the plan runs the stable slot too. When it does
  not (SageMaker: the blue/green update runs the new fleet next to the old one only while it
  shifts traffic, then terminates the old fleet), the monthly extra is 0 and, when the target
  says how long the overlap lasts (`second_slot_minutes` in the rollout), the one-off cost of
  the new fleet for that long is given as `overlap_*`.
- After promote (one slot) there is no rollout, so no extra: the model costs one slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from modelfleet.cost.model import HOURS_PER_MONTH, ZERO, Component, ModelCost, RolloutCost, money
from modelfleet.plan import PlannedResource, ResourcePlan

VERSION_TAG = "modelfleet:version"
VERSION_LABEL = "app.kubernetes.io/version"
STABLE, NEW = "stable", "new"


def rollouts_by_model(plan: ResourcePlan) -> dict[str, Mapping[str, Any]]:
    """The plan's rollouts in progress (or aborted) that run two slots, by model."""
    return {str(r["model"]): r for r in (plan.config or {}).get("rollouts") or []
            if isinstance(r, Mapping) and len(r.get("versions") or []) == 2 and r.get("model")}


def version_of(r: PlannedResource) -> str | None:
    tags = r.inputs.get("tags")
    if isinstance(tags, Mapping) and VERSION_TAG in tags:
        return str(tags[VERSION_TAG])
    meta = r.inputs.get("metadata")
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    if isinstance(labels, Mapping) and VERSION_LABEL in labels:
        return str(labels[VERSION_LABEL])
    return None


def slot_of(rollout: Mapping[str, Any] | None, version: str | None) -> str | None:
    """"stable" / "new" for a resource serving `version` during `rollout`; None outside one."""
    if rollout is None or version is None:
        return None
    if version == rollout.get("new_version"):
        return NEW
    if version == rollout.get("stable_version"):
        return STABLE
    return None


def _priced(components: Iterable[Component]) -> list[Component]:
    return [c for c in components if not c.usage_based and c.unit_price is not None]


def _sums(components: list[Component]) -> tuple[Decimal, Decimal, Decimal]:
    return (money(sum((c.monthly_min for c in components), ZERO)), money(sum((c.monthly_expected for c in components), ZERO)),
            money(sum((c.monthly_max for c in components), ZERO)))


def assign_slots(found: list[tuple[Component, str | None]], rollouts: Mapping[str, Mapping[str, Any]]) -> list[Component]:
    """Components with their slot: by the version of the resource they price, for a model whose
    plan holds a priced resource of each version (both slots are resources); a slot a mapper set
    is kept. `found` pairs each component with its resource's version."""
    seen: dict[str, set[str]] = {}
    for c, version in found:
        slot = slot_of(rollouts.get(c.model or ""), version)
        if slot and not c.usage_based and c.unit_price is not None:
            seen.setdefault(c.model or "", set()).add(slot)
    out = []
    for c, version in found:
        if c.slot is None and seen.get(c.model or "") == {STABLE, NEW}:
            c = replace(c, slot=slot_of(rollouts.get(c.model or ""), version))
        out.append(c)
    return out


def _one(rollout: Mapping[str, Any], mc: ModelCost | None) -> RolloutCost:
    priced = _priced(mc.components if mc is not None else [])
    new = [c for c in priced if c.slot == NEW]
    base: dict[str, Any] = {"model": str(rollout["model"]), "stable_version": rollout.get("stable_version"),
            "new_version": rollout.get("new_version"), "strategy": str(rollout.get("strategy")),
            "phase": str(rollout.get("phase"))}
    if new:
        lo, expected, hi = _sums(new)
        what = "; ".join(dict.fromkeys(f"{c.description} ({c.note})" if c.note else c.description for c in new))
        return RolloutCost(**base, extra_min=lo, extra_expected=expected, extra_max=hi,
                           basis=f"the {rollout.get('new_version')} slot runs next to {rollout.get('stable_version')} until "
                                 f"promote or abort: {what}")
    minutes = rollout.get("second_slot_minutes")
    if minutes:
        hours = Decimal(str(minutes)) / 60
        fleet = [c for c in priced if c.slot in (NEW, None)]
        lo, expected, hi = (money(v * hours / HOURS_PER_MONTH) for v in _sums(fleet))
        return RolloutCost(**base, extra_min=ZERO, extra_expected=ZERO, extra_max=ZERO,
                           basis=f"the platform runs the new fleet next to the stable one only while it shifts traffic "
                                 f"(about {minutes} minutes of bakes per update, plus instance start-up, not priced), "
                                 "then removes the stable fleet: no monthly extra, a one-off overlap per update",
                           overlap_hours=money(hours), overlap_min=lo, overlap_expected=expected, overlap_max=hi)
    return RolloutCost(**base, extra_min=ZERO, extra_expected=ZERO, extra_max=ZERO,
                       basis="no second slot in the plan: nothing priced runs the new version next to the stable one")


def rollout_costs(plan: ResourcePlan, models: Mapping[str, ModelCost]) -> list[RolloutCost]:
    """One entry per rollout the plan records (two-slot or not), in the plan's order."""
    out = []
    for rollout in (plan.config or {}).get("rollouts") or []:
        if isinstance(rollout, Mapping) and rollout.get("model"):
            out.append(_one(rollout, models.get(str(rollout["model"]))))
    return out
