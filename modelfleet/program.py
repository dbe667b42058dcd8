"""The stack program: specs + stack config → placements → platform resources → exports.

`build(stack, specs)` is what `__main__.py` runs under `pulumi up` and what `preview`
runs under mocks. It validates and places every selected model BEFORE registering any
resource, so invalid input registers nothing. Returns endpoint URLs per model. Each model
also gets a free `RolloutState` (components.rollout_state) that carries its rollout into the
plan for the policies.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from modelfleet.environment import AnyStack, target_of
from modelfleet.located import placement_error
from modelfleet.placement import StackPlacement, place_stack
from modelfleet.spec import SpecFile, load_specs, spec_paths


def plan_stack(stack: AnyStack, specs: list[SpecFile]) -> StackPlacement:
    """Place every selected model; raise PlacementError listing each breaking diagnostic."""
    sp = place_stack(stack, specs)
    if sp.errors:
        raise placement_error([{"stack": stack.stack, "stack_file": stack.file, **d.as_dict()} for d in sp.errors], specs, lambda _: stack.environment)
    return sp


def build(stack: AnyStack, specs: list[SpecFile], placed: StackPlacement | None = None) -> dict[str, pulumi.Output[str]]:
    """Register the stack's resources; `placed` reuses a placement already computed for it."""
    from components import deploy_platform

    sp = placed if placed is not None else plan_stack(stack, specs)
    for d in sp.diagnostics:
        pulumi.log.warn(f"{d.model}: {d.field}: {d.message}")
    register_rollout_states(sp, {s.name: s.path for s in specs})
    endpoints = deploy_platform(target_of(stack), sp)
    for model, url in sorted(endpoints.items()):
        pulumi.export(f"{model}-url", url)
    return endpoints


def register_rollout_states(sp: StackPlacement, spec_files: dict[str, Path]) -> None:
    """One free `RolloutState` per model, so policies see the rollout facts in the plan; when a
    rollout is in progress, its start is the commit that set the spec's version."""
    from components.rollout_state import RolloutState, RolloutStateArgs
    from modelfleet.rollout_clock import rollout_started

    for p in sp.placements:
        if p.rollout is None:
            continue
        path = spec_files.get(p.model)
        started = rollout_started(path, sp.stack.environment, p.rollout.version) if p.rollout.active and path else None
        RolloutState(f"{p.model}-rollout-state", RolloutStateArgs(p.rollout, started))


def main(project_dir: Path | None = None) -> None:
    """Entry for `pulumi up`: stack config from Pulumi, specs from model_specs/."""
    from modelfleet.environment import stack_from_pulumi_config

    root = project_dir or Path.cwd()
    build(stack_from_pulumi_config(), load_specs(spec_paths(root / "model_specs")))
