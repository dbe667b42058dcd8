"""A model's rollout on one stack (DESIGN §4a): the state in Git, as data. Pure: no Pulumi.

Contract:
- `rollout_for(spec, stack)` → `RolloutPlan`, its phase decided by the stack's
  `modelfleet:stable` entry for the model and the spec's `version`:
  - `first_deploy` — no entry: one slot, no canary fields, nothing to go back to;
  - `steady` — the entry is the spec's version: one slot;
  - `in_progress` — the entry differs: the stable version keeps serving next to the new one
    (`canary`: the new one takes `canary_percent`; `blue_green`: the new one gets no live traffic
    until promoted; `rolling`: one slot replaced in place, nothing to split);
  - `aborted` — `modelfleet abort` recorded the spec's version as aborted: the stable version takes
    all traffic and the new one is kept at 0 % until the spec's version changes.
- `RolloutPlan.traffic` is the live split by version, `slots` the versions running side by side.
- Targets add how their platform carries it out (`with_wiring`): traffic steps, what rolls back
  and whether automatically, what promote and abort do there. `as_dict()` is the preview and cost
  JSON `rollouts[]` entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from modelfleet.plan import Diagnostic

if TYPE_CHECKING:
    from modelfleet.environment import AnyStack
    from modelfleet.spec import ModelSpec

Phase = Literal["first_deploy", "steady", "in_progress", "aborted"]
# the free per-model resource that carries this state into the plan (components.rollout_state)
STATE_TYPE = "modelfleet:rollout:RolloutState"
SPLIT_STRATEGIES = ("canary", "blue_green")


@dataclass(frozen=True)
class RolloutPlan:
    """One model's rollout on one stack. `version` is the spec's; `stable_version` the stack's record."""

    model: str
    stack: str
    strategy: str
    phase: Phase
    version: str
    stable_version: str | None
    canary_percent: int
    bake_minutes: int
    rollback_on: tuple[str, ...]
    wiring: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """A rollout is in progress (or was aborted): two versions exist on the stack."""
        return self.phase in ("in_progress", "aborted")

    @property
    def two_slots(self) -> bool:
        """Stable and new run side by side (canary / blue-green); a rolling update replaces in place."""
        return self.active and self.strategy in SPLIT_STRATEGIES

    @property
    def serving_version(self) -> str:
        """The version the platform's primary slot runs."""
        return self.stable_version if self.two_slots and self.stable_version else self.version

    @property
    def new_share(self) -> int:
        """Live traffic share of the new version while two slots run."""
        if self.phase == "aborted" or self.strategy == "blue_green":
            return 0
        return self.canary_percent

    @property
    def traffic(self) -> dict[str, int]:
        """Live traffic by version (percent)."""
        if not self.two_slots or self.stable_version is None:
            return {self.version: 100}
        return {self.stable_version: 100 - self.new_share, self.version: self.new_share}

    @property
    def slots(self) -> tuple[str, ...]:
        """Versions running on the stack: stable first."""
        return tuple(self.traffic)

    def with_wiring(self, **wiring: Any) -> RolloutPlan:
        return replace(self, wiring={**self.wiring, **wiring})

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "stack": self.stack, "strategy": self.strategy, "phase": self.phase,
            "stable_version": self.stable_version, "new_version": self.version if self.active else None,
            "versions": list(self.slots), "traffic": dict(self.traffic),
            "canary_percent": self.canary_percent if self.strategy == "canary" and self.two_slots else None,
            "bake_minutes": self.bake_minutes, "rollback_on": list(self.rollback_on),
            **self.wiring,
        }


def rollout_for(spec: ModelSpec, stack: AnyStack) -> RolloutPlan:
    """The model's rollout phase on this stack from `modelfleet:stable` and the spec's version."""
    entry = stack.stable.get(spec.name)
    r = spec.rollout
    phase: Phase
    if entry is None:
        phase = "first_deploy"
    elif entry.version == spec.version:
        phase = "steady"
    elif entry.aborted == spec.version:
        phase = "aborted"
    else:
        phase = "in_progress"
    return RolloutPlan(model=spec.name, stack=stack.stack, strategy=r.strategy, phase=phase, version=spec.version,
                       stable_version=entry.version if entry else None, canary_percent=r.percent,
                       bake_minutes=r.bake_minutes, rollback_on=tuple(r.rollback_on))


def stable_diagnostics(stack: AnyStack, served: list[str]) -> list[Diagnostic]:
    """A `modelfleet:stable` entry for a model the stack does not serve is left over: say so."""
    return [Diagnostic("warning", model, f"modelfleet:stable.{model}",
                       f"stack {stack.stack!r} records a stable version for {model}, which it does not serve (no spec, or "
                       "modelfleet:models leaves it out); nothing uses the entry. To fix: delete it from the stack file")
            for model in sorted(stack.stable) if model not in served]


def phase_diagnostics(plan: RolloutPlan) -> list[Diagnostic]:
    """What every platform says about an aborted rollout."""
    if plan.phase != "aborted":
        return []
    return [Diagnostic("warning", plan.model, "version",
                       f"the rollout of {plan.version} was aborted on {plan.stack}: {plan.stable_version} takes all traffic and "
                       f"{plan.version} is kept at 0 %. To fix: change version in the spec to roll out a fix, or "
                       f"`modelfleet promote {plan.model} --stack {plan.stack}` to accept {plan.version} after all")]
