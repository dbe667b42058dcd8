"""The bundled examples are what users copy: every stack previews, prod stacks pass every
mandatory rule, and known weaknesses are reported with the right rule ids."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelfleet.check import run_checks
from modelfleet.plan import ResourcePlan
from modelfleet.preview import preview_stack, preview_stacks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plans() -> list[ResourcePlan]:
    return preview_stacks(ROOT)


def test_every_stack_places_every_selected_model(plans: list[ResourcePlan]) -> None:
    assert {p.platform for p in plans} == {"kubernetes", "sagemaker", "azureml"}
    for plan in plans:
        assert plan.config["models"], f"{plan.stack} serves no model"
        assert set(plan.outputs) == set(plan.config["models"]), f"{plan.stack}: an endpoint per model"
        assert not [d for d in plan.diagnostics if d.level == "error"]


def test_prod_stacks_pass_every_mandatory_rule(plans: list[ResourcePlan]) -> None:
    prod = [p for p in plans if p.environment == "prod"]
    assert {p.config["target"] for p in prod} == {"onprem", "eks", "aks", "sagemaker", "azureml"}
    report = run_checks(prod, ROOT / "policies" / "config")
    mandatory = [(v.stack, v.rule, v.resource) for v in report.violations if v.level == "mandatory"]
    assert mandatory == [], mandatory


def _weakened(tmp_path: Path, public: bool) -> Path:
    shutil.copytree(ROOT / "model_specs", tmp_path / "model_specs")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    spec = tmp_path / "model_specs" / "fraud-xgb.yaml"
    text = spec.read_text()
    text = text.replace("prod: {autoscaling: {min_replicas: 3, max_replicas: 20}}", "prod: {autoscaling: {min_replicas: 1, max_replicas: 20}}")
    text = text.replace("@sha256:4c1e8c0f3f1bb6f8a0d9a1f4d1c7a3a2b0e5c9d8f7a6b5c4d3e2f1a0b9c8d7e6", "")
    # public with token auth is a placement error on Kubernetes (nothing checks the token there)
    spec.write_text(text + ("\nnetwork: {public: true}\n" if public else ""))
    return tmp_path


@pytest.mark.parametrize(("stack", "rules"), [
    ("lab-kserve", {"MF-GPU-008", "MF-K8S-010"}),
    ("azureml-prod", {"MF-GPU-008", "MF-AZ-005"}),
])
def test_known_weaknesses_are_reported_by_rule_id(tmp_path: Path, stack: str, rules: set[str]) -> None:
    project = _weakened(tmp_path, public=stack == "azureml-prod")
    report = run_checks([preview_stack(project, stack)], ROOT / "policies" / "config")
    found = {v.rule for v in report.violations if v.level == "mandatory" and "fraud-xgb" in v.resource}
    assert rules <= found, found
