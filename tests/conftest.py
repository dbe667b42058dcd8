"""Shared fixtures: the bundled project, scratch projects, and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A scratch copy of the bundled project (Pulumi.yaml, specs, stacks) to edit freely."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "model_specs", tmp_path / "model_specs")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    if (ROOT / "policies" / "config").exists():
        shutil.copytree(ROOT / "policies" / "config", tmp_path / "policies" / "config")
    return tmp_path


@pytest.fixture()
def cli() -> CliRunner:
    return CliRunner()
