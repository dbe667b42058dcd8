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

from modelfleet.environment import AnyStack, target_of
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
from modelfleet.spec import SpecFile

# the shared types are re-exported: callers keep `from modelfleet.placement import Placement`
__all__ = ["NodeShape", "Placement", "StackPlacement", "default_image", "labels_for", "place_stack", "placement_for",
           "requirement_of", "tags_for"]


def place_stack(stack: AnyStack, specs: list[SpecFile]) -> StackPlacement:
    """Place every model the stack selects; collect diagnostics (never raises for bad fits)."""
    from modelfleet import targets
    from modelfleet.alert_destinations import check_capture, check_destination

    target = targets.get(target_of(stack))
    placements = []
    diagnostics: list[Diagnostic] = []
    for spec_file in sorted(specs, key=lambda s: s.name):
        if not stack.selects(spec_file.name):
            continue
        spec = spec_file.for_environment(stack.environment)
        placement = target.place(spec, stack)
        placements.append(placement)
        diagnostics.extend(placement.diagnostics)
    diagnostics.extend(target.check_stack(stack, placements))
    diagnostics.extend(check_destination(stack))
    diagnostics.extend(check_capture(stack, placements))
    return StackPlacement(stack, tuple(placements), tuple(diagnostics))
