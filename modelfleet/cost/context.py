"""What mappers may consult besides the resource itself: plan indexes, catalog, rates, usage.

Contract: a `Context` is built once per plan (`Context(plan, catalog, averages)`) and is
read-only for mappers. It answers, in O(1) after one pass over the plan:
- `model_of(r)`: the model a resource serves — its `modelfleet.io/model` label/tag, its
  `modelfleet:model` tag, else the nearest parent that has one, else the nearest parent
  component named after a model of the stack;
- `offer(platform, instance_type, region)`: the catalog offer, or None;
- `gpu_rate(accelerator)`: the stack's internal on-prem rate per GPU-hour, or None;
- `replicas(model, lo, hi)`: (min, expected, max) replicas; expected is the usage file's
  average clamped to the bounds, else the min;
- lookups of the autoscalers that bound a workload or endpoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, overload

from modelfleet.catalog import Catalog, Offer
from modelfleet.plan import PlannedResource, ResourcePlan, model_of

MODEL_TAG = "modelfleet:model"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's marker for a value unknown during preview


@overload
def dec(value: Any, default: Decimal) -> Decimal: ...
@overload
def dec(value: Any, default: None = None) -> Decimal | None: ...
def dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    """A number from wire form (float, int, numeric string) as Decimal; `default` when absent/unknown."""
    if value is None or isinstance(value, bool) or value == UNKNOWN:
        return default
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default
    if not number.is_finite():
        return default
    return Decimal(int(number)) if number == number.to_integral_value() else number  # 2.0 (wire float) → 2


def dig(data: Any, *path: Any) -> Any:
    """`data[p0][p1]...`, None when any step is missing or of the wrong kind."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or len(data) <= key:
                return None
        elif not isinstance(data, dict):
            return None
        data = data[key] if isinstance(key, int) else data.get(key)
    return data


def _own_model(r: PlannedResource) -> str | None:
    found = model_of(r.inputs)
    if found:
        return found
    tags = r.inputs.get("tags")
    if isinstance(tags, dict) and MODEL_TAG in tags:
        return str(tags[MODEL_TAG])
    return None


class Context:
    """Read-only view of one plan for the mappers."""

    def __init__(self, plan: ResourcePlan, catalog: Catalog, averages: Mapping[str, Decimal] | None = None) -> None:
        self.plan = plan
        self.catalog = catalog
        self.averages = averages
        config = plan.config or {}
        self.target: str = str(config.get("target") or plan.platform or "")
        self.region: str | None = config.get("region")
        settings = config.get("stack_settings") or {}
        rates = dig(settings, "cluster", "gpu_hour_usd") or {}
        self.gpu_rates: dict[str, Decimal] = {str(k): v for k, v in ((k, dec(v)) for k, v in rates.items()) if v is not None}
        self.models: list[str] = [str(m) for m in config.get("models") or []]
        self._model_names = set(self.models)
        self.by_urn = plan.by_urn()
        self._models: dict[str, str | None] = {}
        self.by_type: dict[str, list[PlannedResource]] = defaultdict(list)
        for r in plan.resources:
            self.by_type[r.type].append(r)
        self._memo: dict[str, Any] = {}
        self._targets: dict[str, PlannedResource] | None = None
        self._by_parent: dict[tuple[str, str], list[PlannedResource]] = defaultdict(list)
        for r in plan.resources:
            self._by_parent[(r.type, r.parent)].append(r)

    # attribution -------------------------------------------------------------------------
    def model_of(self, r: PlannedResource) -> str | None:
        if r.urn in self._models:
            return self._models[r.urn]
        seen: list[str] = []
        found: str | None = None
        current: PlannedResource | None = r
        while current is not None:
            if current.urn in self._models:
                found = self._models[current.urn]
                break
            seen.append(current.urn)
            found = _own_model(current)
            if found is None and current.type.startswith("modelfleet:") and current.name in self._model_names:
                found = current.name
            if found is not None:
                break
            current = self.by_urn.get(current.parent) if current.parent else None
        for urn in seen:
            self._models[urn] = found
        return found

    # prices ------------------------------------------------------------------------------
    def offer(self, platform: str, instance_type: str | None, region: str | None = None) -> Offer | None:
        where = region or self.region
        if not instance_type or not where:
            return None
        return self.catalog.find(platform, where, instance_type)

    def gpu_rate(self, accelerator: str | None) -> Decimal | None:
        return self.gpu_rates.get(accelerator) if accelerator else None

    # usage -------------------------------------------------------------------------------
    def replicas(self, model: str | None, lo: Decimal, hi: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        """(min, expected, max) replicas for `model` within [lo, hi]."""
        hi = max(hi, lo)
        if self.averages is None or model is None or model not in self.averages:
            return lo, lo, hi
        return lo, min(max(self.averages[model], lo), hi), hi

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """An index a mapper builds once per plan (e.g. autoscalers by target)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    # autoscaler lookups ------------------------------------------------------------------
    def autoscaling_target(self, resource_id: str) -> PlannedResource | None:
        if self._targets is None:
            self._targets = {str(t.inputs.get("resourceId")): t for t in self.by_type.get("aws:appautoscaling/target:Target", [])}
        return self._targets.get(resource_id)

    def siblings(self, r: PlannedResource, type_token: str) -> list[PlannedResource]:
        """Resources of `type_token` under the same parent component as `r`."""
        if not r.parent:
            return []
        return self._by_parent.get((type_token, r.parent), [])
