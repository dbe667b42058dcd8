"""`modelfleet release`: the release file, pins written into stack files, and what a pinned
stack deploys — the digest an earlier stage built and tested, on every platform that honours it."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.environment import find_stack, load_stack_file
from modelfleet.program import plan_stack
from modelfleet.release import Release, ReleaseError, build_release, pin_stack, read_release, release_registry
from modelfleet.spec import load_specs, spec_paths

ROOT = Path(__file__).resolve().parents[1]
DIGEST = "sha256:" + "ab" * 32
GHCR = f"ghcr.io/acme/models/fraud-xgb@{DIGEST}"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    for part in ("model_specs", "stacks", "serving"):
        shutil.copytree(ROOT / part, tmp_path / part)
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path


def _release_file(tmp_path: Path, images: dict[str, Any]) -> Path:
    path = tmp_path / "release.json"
    path.write_text(json.dumps({"version": 1, "commit": "c0ffee", "registry": "ghcr.io/acme/models", "images": images}))
    return path


def _image(project: Path, stack: str, model: str) -> str:
    placed = plan_stack(load_stack_file(find_stack(project / "stacks", stack)), load_specs(spec_paths(project / "model_specs")))
    return next(p.image for p in placed.placements if p.model == model)


def test_every_stage_deploys_the_released_digest(project: Path, tmp_path: Path) -> None:
    release = read_release(_release_file(tmp_path, {"fraud-xgb": GHCR}))
    for stack in ("lab-dev", "eks-prod", "lab-kserve"):  # dev, then the prod stacks that serve it
        assert pin_stack(project, stack, release) == {"fraud-xgb": GHCR}
        assert _image(project, stack, "fraud-xgb") == GHCR, f"{stack} must deploy the digest the release recorded"
    assert _image(ROOT, "eks-prod", "fraud-xgb") != GHCR, "the pin outranks the spec's serving.image only where written"


def test_pin_keeps_the_stack_file_and_is_idempotent(project: Path, tmp_path: Path) -> None:
    path = project / "stacks" / "Pulumi.lab-dev.yaml"
    before = path.read_text()
    release = read_release(_release_file(tmp_path, {"fraud-xgb": GHCR, "not-served-here": f"r.io/x@{DIGEST}"}))
    assert pin_stack(project, "lab-dev", release) == {"fraud-xgb": GHCR}
    after = path.read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["  modelfleet:images:", f"    fraud-xgb: {GHCR}"], added
    assert all(line in after.splitlines() for line in before.splitlines()), "comments and layout survive the edit"
    pin_stack(project, "lab-dev", release)
    assert path.read_text() == after


def test_sagemaker_refuses_a_pin_from_a_registry_ecr_cannot_mirror(project: Path, tmp_path: Path) -> None:
    """(ghcr.io and the other registries ECR mirrors are pulled through a cache rule instead: test_sagemaker_sources.)"""
    release = read_release(_release_file(tmp_path, {"resnet50-vision": f"harbor.lab.local/ml/resnet50-vision@{DIGEST}"}))
    pin_stack(project, "sagemaker-prod", release)
    placed = __import__("modelfleet.placement", fromlist=["place_stack"]).place_stack(
        load_stack_file(find_stack(project / "stacks", "sagemaker-prod")), load_specs(spec_paths(project / "model_specs")))
    errors = [d for d in placed.errors if d.model == "resnet50-vision"]
    assert errors and "modelfleet:images.resnet50-vision" in errors[0].message and "ECR" in errors[0].message


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such release file"),
    ("{not json", "not a JSON release file"),
    ('{"version": 1, "images": {"fraud-xgb": "ghcr.io/acme/models/fraud-xgb:5.1.0"}}', "a digest, never a tag"),
    ('{"images": {}}', "expected"),
])
def test_bad_release_files_are_exit_2(project: Path, tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "release.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ReleaseError, match=message):
        read_release(path)
    result = CliRunner().invoke(app, ["release", "pin", "--stack", "lab-dev", "--release", str(path), "--project-dir", str(project)])
    assert result.exit_code == 2 and "To fix" in result.output
    assert "modelfleet:images" not in (project / "stacks" / "Pulumi.lab-dev.yaml").read_text(), "nothing half-written"


def test_release_pin_command_prints_the_pins(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["release", "pin", "--stack", "lab-dev", "--release", str(_release_file(tmp_path, {"fraud-xgb": GHCR})),
                                      "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"stack": "lab-dev", "pinned": {"fraud-xgb": GHCR}}


@pytest.mark.parametrize(("registry", "kind", "region"), [
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml", "ecr", "eu-west-1"),
    ("mlrelease.azurecr.io", "acr", None),
    ("ghcr.io/acme/models", "external", None),
])
def test_release_registry_kind_follows_its_host(registry: str, kind: str, region: str | None) -> None:
    config, found_region = release_registry(registry)
    assert config.kind == kind and found_region == region
    assert kind != "external" or config.url == registry


@dataclass
class _Built:
    role: str
    pinned: str | None


def test_build_release_builds_each_model_once_into_the_release_registry(project: Path) -> None:
    calls: list[Any] = []

    def builder(plan: Any, *, push_images: bool, registry: str, client: Any) -> list[_Built]:
        calls.append((plan.spec.name, plan.stack.stack, plan.stack.registry.kind, plan.stack.registry.url, push_images, registry))
        return [_Built("serving", f"{registry}/{plan.spec.name}@{DIGEST}")]

    release = build_release(project, "ghcr.io/acme/models", builder=builder)
    # fraud-xgb is the one bundled spec with a build section; it is built once although three stacks serve it
    assert calls == [("fraud-xgb", "release", "external", "ghcr.io/acme/models", True, "ghcr.io/acme/models")]
    assert release.images == {"fraud-xgb": f"ghcr.io/acme/models/fraud-xgb@{DIGEST}"}
    assert read_release(_write(project, release)).images == release.images


def _write(project: Path, release: Release) -> Path:
    from modelfleet.release import write_release

    path = project / "release.json"
    write_release(release, path)
    return path
