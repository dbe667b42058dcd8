"""Value types of a cost estimate: components, unpriced/free entries, per-model and per-stack totals.

Contract: money is `Decimal`, a month is `HOURS_PER_MONTH` (730) hours. A `Component` is one
priced line: `unit_price` × quantity, with quantity bounds for min / expected / max. A
usage-dependent component (`usage_based=True`) has no quantity and contributes nothing to
the totals, but is always reported ("depends on usage"), never silently 0. `Unpriced`
entries are resources the engine could not price (unknown type, no catalog offer, no
internal rate) — reported with a reason. `Free` entries are resources that cost nothing by
themselves (IAM, namespaces, ...) or whose cost is carried elsewhere (pods on a priced node
pool).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HOURS_PER_MONTH = Decimal(730)
CENT = Decimal("0.01")
ZERO = Decimal(0)
SHARED = "(shared)"
NO_USAGE_FILE = "expected = min (no usage file)"
FROM_USAGE_FILE = "expected from usage file (average replicas)"


def money(value: Decimal) -> Decimal:
    """Round to cents, half up (how invoices round)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_str(value: Decimal | None) -> str | None:
    return None if value is None else str(money(value))


def number_str(value: Decimal | None) -> str | None:
    """A quantity as a plain decimal string without exponent or trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True)
class Component:
    """One cost line of one resource, attributed to a model (or to the stack when `model` is None)."""

    resource: str  # Pulumi type token
    name: str  # resource name
    description: str  # "Instance usage (g5.xlarge, on-demand)"
    unit: str  # "hours", "GPU-hours", "GB-months", ...
    unit_price: Decimal | None
    quantity_min: Decimal | None
    quantity_max: Decimal | None
    quantity_expected: Decimal | None
    price_source: str
    model: str | None = None
    usage_based: bool = False
    share: Decimal | None = None  # fraction of a shared node pool attributed to `model`
    note: str = ""
    slot: str | None = None  # during a rollout: "stable" or "new" (the second slot); None = not version-specific

    def _monthly(self, quantity: Decimal | None) -> Decimal:
        if self.usage_based or self.unit_price is None or quantity is None:
            return ZERO
        return self.unit_price * quantity

    @property
    def monthly_min(self) -> Decimal:
        return self._monthly(self.quantity_min)

    @property
    def monthly_max(self) -> Decimal:
        return self._monthly(self.quantity_max)

    @property
    def monthly_expected(self) -> Decimal:
        return self._monthly(self.quantity_expected)


@dataclass(frozen=True)
class _Listed:
    """A resource named in the report with the reason it carries no price line."""

    type: str
    name: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class Unpriced(_Listed):
    """A resource that may cost money but has no price here; never counted as 0 silently."""


@dataclass(frozen=True)
class Free(_Listed):
    """A resource that costs nothing by itself, or whose cost another component carries."""


@dataclass
class ModelCost:
    """Every component attributed to one model (or to the stack: `model == SHARED`); totals in cents."""

    model: str
    components: list[Component] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def monthly_min(self) -> Decimal:
        return money(sum((c.monthly_min for c in self.components), ZERO))

    @property
    def monthly_max(self) -> Decimal:
        return money(sum((c.monthly_max for c in self.components), ZERO))

    @property
    def monthly_expected(self) -> Decimal:
        return money(sum((c.monthly_expected for c in self.components), ZERO))

    @property
    def usage_based(self) -> list[Component]:
        return [c for c in self.components if c.usage_based]


@dataclass(frozen=True)
class RolloutCost:
    """What a rollout in progress (or aborted) adds to a model's monthly cost: its second slot.

    `extra_*` is monthly (the second slot runs until promote or abort); `overlap_*` is a one-off per
    update when the platform runs the second slot only while it shifts traffic (`overlap_hours`)."""

    model: str
    stable_version: str | None
    new_version: str | None
    strategy: str
    phase: str
    extra_min: Decimal
    extra_expected: Decimal
    extra_max: Decimal
    basis: str
    overlap_hours: Decimal | None = None
    overlap_min: Decimal | None = None
    overlap_expected: Decimal | None = None
    overlap_max: Decimal | None = None


@dataclass
class StackCost:
    """The estimate of one stack. `models` excludes the shared bucket, which `shared` holds.
    Totals are the sums of the model (and shared) totals, each rounded to cents, so tables add up."""

    stack: str
    platform: str
    environment: str
    target: str
    models: list[ModelCost]
    shared: ModelCost
    unpriced: list[Unpriced]
    free: list[Free]
    budget: Decimal | None
    expected_basis: str = NO_USAGE_FILE
    rollouts: list[RolloutCost] = field(default_factory=list)

    def _all(self) -> list[ModelCost]:
        return [*self.models, self.shared]

    @property
    def monthly_min(self) -> Decimal:
        return sum((m.monthly_min for m in self._all()), ZERO)

    @property
    def monthly_max(self) -> Decimal:
        return sum((m.monthly_max for m in self._all()), ZERO)

    @property
    def monthly_expected(self) -> Decimal:
        return sum((m.monthly_expected for m in self._all()), ZERO)

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and money(self.monthly_max) > self.budget

    @property
    def usage_based(self) -> list[Component]:
        return [c for m in self._all() for c in m.usage_based]

    def model(self, name: str) -> ModelCost | None:
        return next((m for m in self.models if m.model == name), None)
