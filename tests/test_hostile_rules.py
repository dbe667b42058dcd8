"""Rules the hostile-input categories rely on, checked against real plans: reserved namespaces
cover what the add-ons use, a declared production environment is held to the prod rules,
and unused environment overrides are reported."""

from __future__ import annotations

import shutil
from pathlib import Path

from hostile import SPEC, STACK, write_project
from typer.testing import CliRunner

from modelfleet.check import run_checks
from modelfleet.cli import app
from modelfleet.environment import parse_stack
from modelfleet.labels import reserved_namespaces
from modelfleet.preview import preview_stack, preview_stacks

ROOT = Path(__file__).resolve().parent.parent


def _namespaces_of_shared_resources(plans: list) -> set[str]:
    """Namespaces that resources no model owns are created in or installed into."""
    found: set[str] = set()
    for plan in plans:
        for r in plan.resources:
            if r.model is not None:
                continue
            meta = r.inputs.get("metadata") if isinstance(r.inputs.get("metadata"), dict) else {}
            namespace = r.inputs.get("namespace") or meta.get("namespace")
            if r.type == "kubernetes:core/v1:Namespace":
                namespace = meta.get("name")
            if isinstance(namespace, str) and namespace:
                found.add(namespace)
    return found


def test_every_namespace_the_addons_use_is_reserved(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "model_specs", tmp_path / "model_specs")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    plans = preview_stacks(tmp_path, ["lab-dev", "lab-kserve", "aks-prod", "eks-prod"])
    used = _namespaces_of_shared_resources(plans)
    assert used, "no shared namespaced resource found: the test would prove nothing"
    assert used <= set(reserved_namespaces()), sorted(used - set(reserved_namespaces()))


def test_a_declared_production_environment_is_held_to_prod_rules(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    # an unpinned image and one replica: both break prod-only rules
    (project / "model_specs" / "chat.yaml").write_text(SPEC.replace("dev: {autoscaling", "prod-eu: {autoscaling"))
    stack = STACK.replace("environment: dev", "environment: prod-eu") + "  modelfleet:environments: {prod-eu: production}\n"
    (project / "stacks" / "Pulumi.dev.yaml").write_text(stack)
    assert parse_stack(stack, "Pulumi.dev.yaml").production
    as_prod = run_checks([preview_stack(project, "dev")], ROOT / "policies" / "config")
    (project / "stacks" / "Pulumi.dev.yaml").write_text(stack.replace("prod-eu: production", "prod-eu: non-production"))
    as_other = run_checks([preview_stack(project, "dev")], ROOT / "policies" / "config")
    mandatory = {v.rule for v in as_prod.violations if v.level == "mandatory"}
    assert mandatory, "a production environment with an unpinned single replica must break mandatory rules"
    assert mandatory - {v.rule for v in as_other.violations if v.level == "mandatory"}


def test_an_override_no_stack_uses_is_a_warning(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    (project / "model_specs" / "chat.yaml").write_text(SPEC + "  Prod: {autoscaling: {min_replicas: 2}}\n")
    result = CliRunner().invoke(app, ["validate", "--format", "json", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    assert "no stack uses environment 'Prod'" in result.output and "chat.yaml:26" in result.output


def test_anonymous_public_model_in_prod_is_a_mandatory_violation(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    spec = SPEC.replace("resources:", "network: {public: true, auth: none}\nresources:")
    (project / "model_specs" / "chat.yaml").write_text(spec.replace("dev: {autoscaling", "prod: {autoscaling"))
    (project / "stacks" / "Pulumi.dev.yaml").write_text(STACK.replace("environment: dev", "environment: prod"))
    hits = [v for v in run_checks([preview_stack(project, "dev")], ROOT / "policies" / "config").violations if v.rule == "MF-NET-001"]
    assert [(v.level, "without authentication" in v.message) for v in hits] == [("mandatory", True)]
    (project / "model_specs" / "chat.yaml").write_text(spec.replace("public: true", "public: false").replace("dev: {autoscaling", "prod: {autoscaling"))
    assert not [v for v in run_checks([preview_stack(project, "dev")], ROOT / "policies" / "config").violations if v.rule == "MF-NET-001"]


def test_an_unknown_cloud_region_is_located_at_the_region_key() -> None:
    import pytest

    from modelfleet.errors import SpecError

    text = (ROOT / "stacks" / "Pulumi.azureml-prod.yaml").read_text()
    location = next(line for line in text.splitlines() if "azure-native:location:" in line)
    with pytest.raises(SpecError) as raised:
        parse_stack(text.replace(location, "  azure-native:location: eastuss"), "stacks/Pulumi.azureml-prod.yaml")
    [problem] = raised.value.problems
    assert problem.field == "config.azure-native:location" and problem.value == "eastuss"
    assert problem.line == text.splitlines().index(location) + 1
    assert "did you mean eastus" in problem.message and "eastus2" in (problem.allowed or "")
    assert "correct the region" in (problem.fix or "")
    moon = (ROOT / "stacks" / "Pulumi.sagemaker-prod.yaml").read_text().replace("aws:region: us-east-1", "aws:region: us-moon-1")
    with pytest.raises(SpecError) as raised:
        parse_stack(moon, "stacks/Pulumi.sagemaker-prod.yaml")
    assert "'us-moon-1' is not an AWS region" in raised.value.problems[0].message
    assert "eu-west-1" in (raised.value.problems[0].allowed or "")
    far = (ROOT / "stacks" / "Pulumi.sagemaker-prod.yaml").read_text().replace("aws:region: us-east-1", "aws:region: eu-west-1")
    assert parse_stack(far, "stacks/Pulumi.sagemaker-prod.yaml").region == "eu-west-1", "a real region the catalog does not price parses"
