"""Offline preview: run the stack program under Pulumi mocks and capture a `ResourcePlan`.

Contract:
- `preview_stack(project_dir, stack_name)` → `ResourcePlan` for one stack file.
- `preview_stacks(project_dir, names)` → plans for the named stacks (all when None); a stack
  glob that matches no spec of the project is a warning among the plan's diagnostics.
- `close_event_loops()` before the process exits (the CLI does) keeps stderr clean.
- Invalid specs/stacks raise `SpecError`, unplaceable models `PlacementError`, before any
  resource is registered. URNs are asserted unique (mocks do not detect duplicates).
No Pulumi CLI, no credentials, no network: registrations go to an in-process monitor
that records type, name, parent, inputs and options.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, settings
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from modelfleet import mocked_cloud
from modelfleet.alert_destinations import destination_problems
from modelfleet.aws_images import image_source
from modelfleet.collisions import collision_problems
from modelfleet.environment import AnyStack, find_stack, load_stack_file, stack_paths, target_of
from modelfleet.errors import ModelfleetError, SpecError
from modelfleet.extras import require_for
from modelfleet.placement import Placement, StackPlacement
from modelfleet.plan import SECRET_PLACEHOLDER, PlannedResource, ResourcePlan
from modelfleet.program import build, plan_stack
from modelfleet.progress import stack_started
from modelfleet.rollout import STATE_TYPE
from modelfleet.selection import unmatched_glob_diagnostics
from modelfleet.spec import SpecFile, load_specs, spec_paths
from modelfleet.targets.offers import explain_placements

PROJECT = "modelfleet"
# the program's pulumi.log lines repeat diagnostics the CLI already shows
_QUIET = logging.getLogger("modelfleet.preview.engine")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, region: str | None) -> None:
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = {**args.inputs, **mocked_cloud.computed_outputs(args.typ, args.name, args.inputs, self.region)}
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return mocked_cloud.call_result(args.token, args.args, self.region), []


class _CapturingMonitor(mocks.MockMonitor):
    """Records every registration request with its options, in order."""

    def __init__(self, mock: _Mocks) -> None:
        super().__init__(mock)
        self.captured: list[PlannedResource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(_mask_secrets(request.object))
            options = {
                "protect": bool(request.protect),
                "retainOnDelete": bool(request.retainOnDelete),
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "ignoreChanges": list(request.ignoreChanges),
                "dependsOn": sorted(request.dependencies),
                "provider": request.provider.split("::")[-2] if request.provider else "",
            }
            self.captured.append(PlannedResource(
                urn=_normal_urn(response.urn), type=request.type, name=request.name,
                parent="" if request.parent.split("::")[2:3] == ["pulumi:pulumi:Stack"] else _normal_urn(request.parent),
                custom=bool(request.custom), inputs=_plain(inputs), options=options))
        return response


def _normal_urn(urn: str) -> str:
    """Mock URNs of top-level resources carry the root stack's type; real ones do not."""
    return urn.replace("::pulumi:pulumi:Stack$", "::")


def _mask_secrets(struct: Any) -> Any:
    """Replace every secret value inside a registration's wire properties by the placeholder, in place.

    Deserializing would mark a whole property secret when one nested value is (a container whose
    environment holds one token), hiding what a reviewer needs; masking first keeps the siblings."""
    for value in struct.fields.values():
        _mask_value(value)
    return struct


def _mask_value(value: Any) -> None:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        sig = value.struct_value.fields.get(pulumi.runtime.rpc._special_sig_key)
        if sig is not None and sig.string_value == pulumi.runtime.rpc._special_secret_sig:
            value.string_value = SECRET_PLACEHOLDER
            return
        _mask_secrets(value.struct_value)
    elif kind == "list_value":
        for item in value.list_value.values:
            _mask_value(item)


def _plain(value: Any) -> Any:
    """Deserialized inputs may hold Pulumi sentinels; keep JSON-compatible data only. (Secret values
    were replaced by the placeholder before deserializing: `_mask_secrets`.)"""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@contextmanager
def without_source_positions() -> Iterator[None]:
    """Skip the SDK's per-registration stack walk: source positions only matter to a real
    engine's diagnostics, and reading every frame's source line dominates offline runs."""
    original = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = lambda: source_pb2.StackTrace()  # type: ignore[assignment]
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original  # type: ignore[assignment]


def _run(stack: AnyStack, specs: list[SpecFile], placed: StackPlacement) -> tuple[list[PlannedResource], dict[str, str]]:
    monitor = _CapturingMonitor(_Mocks(stack.region))
    settings.ROOT.set(None)
    mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack.stack, preview=False, monitor=monitor, logger=_QUIET)
    endpoints: dict[str, str] = {}

    def program() -> None:
        urls = build(stack, specs, placed)
        for model, url in urls.items():
            def record(value: str, model: str = model) -> None:
                endpoints[model] = value

            url.apply(record)

    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    with without_source_positions():
        _sync_await(run_pulumi_func(program))
    return monitor.captured, endpoints


def close_event_loops() -> None:
    """Close the event loops Pulumi's mock monitor leaves on its worker threads (one per thread,
    never closed). Left to the garbage collector at interpreter exit, a loop whose self-pipe
    socket was finalised first prints "ValueError: Invalid file descriptor: -1" on stderr."""
    import asyncio
    import gc

    for obj in gc.get_objects():
        if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_running() and not obj.is_closed():
            obj.close()


def preview_loaded(stack: AnyStack, specs: list[SpecFile], placed: StackPlacement | None = None) -> ResourcePlan:
    """Preview an already-loaded stack against already-loaded specs (`placed`: its placement, if
    already computed)."""
    require_for(target_of(stack), stack.stack, "program")  # a cloud SDK missing from a base install: exit 3
    stack_started(stack.stack)  # the terminal status line, when a command opened one
    sp = placed if placed is not None else plan_stack(stack, specs)  # raises before anything is registered
    resources, endpoints = _run(stack, specs, sp)
    urns = [r.urn for r in resources]
    duplicates = sorted({u for u in urns if urns.count(u) > 1})
    if duplicates:
        raise ModelfleetError(f"stack {stack.stack!r} registers duplicate URNs: {', '.join(duplicates)}")
    config = {"environment": stack.environment, "production": stack.production, "target": target_of(stack), "region": stack.region,
              "models": [p.model for p in sp.placements], "stack_settings": stack.model_dump(mode="json"),
              # every rollout in progress (or aborted): versions, split, bake, rollback wiring
              "rollouts": [started(p.rollout.as_dict(), resources) for p in sp.placements
                           if p.rollout is not None and p.rollout.active],
              "artifacts": {p.model: {**p.artifact.as_dict(), **image_source(p.image, stack)}
                            for p in sp.placements if p.artifact is not None},
              # per model whose machine the catalog chose: which, why, and the offers passed over
              "placements": explain_placements(sp.placements),
              # managed endpoints that scale to zero or on a queue: how, and what the first request after idle waits for
              "capacity": [capacity_entry(p) for p in sp.placements if p.names.get("capacity") in CAPACITY_WORDS]}
    return ResourcePlan(stack=stack.stack, platform=stack.platform, environment=stack.environment,
                        resources=tuple(sorted(resources, key=lambda r: r.urn)), diagnostics=sp.diagnostics, outputs=endpoints, config=config)


def started(rollout: dict[str, Any], resources: list[PlannedResource]) -> dict[str, Any]:
    """The rollout entry with when it started (`started_at`, UTC or None) and how that was found
    (`started_at_note`), read from the model's `RolloutState` in the plan."""
    state = next((r.inputs for r in resources if r.type == STATE_TYPE and r.inputs.get("model") == rollout["model"]), {})
    return {**rollout, "started_at": state.get("startedAt"), "started_at_note": state.get("startedAtNote")}


CAPACITY_WORDS = {
    "components": "scale-to-zero: SageMaker inference component on an endpoint with managed instance scaling from 0 instances",
    "async": "queue-driven: asynchronous SageMaker endpoint scaling on its backlog per instance",
}


def capacity_entry(p: Placement) -> dict[str, object]:
    return {"model": p.model, "mode": p.names["capacity"], "how": CAPACITY_WORDS[p.names["capacity"]],
            "floor": p.min_replicas, "max": p.max_replicas, "cold_start": p.names.get("cold_start")}


def load_project(project_dir: Path) -> list[SpecFile]:
    return load_specs(spec_paths(project_dir / "model_specs"))


def preview_stack(project_dir: Path, stack_name: str) -> ResourcePlan:
    specs = load_project(project_dir)
    return preview_loaded(load_stack_file(find_stack(project_dir / "stacks", stack_name)), specs)


def preview_stacks(project_dir: Path, names: list[str] | None = None) -> list[ResourcePlan]:
    """Validate every spec and selected stack first, then preview each stack."""
    specs = load_project(project_dir)
    stacks_dir = project_dir / "stacks"
    paths = [find_stack(stacks_dir, n) for n in names] if names else stack_paths(stacks_dir)
    stacks = [load_stack_file(p) for p in paths]
    problems = [problem for stack in stacks for problem in destination_problems(stack)]
    if problems:
        raise SpecError(problems)
    spec_names = {spec.name for spec in specs}
    placements = [plan_stack(stack, specs) for stack in stacks]  # every stack placeable before any runs
    placements = [replace(sp, diagnostics=(*unmatched_glob_diagnostics(sp.stack, spec_names), *sp.diagnostics))
                  for sp in placements]
    if not names:  # every stack of the project: their cloud names must not collide
        collisions = collision_problems(placements)
        if collisions:
            raise SpecError(collisions)
    return [preview_loaded(stack, specs, placed) for stack, placed in zip(stacks, placements, strict=True)]
