"""EKS GPU nodes that grow and shrink: Karpenter NodePools (default for created clusters) or
managed node groups + Cluster Autoscaler (default for existing clusters), from the same
placement shapes; priced, checked and previewed the same way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelfleet import preview
from modelfleet.check import run_checks
from modelfleet.cli import app
from modelfleet.cost.engine import estimate_plan
from modelfleet.plan import ResourcePlan, as_int
from modelfleet.render_preview import preview_tree
from policies.rules import aws as aws_rules
from policies.rules import gpu as gpu_rules

ROOT = Path(__file__).resolve().parents[1]
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
RELEASE = "kubernetes:helm.sh/v3:Release"

BASE = """config:
  aws:region: us-east-1
  modelfleet:platform: kubernetes
  modelfleet:registry: {kind: ecr}
  modelfleet:models: ["llama3-8b-*", "resnet50-*"]
  modelfleet:tags: {cost-center: ml-platform}
"""
STACKS = {
    # new cluster, Karpenter by default; dev makes the chat model spot with 0..1 replicas
    "k-dev": BASE + "  modelfleet:environment: dev\n"
                    "  modelfleet:cluster: {kind: eks, name: ml-k, create: true, version: \"1.35\"}\n",
    # existing cluster, managed node groups by default
    "m-prod": BASE + "  modelfleet:environment: prod\n  modelfleet:serving: kserve\n"
                     "  modelfleet:cluster: {kind: eks, name: ml-m, version: \"1.34\"}\n",
    # the same dev models on managed groups, to compare cost and quota shapes
    "m-dev": BASE + "  modelfleet:environment: dev\n"
                    "  modelfleet:cluster: {kind: eks, name: ml-k, create: true, nodes: managed}\n",
    # IRSA stacks: the controllers follow the stack's identity mode too
    "k-irsa": BASE + "  modelfleet:environment: dev\n"
                     "  modelfleet:cluster: {kind: eks, name: ml-i, create: true, identity: irsa}\n",
    "m-irsa": BASE + "  modelfleet:environment: prod\n  modelfleet:serving: kserve\n"
                     "  modelfleet:cluster: {kind: eks, name: ml-m, version: \"1.34\", identity: irsa}\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("nodes")
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


def pools(plan: ResourcePlan) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in plan.of_type(NODEPOOL)}


# ---------------------------------------------------------------- Karpenter


def test_karpenter_pools_per_shape_with_taint_labels_limits_and_capacity(plans):
    found = pools(plans["k-dev"])
    assert set(found) == {"k-dev-g4dn-2xlarge", "k-dev-g6-4xlarge-spot"}, found.keys()
    spot = found["k-dev-g6-4xlarge-spot"]["spec"]
    template = spot["template"]
    assert template["metadata"]["labels"]["modelfleet.io/gpu-pool"] == "g6-4xlarge-spot"
    assert template["metadata"]["labels"]["modelfleet.io/accelerator"] == "L4"
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"} in template["spec"]["taints"]
    requirements = {q["key"]: q["values"] for q in template["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"] == ["g6.4xlarge"]
    assert requirements["karpenter.sh/capacity-type"] == ["spot", "on-demand"], "spot first, on-demand fallback"
    # the chat model in dev: max 1 replica of 1 GPU on a 1-GPU node
    assert spot["limits"] == {"nvidia.com/gpu": "1"}
    assert spot["disruption"]["consolidationPolicy"] == "WhenEmpty"
    on_demand = found["k-dev-g4dn-2xlarge"]["spec"]["template"]["spec"]
    assert {q["key"]: q["values"] for q in on_demand["requirements"]}["karpenter.sh/capacity-type"] == ["on-demand"]
    assert not plans["k-dev"].of_type("aws:eks/nodeGroup:NodeGroup") or all(
        not r.inputs.get("taints") for r in plans["k-dev"].of_type("aws:eks/nodeGroup:NodeGroup")), \
        "Karpenter stacks have no GPU node groups (only the created cluster's system group)"


def test_nodeclass_imdsv2_encrypted_and_sized_for_the_model(plans):
    classes = {r.inputs["metadata"]["name"]: as_int(r.inputs["spec"]) for r in plans["k-dev"].of_type(NODECLASS)}
    spec = classes["k-dev-g6-4xlarge-spot"]
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert spec["metadataOptions"]["httpTokens"] == "required" and spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    [volume] = spec["blockDeviceMappings"]
    assert volume["ebs"]["encrypted"] is True and volume["ebs"]["volumeType"] == "gp3"
    assert volume["ebs"]["volumeSize"] == "132Gi"  # 100 + 2 × 16 GiB of llama3-8b weights
    assert spec["securityGroupSelectorTerms"] == [{"tags": {"aws:eks:cluster-name": "ml-k"}}]
    assert [t["id"] for t in spec["subnetSelectorTerms"]], "subnets by id from the cluster"


def test_karpenter_controller_release_identity_and_interruptions(plans):
    plan = plans["k-dev"]
    [release] = [r for r in plan.of_type(RELEASE) if "karpenter" in r.inputs["chart"]]
    assert release.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter" and release.inputs["version"] == "1.14.1"
    assert release.inputs["namespace"] == "kube-system"
    settings = release.inputs["values"]["settings"]
    assert settings["clusterName"] == "ml-k" and settings["interruptionQueue"] == "ml-k-karpenter"
    [association] = [r for r in plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") if "karpenter" in r.name]
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("kube-system", "karpenter")
    assert association.urn in release.options["dependsOn"], "the controller starts only once its identity exists"
    rules = {json.loads(r.inputs["eventPattern"])["detail-type"][0] for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert {"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation", "AWS Health Event",
            "EC2 Instance State-change Notification"} <= rules
    [queue] = plan.of_type("aws:sqs/queue:Queue")
    assert as_int(queue.inputs["messageRetentionSeconds"]) == 300 and queue.inputs["sqsManagedSseEnabled"] is True
    [access] = plan.of_type("aws:eks/accessEntry:AccessEntry")
    assert access.inputs["type"] == "EC2_LINUX"
    [addon] = plan.of_type("aws:eks/addon:Addon")
    assert addon.inputs["addonName"] == "eks-pod-identity-agent"


def _irsa_trust(role) -> dict:
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    return statement


def test_irsa_stack_binds_karpenter_through_the_clusters_oidc_provider(plans):
    plan = plans["k-irsa"]
    assert not plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"), "no Pod Identity on an IRSA stack"
    assert not [a for a in plan.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "eks-pod-identity-agent"]
    [provider] = plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    [role] = [r for r in plan.of_type("aws:iam/role:Role") if r.name == "k-irsa-karpenter-controller-role"]
    trust = _irsa_trust(role)
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity" and "Federated" in trust["Principal"]
    [sub] = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert sub == "system:serviceaccount:kube-system:karpenter"
    [release] = [r for r in plan.of_type(RELEASE) if "karpenter" in r.inputs["chart"]]
    annotations = release.inputs["values"]["serviceAccount"]["annotations"]
    assert set(annotations) == {"eks.amazonaws.com/role-arn"} and annotations["eks.amazonaws.com/role-arn"]
    assert any(d.endswith(f"::{provider.name}") for d in release.options["dependsOn"]), "the controller waits for the provider"


def test_irsa_stack_binds_the_cluster_autoscaler_through_irsa(plans):
    plan = plans["m-irsa"]
    assert not plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    [role] = [r for r in plan.of_type("aws:iam/role:Role") if "cluster-autoscaler" in r.name]
    trust = _irsa_trust(role)
    assert trust["Principal"]["Federated"].startswith("arn:aws:iam::123456789012:oidc-provider/")
    assert "system:serviceaccount:kube-system:cluster-autoscaler" in trust["Condition"]["StringEquals"].values()
    [release] = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "cluster-autoscaler"]
    account = release.inputs["values"]["rbac"]["serviceAccount"]
    assert account["name"] == "cluster-autoscaler" and "eks.amazonaws.com/role-arn" in account["annotations"]
    [note] = [d for d in plan.diagnostics if d.field == "modelfleet:cluster.nodes"]
    assert "IRSA" in note.message and "associate-iam-oidc-provider" in note.message


def test_karpenter_controller_policies_are_scoped_to_the_cluster(plans):
    documents = [json.loads(r.inputs["policy"]) for r in plans["k-dev"].of_type("aws:iam/policy:Policy")]
    statements = [s for d in documents for s in d["Statement"]]
    assert statements and "${" not in json.dumps(statements)
    run = [s for s in statements if s.get("Sid") == "AllowScopedEC2InstanceActionsWithTags"][0]
    assert run["Condition"]["StringEquals"]["aws:RequestTag/kubernetes.io/cluster/ml-k"] == "owned"
    terminate = [s for s in statements if "ec2:TerminateInstances" in s["Action"]][0]
    assert terminate["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/ml-k": "owned"}
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"][0]
    assert pass_role["Resource"].endswith("/k-dev-karpenter-node-role"), "PassRole on the node role only"
    assert not any(s["Action"] == "*" or s["Action"] == ["*"] for s in statements)


# ---------------------------------------------------------------- managed + Cluster Autoscaler


def test_managed_groups_carry_discovery_tags_and_the_autoscaler_runs(plans):
    plan = plans["m-prod"]
    groups = [r for r in plan.of_type("aws:eks/nodeGroup:NodeGroup") if r.inputs.get("taints")]
    assert groups and not plan.of_type(NODEPOOL)
    for group in groups:
        tags = group.inputs["tags"]
        assert tags["k8s.io/cluster-autoscaler/enabled"] == "true" and tags["k8s.io/cluster-autoscaler/ml-m"] == "owned"
        assert "scalingConfig.desiredSize" in group.options.get("ignoreChanges", [])
    [release] = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "cluster-autoscaler"]
    values = release.inputs["values"]
    assert values["autoDiscovery"]["clusterName"] == "ml-m" and values["awsRegion"] == "us-east-1"
    assert values["image"]["tag"] == "v1.34.5", "the autoscaler's minor follows the cluster's 1.34"
    assert release.inputs["repositoryOpts"]["repo"] == "https://kubernetes.github.io/autoscaler"
    [association] = [r for r in plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                     if "cluster-autoscaler" in r.name]
    assert association.inputs["serviceAccount"] == values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"


def test_autoscaler_may_only_resize_this_clusters_groups(plans):
    [policy] = [r for r in plans["m-prod"].of_type("aws:iam/rolePolicy:RolePolicy") if "cluster-autoscaler" in r.name]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    [scale] = [s for s in statements if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert scale["Condition"] == {"Null": {"aws:ResourceTag/k8s.io/cluster-autoscaler/ml-m": "false"}}
    [describe] = [s for s in statements if s["Action"] == ["eks:DescribeNodegroup"]]
    assert describe["Resource"].endswith(":nodegroup/ml-m/*/*")


def test_existing_cluster_preview_says_what_the_provisioner_needs(plans):
    [note] = [d for d in plans["m-prod"].diagnostics if d.field == "modelfleet:cluster.nodes"]
    assert note.level == "warning" and "eks-pod-identity-agent" in note.message


# ---------------------------------------------------------------- cost, checks, preview


def test_both_provisioners_price_the_same_shapes(plans):
    karpenter, managed = estimate_plan(plans["k-dev"]), estimate_plan(plans["m-dev"])
    assert karpenter.monthly_max > 0
    gpu = {m.model: (m.monthly_min, m.monthly_max) for m in karpenter.models}
    assert gpu == {m.model: (m.monthly_min, m.monthly_max) for m in managed.models}
    assert not [u for u in karpenter.unpriced if "karpenter" in u.type or "sqs" in u.type or "eventRule" in u.type]
    # the spot chat model at 0 replicas in dev: its pool costs nothing at the floor
    chat = next(m for m in karpenter.models if m.model == "llama3-8b-chat")
    assert chat.monthly_min == 0 and chat.monthly_max > 0


def test_policy_pack_passes_karpenter_stacks_and_flags_tampering(plans, project):
    report = run_checks([plans["k-dev"], plans["m-prod"]], project / "policies" / "config")
    ids = {v.rule for v in report.mandatory}
    assert not ids & {"MF-GPU-006", "MF-GPU-007", "MF-EKS-001", "MF-EKS-002", "MF-IAM-001"}, report.violations
    [pool] = plans["k-dev"].of_type(NODEPOOL)[:1]
    untainted = json.loads(json.dumps(pool.inputs))
    untainted["spec"]["template"]["spec"]["taints"] = []
    assert gpu_rules.gpu_pool_tainted(NODEPOOL, untainted, {})
    [node_class] = plans["k-dev"].of_type(NODECLASS)[:1]
    plain = json.loads(json.dumps(node_class.inputs))
    plain["spec"]["blockDeviceMappings"][0]["ebs"]["encrypted"] = False
    plain["spec"]["metadataOptions"]["httpTokens"] = "optional"
    assert aws_rules.encrypted_ebs(NODECLASS, plain, {}) and aws_rules.imdsv2(NODECLASS, plain, {})


def test_preview_says_who_scales_nodes(plans):
    from rich.console import Console

    def text(plan: ResourcePlan) -> str:
        console = Console(width=400, record=True)
        console.print(preview_tree(plan))
        return console.export_text()

    assert "scaled by Karpenter" in text(plans["k-dev"]) and "capacity=spot→on-demand" in text(plans["k-dev"])
    assert "scaled by Cluster Autoscaler" in text(plans["m-prod"])


def test_unknown_nodes_mode_is_a_located_error(project: Path, cli: CliRunner, tmp_path: Path):
    shutil.copytree(project, tmp_path / "p")
    stack = tmp_path / "p" / "stacks" / "Pulumi.k-dev.yaml"
    stack.write_text(stack.read_text().replace("create: true,", "create: true, nodes: fargate,"))
    result = cli.invoke(app, ["validate", "--project-dir", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "Pulumi.k-dev.yaml:" in result.output and "modelfleet:cluster.nodes" in result.output
    assert "karpenter" in result.output and "managed" in result.output


def test_render_writes_karpenter_objects_for_gitops(plans):
    from modelfleet.render import render_plan

    files = render_plan(plans["k-dev"]).files
    text = "\n".join(files.values())
    assert "url: oci://public.ecr.aws/karpenter" in text and "type: oci" in text
    assert any("nodepool-k-dev-" in path for path in files) and any("ec2nodeclass-k-dev-" in path for path in files)
