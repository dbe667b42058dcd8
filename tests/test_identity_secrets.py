"""Workload identity and secrets under Pulumi mocks: one role per model scoped exactly to its weights,
bound to its ServiceAccount; secrets reach pods by reference; a planted secret value appears in no
output (preview JSON, rendered YAML, captured plan, policy check)."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
import scratch_stacks
from rich.console import Console

from modelfleet import mocked_cloud, preview
from modelfleet.check import run_checks
from modelfleet.plan import ResourcePlan
from modelfleet.render import render_plan
from modelfleet.render_preview import preview_json, preview_tree

ROOT = Path(__file__).resolve().parent.parent
PLANTED = "hf_PlantedTokenValue9f8e7d6c5b4a3210"
HF_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ml/hf-token-AbCdEf"
KMS = "arn:aws:kms:us-east-1:123456789012:key/7f3c1d2e-8a9b-4c5d-9e0f-1a2b3c4d5e6f"
ACCOUNT_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/"
              "Microsoft.Storage/storageAccounts/acmemodels")
CHAT = """name: chat
version: "1"
owner: nlp-team
model: {uri: "s3://acme-models/chat/1/", framework: huggingface, size_gib: 4}
serving: {runtime: vllm, secret_env: {HF_TOKEN: hf-token}}
resources: {accelerator: L4:1, cpu: 4, memory_gib: 16}
"""
BLOB = """name: blob
version: "1"
owner: vision-team
model: {uri: "az://acmemodels/models/blob/1/", framework: onnx, size_gib: 1}
serving: {runtime: triton}
resources: {accelerator: none, cpu: 2, memory_gib: 4}
autoscaling: {metric: cpu_utilization, target: 60}
"""
STACKS = {
    "eks-pi": f"""config:
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:serving: deployment
  modelfleet:cluster: {{kind: eks, name: ml, create: true, subnet_ids: [subnet-a, subnet-b]}}
  modelfleet:registry: {{kind: ecr}}
  modelfleet:models: ["chat"]
  modelfleet:artifact_store: {{kms_key_arn: "{KMS}"}}
  modelfleet:secrets: {{hf-token: {{aws_secrets_manager: "{HF_ARN}"}}}}
""",
    "eks-irsa": """config:
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:serving: kserve
  modelfleet:cluster: {kind: eks, name: ml-prod, identity: irsa}
  modelfleet:registry: {kind: ecr}
  modelfleet:models: ["chat"]
  modelfleet:secrets: {hf-token: {kubernetes: {secret: hf, key: token, namespace: ml-secrets}}}
""",
    "eks-eso": f"""config:
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:cluster: {{kind: eks, name: ml-prod}}
  modelfleet:registry: {{kind: ecr}}
  modelfleet:models: ["chat"]
  modelfleet:external_secrets: {{store: aws-secrets}}
  modelfleet:secrets: {{hf-token: {{aws_secrets_manager: "{HF_ARN}"}}}}
""",
    "sm-hf": f"""config:
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: sagemaker
  modelfleet:registry: {{kind: ecr}}
  modelfleet:models: ["chat"]
  modelfleet:secrets: {{hf-token: {{aws_secrets_manager: "{HF_ARN}"}}}}
""",
    "aks-wi": f"""config:
  azure-native:location: eastus
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:cluster: {{kind: aks, name: ml-aks, resource_group: ml-rg}}
  modelfleet:registry: {{kind: acr}}
  modelfleet:models: ["blob"]
  modelfleet:artifact_store: {{storage_accounts: {{acmemodels: "{ACCOUNT_ID}"}}}}
""",
}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    project = tmp_path_factory.mktemp("identity")
    (project / "model_specs").mkdir()
    (project / "model_specs" / "chat.yaml").write_text(CHAT)
    (project / "model_specs" / "blob.yaml").write_text(BLOB)
    (project / "stacks").mkdir()
    for name, text in STACKS.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")

    return scratch_stacks.preview_holding_secret(project, STACKS, PLANTED)


def named(plan: ResourcePlan, token: str, suffix: str):
    [found] = [r for r in plan.of_type(token) if r.name.endswith(suffix)]
    return found


def statements(policy: dict) -> dict:
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_eks_role_reads_only_the_model_prefix_and_decrypts_with_the_bucket_key(plans):
    plan = plans["eks-pi"]
    stmts = statements(named(plan, "aws:iam/rolePolicy:RolePolicy", "chat-identity-policy"))
    assert stmts["ReadModel"]["Action"] == ["s3:GetObject"]
    assert stmts["ReadModel"]["Resource"] == ["arn:aws:s3:::acme-models/chat/1/*"]
    assert stmts["ListModel"]["Resource"] == ["arn:aws:s3:::acme-models"]
    assert stmts["ListModel"]["Condition"] == {"StringLike": {"s3:prefix": ["chat/1/*"]}}
    assert stmts["DecryptModel"] == {"Sid": "DecryptModel", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KMS]}
    assert set(stmts) == {"ReadModel", "ListModel", "DecryptModel"}


def test_pod_identity_binds_the_role_to_the_models_service_account(plans):
    plan = plans["eks-pi"]
    role = named(plan, "aws:iam/role:Role", "chat-identity-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == "chat"
    association = named(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "chat-identity-association")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("chat", "chat")
    assert association.inputs["clusterName"] == "ml"
    addon = named(plan, "aws:eks/addon:Addon", "pod-identity-agent")
    assert addon.inputs["addonName"] == "eks-pod-identity-agent", "a created cluster gets the agent"


def test_irsa_trusts_the_clusters_oidc_provider_for_one_service_account(plans):
    plan = plans["eks-irsa"]
    role = named(plan, "aws:iam/role:Role", "chat-identity-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    issuer = mocked_cloud._eks_issuer("us-east-1", "ml-prod").removeprefix("https://")
    assert trust["Principal"]["Federated"] == f"arn:aws:iam::123456789012:oidc-provider/{issuer}"
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {f"{issuer}:sub": "system:serviceaccount:chat:chat", f"{issuer}:aud": "sts.amazonaws.com"}
    sa = named(plan, "kubernetes:core/v1:ServiceAccount", "chat-sa")
    assert sa.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("/eks-irsa-chat-model")
    # IRSA everywhere on this stack: the models and the node provisioner's controller alike
    assert not plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")


def test_aks_identity_is_federated_and_reads_one_container(plans):
    plan = plans["aks-wi"]
    identity = named(plan, "azure-native:managedidentity:UserAssignedIdentity", "blob-identity-identity")
    federation = named(plan, "azure-native:managedidentity:FederatedIdentityCredential", "blob-identity-federation")
    assert federation.inputs["subject"] == "system:serviceaccount:blob:blob"
    assert federation.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert federation.inputs["issuer"] == mocked_cloud._aks_issuer("eastus", "ml-aks")
    [reader] = [r for r in plan.of_type("azure-native:authorization:RoleAssignment") if "blob-reader" in r.name]
    assert reader.inputs["scope"] == f"{ACCOUNT_ID}/blobServices/default/containers/models"
    assert reader.inputs["roleDefinitionId"] == ("/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
                                                 "Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
    sa = named(plan, "kubernetes:core/v1:ServiceAccount", "blob-sa")
    assert sa.inputs["metadata"]["annotations"]["azure.workload.identity/client-id"].startswith("22222222-")
    deployment = named(plan, "kubernetes:apps/v1:Deployment", "blob-deployment")
    assert deployment.inputs["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert identity.inputs["resourceName"] == "aks-wi-blob-model"


def test_pods_read_secrets_by_reference(plans):
    plan = plans["eks-pi"]
    deployment = named(plan, "kubernetes:apps/v1:Deployment", "chat-deployment")
    env = {e["name"]: e for e in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HF_TOKEN"] == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "chat-secrets", "key": "hf-token"}}}
    [fetch] = deployment.inputs["spec"]["template"]["spec"]["initContainers"]
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "chat-secrets", "key": "hf-token"}}} in fetch["env"]
    secret = named(plan, "kubernetes:core/v1:Secret", "chat-secrets")
    assert secret.inputs["data"] == "[secret]", "a value read through Pulumi is a secret: the plan holds a placeholder"


def test_external_secrets_operator_fetches_in_the_cluster(plans):
    plan = plans["eks-eso"]
    es = named(plan, "kubernetes:external-secrets.io/v1:ExternalSecret", "chat-secrets")
    assert es.inputs["spec"]["secretStoreRef"] == {"name": "aws-secrets", "kind": "ClusterSecretStore"}
    assert es.inputs["spec"]["data"] == [{"secretKey": "hf-token", "remoteRef": {"key": HF_ARN}}]
    assert not plan.of_type("kubernetes:core/v1:Secret"), "no value passes through Pulumi"


def test_sagemaker_container_reads_the_secret_as_a_pulumi_secret(plans):
    model = named(plans["sm-hf"], "aws:sagemaker/model:Model", "chat-model")
    env = model.inputs["primaryContainer"]["environment"]
    assert env["HF_TOKEN"] == "[secret]", "read at deploy time, kept a Pulumi secret"
    assert env["OPTION_ROLLING_BATCH"] == "vllm", "only the secret value is masked"


def test_a_planted_secret_appears_in_no_output(plans):
    for name, plan in plans.items():
        outputs = {
            "preview json": json.dumps(preview_json([plan])),
            "captured plan": json.dumps(plan.as_dict()),
            "check": json.dumps(run_checks([plan], ROOT / "policies" / "config").as_dict(), default=str),
        }
        if plan.platform == "kubernetes":
            outputs["render"] = "".join(render_plan(plan).files.values())
        console = Console(file=StringIO(), width=200)
        console.print(preview_tree(plan))
        outputs["preview text"] = console.file.getvalue()
        for where, text in outputs.items():
            assert PLANTED not in text, f"{name}: the planted secret leaked into the {where}"
    copied = plans["eks-pi"]
    assert "chat/chat-secrets" in " ".join(render_plan(copied).notes), "render says which Secret it cannot write"


def test_pull_secret_is_created_in_every_model_namespace_from_its_reference():
    plan = preview.preview_stack(ROOT, "lab-kserve")
    pulls = {r.inputs["metadata"]["namespace"]: r for r in plan.of_type("kubernetes:core/v1:Secret") if r.name.endswith("-pull-secret")}
    namespaces = {r.inputs["metadata"]["name"] for r in plan.of_type("kubernetes:core/v1:Namespace")}
    assert set(pulls) == namespaces
    assert all(r.inputs["type"] == "kubernetes.io/dockerconfigjson" and r.inputs["metadata"]["name"] == "harbor-pull"
               for r in pulls.values())


def test_an_unmapped_pull_secret_is_refused_with_a_fix_that_parses(project: Path) -> None:
    """The fix is a YAML flow mapping a user can paste: balanced braces, and it validates once pasted."""
    import yaml
    from typer.testing import CliRunner

    from modelfleet.cli import app

    stack = project / "stacks" / "Pulumi.lab-kserve.yaml"
    text = stack.read_text()
    mapped = "  modelfleet:secrets:            # copied into every model namespace the stack creates\n" \
             "    harbor-pull: {kubernetes: {secret: harbor-pull, key: .dockerconfigjson, namespace: harbor-system}}\n"
    assert mapped in text
    stack.write_text(text.replace(mapped, ""))
    result = CliRunner().invoke(app, ["validate", "-f", "json", "--project-dir", str(project)])
    assert result.exit_code == 2
    [problem] = json.loads(result.stdout)["problems"]
    fix = problem["fix"]
    assert fix.startswith("add modelfleet:secrets.harbor-pull: ")
    flow = fix.removeprefix("add modelfleet:secrets.harbor-pull: ").split(" (or ")[0]
    assert yaml.safe_load(flow.replace("<name>", "harbor-pull").replace("<where it lives>", "harbor-system")) == {
        "kubernetes": {"secret": "harbor-pull", "key": ".dockerconfigjson", "namespace": "harbor-system"}}
