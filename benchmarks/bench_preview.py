"""Preview overhead: modelfleet's preview vs a bare program registering the same resources.

The bare program registers every resource the preview captured — same type, name and
inputs, through the same provider SDK classes (pulumi_kubernetes, pulumi_aws,
pulumi_azure_native), under the same mocks and capturing monitor — but flat: no spec
loading, placement, components or diagnostics. The ratio is therefore modelfleet's own
overhead per resource. Prints ms per resource for both and their ratio (target ≤ 1.25),
plus the wall time of `modelfleet preview` over the bundled examples (target < 15 s).
Both sides are warmed up once first: imports and first-use caches are not per-resource.
Run: python benchmarks/bench_preview.py [--repeat N] [--stack S ...]
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from modelfleet.environment import load_stack_file, stack_paths
from modelfleet.plan import PlannedResource
from modelfleet.preview import _CapturingMonitor, _Mocks, load_project, preview_loaded, without_source_positions

ROOT = Path(__file__).resolve().parent.parent


_SDK_PACKAGES = {"kubernetes": "pulumi_kubernetes", "aws": "pulumi_aws", "azure-native": "pulumi_azure_native"}


def sdk_class(type_token: str) -> Any:
    """`kubernetes:apps/v1:Deployment` → pulumi_kubernetes.apps.v1.Deployment (CRDs → CustomResource)."""
    package, module, kind = type_token.split(":")
    if package == "pulumi" and module == "providers":
        return lambda name, **kw: importlib.import_module(_SDK_PACKAGES[kind]).Provider(name, **kw)
    parts = module.split("/")
    if package == "kubernetes":
        path = [p.replace(".k8s.io", "").replace("helm.sh", "helm") for p in parts]
        try:
            return getattr(importlib.import_module(".".join([_SDK_PACKAGES[package], *path])), kind)
        except (ModuleNotFoundError, AttributeError):
            custom = importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource
            return lambda name, **kw: custom(name, api_version="/".join(parts), kind=kind,
                                             **{k: v for k, v in kw.items() if k in ("metadata", "spec")})
    return getattr(importlib.import_module(".".join([_SDK_PACKAGES[package], parts[0]])), kind)


def register(type_token: str, name: str, inputs: dict[str, Any]) -> None:
    """Construct the SDK class with the captured inputs, translated to its Python names."""
    cls = sdk_class(type_token)
    args_class = getattr(importlib.import_module(getattr(cls, "__module__", "")), f"{getattr(cls, '__name__', '')}Args", None)
    if args_class is None:
        cls(name, **{_snake(k): v for k, v in inputs.items() if k not in ("apiVersion", "kind")})
        return
    to_py = {wire: py for py, wire in pulumi._types.input_type_py_to_pulumi_names(args_class).items()}
    # the SDKs spell an input called resource_name as resource_name_ (the first parameter owns the name)
    kwargs = {("resource_name_" if to_py[k] == "resource_name" else to_py[k]): v for k, v in inputs.items() if k in to_py}
    try:
        cls(name, **kwargs)
    except TypeError:  # a required input was another resource's output, unknown in the capture
        pulumi.CustomResource(type_token, name, dict(inputs))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def bare(resources: list[PlannedResource], region: str | None) -> float:
    """Register the same types/names/inputs flat, with no components, placement or validation."""
    monitor = _CapturingMonitor(_Mocks(region))
    settings.ROOT.set(None)
    mocks.set_mocks(monitor.mocks, project="modelfleet", stack="bare", preview=False, monitor=monitor)
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()

    def program() -> None:
        for i, r in enumerate(resources):
            if r.custom:
                register(r.type, f"{r.name}-{i}", r.inputs)
            else:
                pulumi.ComponentResource(r.type, f"{r.name}-{i}")

    start = time.perf_counter()
    with without_source_positions():  # the same runtime setting the preview uses
        _sync_await(run_pulumi_func(program))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stack", action="append", help="stack names (default: every bundled stack)")
    args = parser.parse_args()
    specs = load_project(ROOT)
    stacks = [s for s in (load_stack_file(p) for p in stack_paths(ROOT / "stacks")) if not args.stack or s.stack in args.stack]
    for stack in stacks:  # warm-up: module imports and first-use caches are not per-resource costs
        bare(list(preview_loaded(stack, specs).resources), stack.region)
    ours = base = 0.0
    count = 0
    for _ in range(args.repeat):
        for stack in stacks:
            start = time.perf_counter()
            plan = preview_loaded(stack, specs)
            ours += time.perf_counter() - start
            base += bare(list(plan.resources), stack.region)
            count += len(plan.resources)
    print(f"resources registered: {count}")
    print(f"modelfleet preview: {ours / count * 1000:.2f} ms/resource")
    print(f"bare program:       {base / count * 1000:.2f} ms/resource")
    print(f"ratio: {ours / base:.2f} (target ≤ 1.25)")
    cli = [str(Path(sys.executable).with_name("modelfleet")), "preview", "--project-dir", str(ROOT)]
    start = time.perf_counter()
    result = subprocess.run(cli, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    status = "ok" if result.returncode == 0 else f"exit {result.returncode}: {result.stderr.strip()[-300:]}"
    print(f"`modelfleet preview` over the bundled examples: {elapsed:.2f} s (target < 15 s), ratio to target {elapsed / 15:.2f} [{status}]")


if __name__ == "__main__":
    main()
