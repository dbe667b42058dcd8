"""Before → after comparison of two sets of stack estimates (a git ref vs the working tree).

Contract: `compare(base_ref, before, after)` pairs stacks by name; a stack (or a model)
present on one side only counts as 0 on the other. Deltas are after − before for min,
expected and max; `percent` is None when the before figure is 0 (nothing to compare to).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from modelfleet.cost.model import ZERO, StackCost, money


@dataclass(frozen=True)
class Change:
    """One row: a stack or a model, before and after (min / expected / max)."""

    name: str
    before_min: Decimal
    before_expected: Decimal
    before_max: Decimal
    after_min: Decimal
    after_expected: Decimal
    after_max: Decimal
    status: str  # added | removed | changed | unchanged

    @property
    def delta_min(self) -> Decimal:
        return self.after_min - self.before_min

    @property
    def delta_expected(self) -> Decimal:
        return self.after_expected - self.before_expected

    @property
    def delta_max(self) -> Decimal:
        return self.after_max - self.before_max


def percent(before: Decimal, after: Decimal) -> Decimal | None:
    if money(before) == 0:
        return None
    return ((after - before) / before * 100).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class StackChange:
    stack: Change
    models: list[Change]


@dataclass(frozen=True)
class Diff:
    base_ref: str
    stacks: list[StackChange]

    @property
    def before_max(self) -> Decimal:
        return sum((s.stack.before_max for s in self.stacks), ZERO)

    @property
    def after_max(self) -> Decimal:
        return sum((s.stack.after_max for s in self.stacks), ZERO)

    @property
    def before_min(self) -> Decimal:
        return sum((s.stack.before_min for s in self.stacks), ZERO)

    @property
    def after_min(self) -> Decimal:
        return sum((s.stack.after_min for s in self.stacks), ZERO)

    @property
    def total(self) -> Change:
        """All stacks together, as one row (min, expected and max before and after)."""
        def add(attr: str) -> Decimal:
            return sum((getattr(s.stack, attr) for s in self.stacks), ZERO)

        before = (add("before_min"), add("before_expected"), add("before_max"))
        after = (add("after_min"), add("after_expected"), add("after_max"))
        return Change("Total", *before, *after, status="unchanged" if before == after else "changed")


def _status(before: object, after: object, same: bool) -> str:
    if before is None:
        return "added"
    if after is None:
        return "removed"
    return "unchanged" if same else "changed"


def _figures(x: object) -> tuple[Decimal, Decimal, Decimal]:
    if x is None:
        return ZERO, ZERO, ZERO
    return money(x.monthly_min), money(x.monthly_expected), money(x.monthly_max)  # type: ignore[attr-defined]


def _change(name: str, before: object, after: object) -> Change:
    b, a = _figures(before), _figures(after)
    return Change(name, *b, *a, _status(before, after, a == b))


def compare(base_ref: str, before: list[StackCost], after: list[StackCost]) -> Diff:
    old = {s.stack: s for s in before}
    new = {s.stack: s for s in after}
    stacks: list[StackChange] = []
    for name in sorted(old.keys() | new.keys()):
        b, a = old.get(name), new.get(name)
        b_models = {m.model: m for m in ([*b.models, b.shared] if b else [])}
        a_models = {m.model: m for m in ([*a.models, a.shared] if a else [])}
        order = [*a_models, *(m for m in b_models if m not in a_models)]
        models = [_change(m, b_models.get(m), a_models.get(m)) for m in order]
        stacks.append(StackChange(_change(name, b, a), [m for m in models if m.status != "unchanged" or _nonzero(m)]))
    return Diff(base_ref, stacks)


def _nonzero(c: Change) -> bool:
    return bool(c.after_max or c.before_max)
