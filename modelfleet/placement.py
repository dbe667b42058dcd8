"""Placement: (spec, stack, catalog) → where and how each model runs. Pure: no Pulumi.

Contract:
- `place_stack(stack, specs)` → `StackPlacement` with one `Placement` per selected model
  and every diagnostic. It never raises for a model that cannot be placed: the caller
  (`program.build`, `validate`) decides; `StackPlacement.errors` lists the breaking ones.
- Shared types (`Placement`, `NodeShape`, `StackPlacement`) live in `modelfleet.placed`.
- Each target (onprem, eks, aks, sagemaker, azureml) is a `Target` in `modelfleet.targets`,
  chosen by `targets.get(name)`; a target declares what it cannot do in `UNSUPPORTED`.
- Names are deterministic and fit each platform's limits (`modelfleet.naming`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from modelfleet.environment import AnyStack, KubernetesStack, target_of
from modelfleet.extras import require_for
from modelfleet.placed import (
    NodeShape,
    Placement,
    StackPlacement,
    default_image,
    labels_for,
    placement_for,
    requirement_of,
    tags_for,
)
from modelfleet.plan import Diagnostic
from modelfleet.rollout import phase_diagnostics, stable_diagnostics
from modelfleet.spec import ModelSpec, SpecFile

if TYPE_CHECKING:
    from modelfleet.targets import Target

# the shared types are re-exported: callers keep `from modelfleet.placement import Placement`
__all__ = ["NodeShape", "Placement", "StackPlacement", "default_image", "labels_for", "place_stack", "placement_for",
           "requirement_of", "tags_for"]


def place_stack(stack: AnyStack, specs: list[SpecFile]) -> StackPlacement:
    """Place every model the stack selects; collect diagnostics (never raises for bad fits)."""
    from modelfleet import targets
    from modelfleet.alert_destinations import check_capture, check_destination

    require_for(target_of(stack), stack.stack, "placement")  # an SDK missing from a base install: exit 3 naming the extra
    target = targets.get(target_of(stack))
    placements = []
    diagnostics: list[Diagnostic] = []
    for spec_file in sorted(specs, key=lambda s: s.name):
        if not stack.selects(spec_file.name):
            continue
        spec = spec_file.for_environment(stack.environment)
        placement = with_rollout(target, target.place(spec, stack), spec, stack)
        placements.append(placement)
        diagnostics.extend(placement.diagnostics)
    diagnostics.extend(stable_diagnostics(stack, [p.model for p in placements]))
    diagnostics.extend(target.check_stack(stack, placements))
    diagnostics.extend(check_destination(stack))
    diagnostics.extend(check_capture(stack, placements))
    if isinstance(stack, KubernetesStack):
        from modelfleet.targets.kubernetes import egress_stack_diagnostics, monitoring_stack_diagnostics

        diagnostics.extend(monitoring_stack_diagnostics(stack, placements))
        diagnostics.extend(egress_stack_diagnostics(stack))
    return StackPlacement(stack, tuple(placements), tuple(diagnostics))


def with_rollout(target: Target, placement: Placement, spec: ModelSpec, stack: AnyStack) -> Placement:
    """The placement with its rollout wired by the target, and the target's rollout diagnostics."""
    plan = placement.rollout
    if plan is None:
        return placement
    wired = plan.with_wiring(**target.rollout_wiring(plan, spec, stack)) if plan.active else plan
    extra = [*phase_diagnostics(plan), *target.rollout_diagnostics(plan, spec, stack)]
    return replace(placement, rollout=wired, diagnostics=(*placement.diagnostics, *extra))
