"""Split node-pool cost over the models whose pods run there, by GPU share (no double counting).

Contract: `attribute_pools(pools, workloads, ctx)` → components.
- A pool tagged with one model (`modelfleet.io/model` / `modelfleet:model`) is that model's.
- Otherwise a pool serves the GPU workloads that select it (nodeSelector
  `modelfleet.io/gpu-pool` equal to the pool's label; without pool labels, the same
  `modelfleet.io/accelerator`). Each model's share = its peak GPUs on the pool (GPUs per
  replica × max replicas) ÷ the pool's total peak GPUs; the last model takes the remainder,
  so shares sum to exactly 1 and no cent is lost or invented.
- A pool no GPU workload selects (system/CPU pools) is stack-level: `model=None`.
- A second slot during a rollout (`Workload.slot == "new"`) adds the nodes its min replicas need
  beyond the pool's minimum, to min and expected (`_second_slot_nodes`).
- Expected nodes: min nodes without a usage file; with one, enough nodes for the expected
  GPUs (Σ GPUs × expected replicas, rounded up to whole nodes), within the pool's bounds.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_CEILING, Decimal

from modelfleet.cost.context import Context
from modelfleet.cost.model import HOURS_PER_MONTH, ZERO, Component
from modelfleet.cost.nodepools import NodePool
from modelfleet.cost.rollouts import NEW
from modelfleet.cost.workloads import Workload


class _Selectors:
    """GPU workloads indexed by the pool label and accelerator they select."""

    def __init__(self, workloads: list[Workload]) -> None:
        self.by_pool: dict[str, list[Workload]] = defaultdict(list)
        self.by_accelerator: dict[str, list[Workload]] = defaultdict(list)
        self.unlabelled_by_accelerator: dict[str, list[Workload]] = defaultdict(list)
        for w in workloads:
            if w.gpus == 0:
                continue
            if w.pool:
                self.by_pool[w.pool].append(w)
            if w.accelerator:
                self.by_accelerator[w.accelerator].append(w)
                if not w.pool:
                    self.unlabelled_by_accelerator[w.accelerator].append(w)

    def users(self, pool: NodePool) -> list[Workload]:
        """Pool label against pool label when both have one, else accelerator against accelerator."""
        accelerator = pool.accelerator or ""
        if pool.pool_label:
            return [*self.by_pool.get(pool.pool_label, []), *self.unlabelled_by_accelerator.get(accelerator, [])]
        return list(self.by_accelerator.get(accelerator, []))


def _expected_nodes(pool: NodePool, users: list[Workload], ctx: Context) -> Decimal:
    if ctx.averages is None or pool.gpus_per_node <= 0:
        return pool.min_nodes
    gpus = sum((w.gpus * ctx.replicas(w.model, w.min_replicas, w.max_replicas)[1] for w in users), Decimal(0))
    nodes = (gpus / pool.gpus_per_node).to_integral_value(rounding=ROUND_CEILING)
    return min(max(nodes, pool.min_nodes), pool.max_nodes)


def _component(pool: NodePool, model: str | None, share: Decimal | None, expected_nodes: Decimal, note: str) -> Component:
    factor = HOURS_PER_MONTH * (share if share is not None else Decimal(1))
    r = pool.resource
    return Component(r.type, r.name, pool.description, "instance-hours", pool.unit_price, pool.min_nodes * factor,
                     pool.max_nodes * factor, expected_nodes * factor, pool.price_source, model=model, share=share,
                     note=note)


def _second_slot_nodes(pool: NodePool, users: list[Workload]) -> list[Component]:
    """Nodes the pool needs beyond its minimum for second-slot pods (a KServe canary revision at its
    min replicas): the pool's bounds were sized for one slot, so its autoscaler adds them. Each
    new-slot workload takes the nodes its GPUs add, in order. They count in min and expected; max
    is unchanged, because the pool's max bounds both slots together (already in the pool's line)."""
    if pool.gpus_per_node <= 0:
        return []
    gpus = sum((w.gpus * w.min_replicas for w in users if w.slot != NEW), Decimal(0))
    floor = max(pool.min_nodes, (gpus / pool.gpus_per_node).to_integral_value(rounding=ROUND_CEILING))
    out = []
    for w in users:
        if w.slot != NEW or w.model is None:
            continue
        gpus += w.gpus * w.min_replicas
        need = min((gpus / pool.gpus_per_node).to_integral_value(rounding=ROUND_CEILING), pool.max_nodes)
        extra = max(need - floor, Decimal(0))
        floor += extra
        if extra:
            r = pool.resource
            out.append(Component(r.type, r.name, f"second slot: {pool.description}", "instance-hours", pool.unit_price,
                                 extra * HOURS_PER_MONTH, ZERO, extra * HOURS_PER_MONTH, pool.price_source, model=w.model,
                                 note=f"{extra} node(s) beyond the pool's minimum for the {w.resource.name} second slot at "
                                      f"{w.min_replicas} replica(s); the pool's max bounds both slots", slot=NEW))
    return out


def attribute_pools(pools: list[NodePool], workloads: list[Workload], ctx: Context) -> list[Component]:
    out: list[Component] = []
    selectors = _Selectors(workloads)
    for pool in pools:
        bounds = f"nodes {pool.min_nodes}..{pool.max_nodes}"
        users = selectors.users(pool)
        out.extend(_second_slot_nodes(pool, users))
        expected = _expected_nodes(pool, users, ctx)
        if pool.model is not None:
            out.append(_component(pool, pool.model, None, expected, f"{bounds}; pool dedicated to {pool.model}"))
            continue
        peaks: dict[str, Decimal] = defaultdict(Decimal)
        for w in users:
            if w.model is not None:
                peaks[w.model] += w.gpus * w.max_replicas
        total = sum(peaks.values(), Decimal(0))
        if total == 0:
            out.append(_component(pool, None, None, expected, f"{bounds}; no model's GPU pods select this pool"))
            continue
        models = sorted(peaks)
        given = Decimal(0)
        for i, model in enumerate(models):
            share = Decimal(1) - given if i == len(models) - 1 else peaks[model] / total
            given += share
            out.append(_component(pool, model, share, expected,
                                  f"{bounds}; {peaks[model]} of {total} peak GPUs on the pool"))
    return out
