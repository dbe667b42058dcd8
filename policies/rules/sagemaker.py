"""SageMaker rules: encrypted endpoint configs (and asynchronous results), isolated models in a VPC (and
inference components that use them), rollback alarms on endpoint and component deployments, and
least-privilege execution roles.

MF-SM-002 accepts a model without network isolation only when its container downloads a Hugging
Face Hub model itself (no model data, `HF_MODEL_ID` an `org/model` repository) in an environment of
`hub_download_environments` (default all; list fewer to require S3 weights there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._rule import Rule, environments_param

IAM_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/role:Role")
# where a container may download a Hub model itself (no network isolation; preview states the egress it needs).
# Every environment by default, as SageMaker's LLM containers are meant to be used; list fewer in the pack config
# (e.g. prod.json: ["dev", "staging"]) to make production models load their weights from S3 instead.
HUB_DOWNLOAD_ENVIRONMENTS = ["dev", "staging", "prod"]
BROAD_MANAGED = ("AmazonSageMakerFullAccess", "AdministratorAccess", "AmazonS3FullAccess", "PowerUserAccess")


# Instance families whose SageMaker storage is local NVMe: AWS rejects a KmsKeyId for them and
# encrypts the instance store in hardware, so a missing key there is not a finding.
LOCAL_NVME_FAMILIES = frozenset({"c5d", "m5d", "r5d", "g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en"})


def _local_nvme(instance_type: Any) -> bool:
    parts = str(instance_type or "").split(".")
    return len(parts) == 3 and parts[1] in LOCAL_NVME_FAMILIES


def endpoint_config_kms(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    found = []
    # asynchronous results land in S3, whatever the instance storage: they need their own key
    if u.is_map(u.get(props, "asyncInferenceConfig")) and not u.get(props, "asyncInferenceConfig.outputConfig.kmsKeyId"):
        found.append("The asynchronous endpoint writes results and failures to S3 without a KMS key. To fix: set "
                     "asyncInferenceConfig.outputConfig.kmsKeyId (modelfleet:kms_key_arn in the stack).")
    variants = [v for v in u.as_list(u.get(props, "productionVariants")) if u.is_map(v)]
    if u.get(props, "kmsKeyArn") or (variants and all(_local_nvme(v.get("instanceType")) for v in variants)):
        return found
    return found + [
        (
            "The endpoint configuration has no kmsKeyArn, so the ML storage volume uses the default key. "
            "To fix: pass a customer-managed KMS key ARN (kmsKeyArn)."
        )
    ]


def _hub_download(props: Any) -> bool:
    """A container that downloads its own weights from the Hugging Face Hub: no model data, HF_MODEL_ID names a
    repository (`org/model`) rather than a directory (AWS LMI / Hugging Face LLM containers)."""
    container = u.get(props, "primaryContainer")
    model_id = str(u.get(container, "environment.HF_MODEL_ID") or "")
    no_data = not u.get(container, "modelDataUrl") and not u.get(container, "modelDataSource")
    return no_data and model_id.count("/") == 1 and not model_id.startswith("/")


def model_network_isolation(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if u.truthy(u.get(props, "enableNetworkIsolation")):
        return []
    hub = _hub_download(props)
    if hub and u.environment(config) in u.param(config, "hub_download_environments", HUB_DOWNLOAD_ENVIRONMENTS):
        return []
    if hub:
        return [f"The container downloads its weights from the Hugging Face Hub, so it needs the network, which "
                f"{u.environment(config)} models may not have. To fix: copy the weights to S3 and point model.uri there "
                "(SageMaker then loads them and the model runs with enableNetworkIsolation: true)."]
    return [
        (
            "The model container can reach the network. To fix: set enableNetworkIsolation: true "
            "(weights are loaded from S3 by SageMaker, not by the container)."
        )
    ]


def model_vpc(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    vpc = u.as_map(u.get(props, "vpcConfig"))
    if u.as_list(vpc.get("subnets")) and u.as_list(vpc.get("securityGroupIds")):
        return []
    return [
        (
            f"The model has no vpcConfig with subnets and securityGroupIds in {u.environment(config)}. "
            "To fix: set subnet_ids and security groups for the stack so the endpoint runs in your VPC."
        )
    ]


def component_uses_model(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    """An inference component that names a Model inherits its network isolation and VPC; an inline
    container (specification.container) runs without them."""
    spec = u.as_map(u.get(props, "specification"))
    if spec.get("modelName") or not spec.get("container"):
        return []
    return [
        (
            "The inference component runs an inline container (specification.container), which has no network "
            "isolation or VPC config of its own. To fix: reference a SageMaker Model with enableNetworkIsolation "
            "(specification.modelName)."
        )
    ]


def rollback_alarms(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["staging", "prod"]):
        return []
    alarms = u.as_list(u.get(props, "deploymentConfig.autoRollbackConfiguration.alarms"))
    if any(u.get(a, "alarmName") for a in alarms):
        return []
    return [
        (
            "The endpoint deploys without rollback alarms, so a bad model version stays live. To fix: set "
            "deploymentConfig.autoRollbackConfiguration.alarms (rollout.rollback_on in the model spec)."
        )
    ]


def _statements(doc: Any) -> list[Mapping[str, Any]]:
    stmts = u.get(doc, "Statement")
    if u.is_map(stmts):
        return [stmts]
    return [s for s in u.as_list(stmts) if u.is_map(s)]


def _strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in u.as_list(value)]


def policy_problems(doc: Any) -> list[str]:
    """Wildcard findings in one IAM policy document (Allow statements only)."""
    found = []
    for stmt in _statements(doc):
        if stmt.get("Effect", "Allow") != "Allow":
            continue
        actions = _strings(stmt.get("Action"))
        resources = _strings(stmt.get("Resource"))
        wild = [a for a in actions if a == "*" or a.endswith(":*")]
        if wild:
            found.append(f"allows wildcard actions {wild}")
        s3 = [a for a in actions if a.lower().startswith("s3:")]
        if s3 and "*" in resources:
            found.append(f'allows {s3} on Resource "*"')
    return found


def role_least_privilege(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    # The trust policy (assumeRolePolicy) names principals, not permissions: not checked here.
    docs = [u.json_doc(u.get(props, "policy"))]
    docs += [u.json_doc(u.get(p, "policy")) for p in u.as_list(u.get(props, "inlinePolicies"))]
    found = [
        f"The policy {problem}. To fix: list the exact actions the model needs (e.g. s3:GetObject) on the "
        "model's bucket/prefix ARN."
        for doc in docs
        if doc is not None
        for problem in policy_problems(doc)
    ]
    for arn in _strings(u.get(props, "managedPolicyArns")):
        if any(arn.endswith(f"/{name}") for name in BROAD_MANAGED):
            found.append(f"The role attaches {arn.rsplit('/', 1)[-1]}. To fix: replace it with a scoped inline policy.")
    return found


def data_capture(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    if u.truthy(u.get(props, "dataCaptureConfig.enableCapture", True)) and u.is_map(u.get(props, "dataCaptureConfig")):
        return []
    return [
        (
            "The production endpoint captures no requests, so drift cannot be analysed. To fix: keep "
            "monitoring.data_capture in the model spec (sets dataCaptureConfig)."
        )
    ]


def _sm(
    rule_id: str,
    level: str,
    desc: str,
    why: str,
    refs: tuple[str, ...],
    fn: Any,
    types: tuple[str, ...],
    envs: list[str] | None = None,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> Rule:
    params = {**environments_param(envs), **(extra or {})}
    return Rule(rule_id, "sagemaker", level, desc, why, refs, "resource", fn, types, params)  # type: ignore[arg-type]


RULES = [
    _sm(
        "MF-SM-001",
        "mandatory",
        "Endpoint configurations encrypt storage and asynchronous results with KMS",
        "Model weights and captured requests sit on the instance volume; asynchronous results sit in S3.",
        ("CKV_AWS_98",),
        endpoint_config_kms,
        (u.SM_ENDPOINT_CONFIG,),
    ),
    _sm(
        "MF-SM-002",
        "mandatory",
        "Models run with network isolation (unless the container downloads a Hub model)",
        "An isolated container cannot exfiltrate prompts or weights.",
        ("CKV_AWS_370", "SageMaker.5"),
        model_network_isolation,
        (u.SM_MODEL,),
        extra={"hub_download_environments": {
            "type": "array", "items": {"type": "string"}, "default": HUB_DOWNLOAD_ENVIRONMENTS,
            "description": "Environments whose models may download their weights from the Hugging Face Hub themselves "
                           "(network isolation off)."}},
    ),
    _sm(
        "MF-SM-003",
        "mandatory",
        "Production models run inside a VPC",
        "Keeps endpoint traffic and S3 access on private networking.",
        (),
        model_vpc,
        (u.SM_MODEL,),
        ["prod"],
    ),
    _sm(
        "MF-SM-004",
        "mandatory",
        "Endpoint and inference-component deployments roll back on alarms",
        "Blue/green, canary and rolling updates only protect you if an alarm can stop them.",
        (),
        rollback_alarms,
        (u.SM_ENDPOINT, u.SM_INFERENCE_COMPONENT),
        ["staging", "prod"],
    ),
    _sm(
        "MF-SM-005",
        "mandatory",
        "Execution roles use no wildcard permissions",
        "A model role with s3:* or * reads every bucket in the account.",
        ("CKV_AWS_290", "CKV_AWS_355", "IAM.1"),
        role_least_privilege,
        IAM_TYPES,
    ),
    _sm(
        "MF-SM-006",
        "advisory",
        "Production endpoints capture data for drift analysis",
        "Without captured traffic there is nothing to compare the training distribution with.",
        (),
        data_capture,
        (u.SM_ENDPOINT_CONFIG,),
        ["prod"],
    ),
    _sm(
        "MF-SM-007",
        "mandatory",
        "Inference components run an isolated SageMaker Model",
        "A component's inline container skips the Model's network isolation and VPC config.",
        ("CKV_AWS_370",),
        component_uses_model,
        (u.SM_INFERENCE_COMPONENT,),
    ),
]
