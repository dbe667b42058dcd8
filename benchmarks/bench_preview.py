"""Preview overhead: modelfleet's preview vs a bare program registering the same resources.

Prints seconds per registered resource for both and their ratio (target ≤ 1.25), plus the
wall time of `modelfleet preview` over the bundled examples (target < 15 s on 2 cores).
Run: python benchmarks/bench_preview.py [--repeat N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pulumi
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from modelfleet.environment import load_stack_file, stack_paths
from modelfleet.plan import PlannedResource
from modelfleet.preview import _CapturingMonitor, _Mocks, load_project, preview_loaded

ROOT = Path(__file__).resolve().parent.parent


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
                pulumi.CustomResource(r.type, f"{r.name}-{i}", dict(r.inputs))
            else:
                pulumi.ComponentResource(r.type, f"{r.name}-{i}")

    start = time.perf_counter()
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
