"""MF-SEC-001 (no credential literal in a container's environment, command or arguments) over real plans.

`validate` refuses credential literals in a spec's `serving.env` / `args`, so the rule guards what bypasses
the spec (an edited program, a resource added by hand): failing plans are built here as resources. Asserted:
every bundled stack passes; the designed secret paths pass on every platform, in `modelfleet check` (secret
placeholder) and through the Pulumi wrappers with the value a real `pulumi preview` hands a policy; a
literal planted into bundled resources fails, naming the object, container and variable but never the
value; the rule's detector is the one `validate` uses."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import scratch_stacks
from test_policies_engine import drive_wrappers, plan_from
from test_sagemaker_sources import SPECS as SAGEMAKER_SPECS

from components.aws.sagemaker_container import SECRET_ENV_TAG
from modelfleet import credentials, preview
from modelfleet.check import run_checks
from modelfleet.plan import SECRET_PLACEHOLDER, ResourcePlan
from policies import credentials as pack_credentials
from policies import sync
from policies.rules import secrets

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "policies" / "config"
RULE = "MF-SEC-001"
PLANTED = "hf_PlantedRuleTokenValue0a1b2c3d4e5f6a7b"
HF_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ml/hf-token-AbCdEf"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
VAULT_ID = f"{SUB}/resourceGroups/ml-sec-rg/providers/Microsoft.KeyVault/vaults/ml-secrets"
SECRET_URI = "https://ml-secrets.vault.azure.net/secrets/hf-token/0123456789abcdef0123456789abcdef"
SPECS = {
    "llama": SAGEMAKER_SPECS["llama"],  # a gated Hub LLM on vLLM whose token comes from secret_env
    "chat": """name: chat
version: "2"
owner: t
model: {uri: "hf://meta-llama/Llama-3.1-8B-Instruct", framework: huggingface}
serving: {runtime: tgi, secret_env: {HF_TOKEN: hf-token}}
resources: {accelerator: T4:1, cpu: 4, memory_gib: 16}
autoscaling: {min_replicas: 1, max_replicas: 2, metric: concurrency, target: 4}
""",
}
AWS_SECRETS = f'  modelfleet:secrets: {{hf-token: {{aws_secrets_manager: "{HF_ARN}"}}}}\n'
STACKS = {
    "sm": "config:\n  aws:region: us-east-1\n  modelfleet:environment: dev\n  modelfleet:platform: sagemaker\n"
          '  modelfleet:registry: {kind: ecr}\n  modelfleet:models: ["llama"]\n' + AWS_SECRETS,
    "eks": "config:\n  aws:region: us-east-1\n  modelfleet:environment: dev\n  modelfleet:platform: kubernetes\n"
           "  modelfleet:serving: deployment\n  modelfleet:cluster: {kind: eks, name: ml-prod}\n"
           '  modelfleet:registry: {kind: ecr}\n  modelfleet:models: ["llama"]\n' + AWS_SECRETS,
    "kserve": "config:\n  aws:region: us-east-1\n  modelfleet:environment: dev\n  modelfleet:platform: kubernetes\n"
              "  modelfleet:serving: kserve\n  modelfleet:cluster: {kind: eks, name: ml-prod}\n"
              '  modelfleet:registry: {kind: ecr}\n  modelfleet:models: ["llama"]\n'
              "  modelfleet:secrets: {hf-token: {kubernetes: {secret: hf, key: token, namespace: ml-secrets}}}\n",
    "azml": "config:\n  azure-native:location: eastus\n  modelfleet:environment: staging\n  modelfleet:platform: azureml\n"
            "  modelfleet:workspace: {name: ml-ws, resource_group: ml-rg}\n  modelfleet:registry: {kind: acr}\n"
            '  modelfleet:models: ["chat"]\n'
            f'  modelfleet:artifact_store: {{key_vaults: {{ml-secrets: "{VAULT_ID}"}}}}\n'
            f'  modelfleet:secrets: {{hf-token: {{key_vault: "{SECRET_URI}"}}}}\n',
}


@pytest.fixture(scope="module")
def bundled() -> list[ResourcePlan]:
    return preview.preview_stacks(ROOT)


@pytest.fixture(scope="module")
def designed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    project = scratch_stacks.write_project(tmp_path_factory.mktemp("secpol"), SPECS, STACKS)

    return scratch_stacks.preview_holding_secret(project, STACKS, PLANTED)


def sec_violations(plans: list[ResourcePlan]) -> list[tuple[str, str]]:
    return [(v.resource, v.message) for v in run_checks(plans, CONFIG).violations if v.rule == RULE]


def one(plan: ResourcePlan, token: str) -> Any:
    [found] = plan.of_type(token)
    return found


def replanned(plan: ResourcePlan, edits: dict[str, Any]) -> ResourcePlan:
    """The plan's custom resources as `plan_from` dicts, with `edits[name](inputs)` applied to copies."""
    resources = []
    for r in plan.resources:
        if not r.custom:
            continue
        inputs = copy.deepcopy(r.inputs)
        if r.name in edits:
            edits[r.name](inputs)
        resources.append({"type": r.type, "name": r.name, "props": inputs, "options": dict(r.options)})
    return plan_from(plan.stack, plan.environment, resources)


def test_every_bundled_stack_passes(bundled: list[ResourcePlan]) -> None:
    judged = {r.type for p in bundled for r in p.resources if secrets.RULES[0].applies_to(r.type)}
    assert {"kubernetes:apps/v1:Deployment", "kubernetes:serving.kserve.io/v1beta1:InferenceService",
            "aws:sagemaker/model:Model", "azure-native:machinelearningservices:OnlineDeployment"} <= judged
    assert sec_violations(bundled) == []


def test_the_designed_secret_paths_pass_on_every_platform(designed: dict[str, ResourcePlan]) -> None:
    env = one(designed["eks"], "kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "llama-secrets", "key": "hf-token"}}} in env
    isvc = one(designed["kserve"], "kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert "secretKeyRef" in json.dumps(isvc.inputs)
    sm_env = one(designed["sm"], "aws:sagemaker/model:Model").inputs["primaryContainer"]["environment"]
    assert sm_env["HF_TOKEN"] == SECRET_PLACEHOLDER and sm_env["HF_MODEL_ID"] == "meta-llama/Llama-3.1-8B-Instruct"
    aml = one(designed["azml"], "azure-native:machinelearningservices:OnlineDeployment")
    assert aml.inputs["properties"]["environmentVariables"]["HF_TOKEN"] == "${{keyvault:" + SECRET_URI + "}}"
    assert sec_violations(list(designed.values())) == []


def _pulumi_verdicts(plan: ResourcePlan) -> set[tuple[str, str]]:
    """MF-SEC-001 through the real Pulumi policy wrappers, as `pulumi preview --policy-pack` runs it."""
    found = drive_wrappers(plan, sync.synced_config(plan.environment, {}))
    return {(name, message) for rule, _, name, message in found if rule == RULE}


def test_under_pulumi_preview_only_the_delivered_secrets_pass_with_their_value(designed: dict[str, ResourcePlan]) -> None:
    model = one(designed["sm"], "aws:sagemaker/model:Model")
    assert model.inputs["tags"][SECRET_ENV_TAG] == "HF_TOKEN", "the model names (never holds) what Secrets Manager delivers"

    def reveal(inputs: dict[str, Any]) -> None:  # CrossGuard hands policies the secret's value
        inputs["primaryContainer"]["environment"]["HF_TOKEN"] = PLANTED

    def reveal_untagged(inputs: dict[str, Any]) -> None:  # the same value, not delivered from Secrets Manager
        reveal(inputs)
        del inputs["tags"][SECRET_ENV_TAG]

    revealed = replanned(designed["sm"], {model.name: reveal})
    assert _pulumi_verdicts(revealed) == set() and sec_violations([revealed]) == []
    elsewhere = replanned(designed["sm"], {model.name: reveal_untagged})
    [(name, message)] = _pulumi_verdicts(elsewhere)
    assert name == model.name and "primaryContainer sets HF_TOKEN to a Hugging Face token" in message
    assert PLANTED not in message
    assert sec_violations([elsewhere]) == [(name, message)], "check and the Pulumi wrappers agree"


def _plant_k8s(inputs: dict[str, Any]) -> None:
    spec = inputs["spec"]
    pod = spec["predictor"] if "predictor" in spec else spec["template"]["spec"]
    for container in [*pod.get("containers", []), *pod.get("initContainers", []), *([pod["model"]] if "model" in pod else [])]:
        container.setdefault("env", []).append({"name": "HF_TOKEN", "value": PLANTED})
        container["args"] = [*container.get("args", []), f"--hf-token={PLANTED}"]


def _plant_sm(inputs: dict[str, Any]) -> None:
    inputs["primaryContainer"]["environment"]["HF_TOKEN"] = PLANTED  # a literal: no secret-env tag names it


def _plant_aml(inputs: dict[str, Any]) -> None:
    inputs["properties"]["environmentVariables"]["HF_TOKEN"] = PLANTED


@pytest.mark.parametrize(("stack", "token", "plant", "where"), [
    ("lab-dev", "kubernetes:apps/v1:Deployment", _plant_k8s, {"container server", "init container fetch-model"}),
    ("eks-prod", "kubernetes:serving.kserve.io/v1beta1:InferenceService", _plant_k8s, {"predictor model"}),
    ("sagemaker-prod", "aws:sagemaker/model:Model", _plant_sm, {"primaryContainer"}),
    ("azureml-prod", "azure-native:machinelearningservices:OnlineDeployment", _plant_aml, {"the deployment"}),
])
def test_a_literal_planted_in_a_bundled_resource_fails_without_echoing_it(
        bundled: list[ResourcePlan], stack: str, token: str, plant: Any, where: set[str]) -> None:
    [plan] = [p for p in bundled if p.stack == stack]
    targets = {r.name for r in plan.of_type(token)}
    assert targets
    planted = replanned(plan, dict.fromkeys(targets, plant))
    report = run_checks([planted], CONFIG)
    violations = [v for v in report.violations if v.rule == RULE]
    found = [(v.resource, v.message) for v in violations]
    assert {name for name, _ in found} == targets and {v.level for v in violations} == {"mandatory"}
    for _, message in found:
        assert "HF_TOKEN to a Hugging Face token" in message or "--hf-token=…" in message, message
    named = {m.split(" sets ")[0].split(" passes ")[0] for _, m in found}
    assert where <= named, named
    assert PLANTED not in json.dumps(report.as_dict(), default=str)
    assert {(n, m) for n, m in found} == _pulumi_verdicts(planted)


def test_validate_and_the_rule_share_one_detector() -> None:
    for name in ("secret_kind", "arg_secrets", "redact", "userinfo", "TOKEN_PATTERNS"):
        assert getattr(credentials, name) is getattr(pack_credentials, name), name


def test_the_rule_reads_modelfleets_own_names() -> None:
    assert secrets.SECRET_PLACEHOLDER == SECRET_PLACEHOLDER
    assert secrets.SECRET_ENV_TAG == SECRET_ENV_TAG
    reference = "${{keyvault:" + SECRET_URI + "}}"
    assert secrets.AML_SECRET_REFERENCE.match(reference)
    assert not secrets.AML_SECRET_REFERENCE.match(reference + " " + PLANTED)
