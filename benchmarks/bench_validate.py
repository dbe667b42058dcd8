"""`modelfleet validate` over 1,000 generated specs (target < 2 s).

Writes 1,000 variants of the bundled specs into a temp project with one on-prem stack and
times the real CLI end to end (process start included). Run: python benchmarks/bench_validate.py
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(count: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "model_specs").mkdir()
        (project / "stacks").mkdir()
        shutil.copy(ROOT / "Pulumi.yaml", project)
        stack = (ROOT / "stacks" / "Pulumi.lab-kserve.yaml").read_text()
        # a tenth of the models are placed (on enough GPU nodes) while every spec is parsed and validated
        nodes = "".join(f"      - {{name: big-{acc.lower()}-{i}, accelerator: {acc}, count: 8}}\n"
                        for acc in ("A100-80GB", "L4", "T4") for i in range(20))
        stack = stack.replace('modelfleet:models: ["*"]', 'modelfleet:models: ["*-?0"]').replace("    gpu_nodes:\n", "    gpu_nodes:\n" + nodes, 1)
        (project / "stacks" / "Pulumi.lab-kserve.yaml").write_text(stack)
        sources = sorted((ROOT / "model_specs").glob("*.yaml"))
        for i in range(count):
            source = sources[i % len(sources)]
            text = source.read_text()
            name = text.split("name: ", 1)[1].split("\n", 1)[0].strip()
            (project / "model_specs" / f"m{i}.yaml").write_text(text.replace(f"name: {name}", f"name: {name[:30]}-{i}", 1))
        # this checkout's code (python -m with PYTHONPATH), not whatever `modelfleet` is on PATH
        cli = [sys.executable, "-m", "modelfleet.cli", "validate", "--project-dir", str(project)]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(cli, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        elapsed = time.perf_counter() - start
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        print(result.stdout.splitlines()[0] if result.stdout else result.stderr[-500:])
        print(f"validate {count} specs: {elapsed:.2f} s wall (target < 2 s), ratio to target {elapsed / 2:.2f}; "
              f"{cpu:.2f} s CPU (wall above CPU is other processes on a busy machine; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
