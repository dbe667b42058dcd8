"""`modelfleet validate` over 1,000 generated specs (target < 2 s).

Writes 1,000 variants of the bundled specs into a temp project with one on-prem stack and
times the real CLI end to end (process start included). Run: python benchmarks/bench_validate.py
"""

from __future__ import annotations

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
        stack = (ROOT / "stacks" / "Pulumi.lab-kserve.yaml").read_text()
        # a tenth of the models are placed, so capacity checks pass while every spec is parsed and validated
        (project / "stacks" / "Pulumi.lab-kserve.yaml").write_text(stack.replace('modelfleet:models: ["*"]', 'modelfleet:models: ["*-?0"]'))
        sources = sorted((ROOT / "model_specs").glob("*.yaml"))
        for i in range(count):
            source = sources[i % len(sources)]
            text = source.read_text()
            name = text.split("name: ", 1)[1].split("\n", 1)[0].strip()
            (project / "model_specs" / f"m{i}.yaml").write_text(text.replace(f"name: {name}", f"name: {name[:30]}-{i}", 1))
        cli = [str(Path(sys.executable).with_name("modelfleet")), "validate", "--project-dir", str(project)]
        start = time.perf_counter()
        result = subprocess.run(cli, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        print(result.stdout.splitlines()[0] if result.stdout else result.stderr[-500:])
        print(f"validate {count} specs: {elapsed:.2f} s (target < 2 s), ratio to target {elapsed / 2:.2f}")


if __name__ == "__main__":
    main()
