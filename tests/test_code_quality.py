"""The tree stays lint-clean. (Type checking, `mypy modelfleet components policies`, runs
outside the test suite: a cold run over the cloud SDKs' generated types takes minutes.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", "modelfleet", "components", "policies", "tests", "benchmarks", "serving"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
