"""The cost engine: one `ResourcePlan` (+ the catalog, + optional usage) → a `StackCost`.

Contract: `estimate_plan(plan, averages=None, catalog=None)` reads only the plan and the
catalog. Every resource is classified by `registry.classify` (mapper / usage-dependent /
free / unpriced); node pools are then split over models by GPU share
(`attribution.attribute_pools`). Components without a model go to the stack's shared
bucket. `averages` maps model → average replicas for the plan's environment (from a usage
file); without it, expected = min. The budget is `stack_settings.budget.monthly_usd`.
Each rollout the plan records gets the cost of its second slot (`rollouts.rollout_costs`);
the totals already include both slots while they run.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from modelfleet.catalog import Catalog, load_catalog
from modelfleet.cost import endpoints, nodepools, workloads  # noqa: F401 - importing registers the mappers
from modelfleet.cost.attribution import attribute_pools
from modelfleet.cost.context import Context, dec, dig
from modelfleet.cost.endpoints import ZERO_FLOOR_MARK
from modelfleet.cost.model import FROM_USAGE_FILE, NO_USAGE_FILE, SHARED, Component, Free, ModelCost, StackCost, Unpriced
from modelfleet.cost.nodepools import NodePool
from modelfleet.cost.registry import classify
from modelfleet.cost.rollouts import assign_slots, rollout_costs, rollouts_by_model, version_of
from modelfleet.cost.workloads import Workload
from modelfleet.plan import ResourcePlan


def _budget(plan: ResourcePlan) -> Decimal | None:
    return dec(dig(plan.config or {}, "stack_settings", "budget", "monthly_usd"))


def estimate_plan(plan: ResourcePlan, averages: Mapping[str, Decimal] | None = None,
                  catalog: Catalog | None = None) -> StackCost:
    """Price one stack's plan. See the module docstring for the rules."""
    ctx = Context(plan, catalog or load_catalog(), averages)
    found: list[tuple[Component, str | None]] = []
    pools: list[NodePool] = []
    loads: list[Workload] = []
    unpriced: list[Unpriced] = []
    free: list[Free] = []
    for resource in plan.resources:
        for item in classify(resource, ctx):
            if isinstance(item, Component):
                found.append((item, version_of(resource)))
            elif isinstance(item, NodePool):
                pools.append(item)
            elif isinstance(item, Workload):
                loads.append(item)
            elif isinstance(item, Unpriced):
                unpriced.append(item)
            else:
                free.append(item)
    rollouts = rollouts_by_model(plan)
    components = assign_slots(found, rollouts)
    components.extend(attribute_pools(pools, loads, ctx))

    by_model: dict[str, ModelCost] = {m: ModelCost(m) for m in ctx.models}
    shared = ModelCost(SHARED)
    for c in components:
        if c.model is None:
            shared.components.append(c)
        else:
            by_model.setdefault(c.model, ModelCost(c.model)).components.append(c)
    _explain_empty(by_model, loads, ctx)
    _explain_zero_floor(by_model)
    if averages is not None:
        for name in by_model:
            if name not in averages:
                by_model[name].notes.append("not in the usage file: expected = min")
    order = {m: i for i, m in enumerate(ctx.models)}
    models = sorted(by_model.values(), key=lambda m: (order.get(m.model, len(order)), m.model))
    return StackCost(stack=plan.stack, platform=plan.platform, environment=plan.environment, target=ctx.target,
                     models=models, shared=shared, unpriced=unpriced, free=free, budget=_budget(plan),
                     expected_basis=NO_USAGE_FILE if averages is None else FROM_USAGE_FILE,
                     rollouts=rollout_costs(plan, by_model))


def _explain_zero_floor(by_model: dict[str, ModelCost]) -> None:
    """A model that scales to zero says why its minimum is $0 (the mapper marks such components)."""
    for mc in by_model.values():
        if any(ZERO_FLOOR_MARK in (c.note or "") for c in mc.components):
            mc.notes.append("scales to zero: the monthly minimum is $0 and instances are billed only while they run "
                            "(the first request after idle waits for a cold start: see preview)")


def _explain_empty(by_model: dict[str, ModelCost], loads: list[Workload], ctx: Context) -> None:
    """A model with no component says why, instead of showing a bare 0."""
    cpu_only = {w.model for w in loads if w.gpus == 0}
    for name, mc in by_model.items():
        if any(not c.usage_based for c in mc.components):
            continue
        if name in cpu_only:
            mc.notes.append("CPU-only pods: they run on the cluster's CPU nodes, priced under (shared) when this stack manages them")
        else:
            mc.notes.append("no priced resource attributed to this model (see unpriced and usage-dependent)")
