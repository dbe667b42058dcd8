"""EKS clusters the stack creates: private API endpoint (public only from named CIDRs), Secrets
envelope-encrypted with a rotating KMS key the stack creates, and in production no bootstrap
cluster-admin for the creator but named admins through access entries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelfleet import preview
from modelfleet.cli import app
from modelfleet.plan import ResourcePlan

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = "aws:eks/cluster:Cluster"
ADMIN = "arn:aws:iam::123456789012:role/platform-deploy"
SSO = "arn:aws:iam::123456789012:role/sso/PlatformAdmins"
BASE = """config:
  aws:region: us-east-1
  modelfleet:platform: kubernetes
  modelfleet:registry: {kind: ecr}
  modelfleet:models: ["resnet50-*"]
  modelfleet:addons: {monitor_labels: {release: kps}}
  modelfleet:alerts: {alertmanager_receiver: oncall}
"""
STACKS = {
    "c-dev": BASE + "  modelfleet:environment: dev\n"
                    "  modelfleet:cluster: {kind: eks, name: ml-c, create: true, subnet_ids: [subnet-a, subnet-b]}\n",
    "c-prod": BASE + "  modelfleet:environment: prod\n  modelfleet:cluster:\n"
                     "    {kind: eks, name: ml-p, create: true, subnet_ids: [subnet-a, subnet-b],\n"
                     f"     api_public_cidrs: [203.0.113.0/24], admins: [{ADMIN}, {SSO}]}}\n",
    "x-prod": BASE + "  modelfleet:environment: prod\n"
                     f"  modelfleet:cluster: {{kind: eks, name: ml-x, admins: [{ADMIN}]}}\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("hardening")
    shutil.copytree(ROOT / "model_specs", project / "model_specs")
    shutil.copytree(ROOT / "policies" / "config", project / "policies" / "config")
    (project / "stacks").mkdir()
    (project / "Pulumi.yaml").write_text("name: modelfleet\nruntime: python\n")
    for name, body in STACKS.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(body)
    return project


@pytest.fixture(scope="module")
def plans(project: Path) -> dict[str, ResourcePlan]:
    return {name: preview.preview_stack(project, name) for name in STACKS}


def cluster(plan: ResourcePlan):
    [found] = plan.of_type(CLUSTER)
    return found


def test_created_cluster_endpoint_is_private_by_default(plans):
    vpc = cluster(plans["c-dev"]).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


def test_public_endpoint_only_from_the_named_cidrs(plans):
    vpc = cluster(plans["c-prod"]).inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_secrets_are_envelope_encrypted_with_a_rotating_key_the_stack_creates(plans):
    plan = plans["c-dev"]
    [key] = plan.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True and int(key.inputs["deletionWindowInDays"]) == 30
    [config] = cluster(plan).inputs["encryptionConfig"] if isinstance(cluster(plan).inputs["encryptionConfig"], list) \
        else [cluster(plan).inputs["encryptionConfig"]]
    assert config["resources"] == ["secrets"] and config["provider"]["keyArn"]
    [use] = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("secrets-key-use")]
    [statement] = json.loads(use.inputs["policy"])["Statement"]
    assert statement["Resource"] == config["provider"]["keyArn"], "the cluster role may use this key only"
    assert set(statement["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"}
    assert any(d.endswith(f"::{use.name}") for d in cluster(plan).options["dependsOn"]), "key use granted before the cluster"


def test_creator_is_bootstrap_admin_only_outside_production(plans):
    assert cluster(plans["c-dev"]).inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    assert cluster(plans["c-prod"]).inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False


def test_production_admins_get_access_entries_with_the_cluster_admin_policy(plans):
    plan = plans["c-prod"]
    entries = {r.inputs["principalArn"]: r for r in plan.of_type("aws:eks/accessEntry:AccessEntry")
               if r.inputs.get("type") == "STANDARD"}
    assert set(entries) == {ADMIN, SSO}
    associations = {r.inputs["principalArn"]: r for r in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    assert set(associations) == {ADMIN, SSO}
    for arn, association in associations.items():
        assert association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        assert association.inputs["accessScope"] == {"type": "cluster"}
        assert any(d.endswith(f"::{entries[arn].name}") for d in association.options["dependsOn"])
    # the Kubernetes objects wait for the admins: in production they are the deployer's only way in
    servers = plan.of_type("modelfleet:kubernetes:ModelServer")
    names = {a.name for a in associations.values()}
    assert servers and all(names <= {d.rsplit("::", 1)[-1] for d in s.options["dependsOn"]} for s in servers)


def test_existing_cluster_settings_that_cannot_apply_are_warnings(plans):
    plan = plans["x-prod"]
    assert not plan.of_type("aws:kms/key:Key") and not plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    [note] = [d for d in plan.diagnostics if d.field == "modelfleet:cluster.admins"]
    assert note.level == "warning" and "only to clusters the stack creates" in note.message


def _validate(project: Path, tmp_path: Path, stack: str, text: str):
    copy = tmp_path / "p"
    shutil.copytree(project, copy)
    (copy / "stacks" / f"Pulumi.{stack}.yaml").write_text(text)
    return CliRunner().invoke(app, ["validate", "--project-dir", str(copy)])


@pytest.mark.parametrize(("cluster_line", "expect"), [
    ("{kind: eks, name: ml-p, create: true, subnet_ids: [subnet-a, subnet-b]}", "needs named admins"),
    (f"{{kind: eks, name: ml-p, create: true, api_public_cidrs: [0.0.0.0/0], admins: [{ADMIN}]}}",
     "0.0.0.0/0 opens the production cluster's API endpoint"),
    (f"{{kind: eks, name: ml-p, create: true, api_public_cidrs: [10.1.2.3/16], admins: [{ADMIN}]}}",
     "is not an IPv4 CIDR block"),
    ("{kind: eks, name: ml-p, create: true, admins: [platform-admins]}", "is not an IAM role or user ARN"),
])
def test_production_cluster_access_mistakes_are_located_errors(project, tmp_path, cluster_line, expect):
    text = BASE + f"  modelfleet:environment: prod\n  modelfleet:cluster: {cluster_line}\n"
    result = _validate(project, tmp_path, "c-prod", text)
    assert result.exit_code == 2, result.output
    assert "Pulumi.c-prod.yaml:" in result.output and expect in result.output
    assert "To fix:" in result.output and "Traceback" not in result.output


def test_public_endpoint_to_everyone_is_allowed_with_a_warning_outside_production(project, tmp_path):
    text = BASE + "  modelfleet:environment: dev\n  modelfleet:cluster: {kind: eks, name: ml-c, create: true, " \
                  "api_public_cidrs: [0.0.0.0/0]}\n"
    result = _validate(project, tmp_path, "c-dev", text)
    assert result.exit_code == 0, result.output
    assert "whole internet" in result.output


def test_created_clusters_pass_the_cluster_policies(plans, project):
    from modelfleet.check import run_checks

    report = run_checks([plans["c-dev"], plans["c-prod"]], project / "policies" / "config")
    assert not {v.rule for v in report.violations} & {"MF-EKS-003", "MF-EKS-004"}, report.violations
