"""The tree stays lint-clean (ruff) and type-clean (mypy over the shipped packages)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", "modelfleet", "components", "policies", "tests", "benchmarks", "serving"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api")
    monkeypatch.chdir(ROOT)  # mypy reads [tool.mypy] from the working directory's pyproject.toml
    stdout, stderr, status = api.run(["modelfleet", "components", "policies", "--no-error-summary", "--cache-dir", str(ROOT / ".mypy_cache")])
    assert status == 0, (stdout + stderr)[-3000:]
