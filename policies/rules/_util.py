"""Shared helpers for rule functions: safe reads of Pulumi wire-form properties.

Contract: every helper accepts whatever the engine hands over — plain dicts/lists from
`modelfleet check`, or Pulumi's read-only `Mapping`/`Sequence` proxies inside
`pulumi preview` — and never raises `KeyError`/`TypeError` on missing or oddly typed
values. Numbers may arrive as floats where integers are meant. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"
MODEL_KEYS = ("modelfleet.io/model", "modelfleet:model")
# the version a resource serves: modelfleet's cloud tag, and the Kubernetes recommended label
# (kubernetes.io docs, "Recommended Labels": app.kubernetes.io/version)
VERSION_KEYS = ("app.kubernetes.io/version", "modelfleet:version")
# modelfleet's per-model rollout state (components/rollout_state.py; modelfleet.rollout.STATE_TYPE)
ROLLOUT_STATE = "modelfleet:rollout:RolloutState"

K8S_POD_WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
)
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
# argo-rollouts v1.9.1 manifests/crds/rollout-crd.yaml (tests/fixtures/crds)
ARGO_ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
K8S_WORKLOADS = (*K8S_POD_WORKLOADS, ISVC)
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NODE_PATCH = "kubernetes:core/v1:NodePatch"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
ECR_REPO = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
EKS_NODEGROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
# Karpenter v1 objects (aws/karpenter-provider-aws v1.14.1, docs/concepts/nodepools.md, nodeclasses.md)
KARPENTER_NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
EC2_NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
SM_MODEL = "aws:sagemaker/model:Model"
SM_ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SM_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
# scale-to-zero models run as inference components (pulumi-aws-native: AWS::SageMaker::InferenceComponent)
SM_INFERENCE_COMPONENT = "aws-native:sagemaker:InferenceComponent"
AAS_TARGET = "aws:appautoscaling/target:Target"
CW_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ACR = "azure-native:containerregistry:Registry"
AKS_POOL = "azure-native:containerservice:AgentPool"
AML_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
AML_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
AZ_METRIC_ALERT = "azure-native:monitor:MetricAlert"
AZ_METRIC_ALERT_V2 = "azure-native:insights:MetricAlert"  # azure-native 2.x token


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def get(obj: Any, path: str, default: Any = None) -> Any:
    """`get(props, "spec.template.spec")` — dotted lookup through mappings; `default` when absent."""
    cur = obj
    for part in path.split("."):
        if not is_map(cur) or part not in cur:
            return default
        cur = cur[part]
    return default if cur is None else cur


def get_any(obj: Any, *paths: str, default: Any = None) -> Any:
    """The first of several property paths that is set (provider versions name a block differently,
    e.g. Azure ML `properties` in azure-native 3.x vs `onlineEndpointProperties` in 2.x)."""
    for path in paths:
        value = get(obj, path)
        if value is not None:
            return value
    return default


def as_map(value: Any) -> Mapping[str, Any]:
    return value if is_map(value) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if is_seq(value) else []


def num(value: Any, default: float | None = None) -> float | None:
    """A number from an int, float or numeric string; `default` otherwise (bools are not numbers)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return default
    return default


def fmt(value: float | None) -> str:
    """Render 2.0 as '2' in messages."""
    if value is None:
        return "unset"
    return str(int(value)) if float(value).is_integer() else str(value)


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def param(config: Mapping[str, Any], key: str, default: Any) -> Any:
    value = config.get(key) if is_map(config) else None
    return default if value is None else value


def environment(config: Mapping[str, Any]) -> str:
    return str(param(config, "environment", "dev"))


def in_environments(config: Mapping[str, Any], default: Sequence[str]) -> bool:
    """True when the configured environment is one the rule applies to (param `environments`)."""
    envs = [str(e) for e in as_list(param(config, "environments", list(default)))]
    return environment(config) in envs


def labels(props: Any) -> Mapping[str, Any]:
    return as_map(get(props, "metadata.labels"))


def tags(props: Any) -> Mapping[str, Any]:
    """Cloud tags as a mapping; pulumi-aws-native (CloudFormation) spells them [{key, value}, ...]."""
    raw = get(props, "tags")
    if is_map(raw):
        return as_map(raw)
    return {str(t.get("key")): t.get("value") for t in as_list(raw) if is_map(t) and "key" in t}


def labelled(props: Any, keys: Sequence[str]) -> str | None:
    """The first of `keys` set as a Kubernetes label or a cloud tag."""
    for source in (labels(props), tags(props)):
        for key in keys:
            if source.get(key):
                return str(source[key])
    return None


def model_of(props: Any) -> str | None:
    """The modelfleet model a resource belongs to, from Kubernetes labels or cloud tags."""
    return labelled(props, MODEL_KEYS)


def version_of(props: Any) -> str | None:
    """The model version a resource serves, from its Kubernetes labels or cloud tags."""
    return labelled(props, VERSION_KEYS)


def json_doc(value: Any) -> Any:
    """An IAM-style policy given as a JSON string or already as a mapping; None if unparseable."""
    if is_map(value):
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def pod_specs(resource_type: str, props: Any) -> list[Mapping[str, Any]]:
    """Pod specs a workload runs: template.spec for apps/batch kinds, the predictor for KServe."""
    if resource_type in K8S_POD_WORKLOADS:
        spec = get(props, "spec.template.spec")
        return [spec] if is_map(spec) else []
    if resource_type == ISVC:
        predictor = get(props, "spec.predictor")
        return [predictor] if is_map(predictor) else []
    return []


def containers(pod: Mapping[str, Any], include_init: bool = True) -> list[Mapping[str, Any]]:
    """Containers of a pod spec (KServe: `containers` plus the `model` runtime container)."""
    found = [c for c in as_list(pod.get("containers")) if is_map(c)]
    if include_init:
        found += [c for c in as_list(pod.get("initContainers")) if is_map(c)]
    model = pod.get("model")
    if is_map(model):
        found.append(model)
    return found


def container_name(container: Mapping[str, Any], index: int) -> str:
    return str(container.get("name") or f"#{index}")


def gpus_of_container(container: Mapping[str, Any]) -> float:
    limits = num(as_map(get(container, "resources.limits")).get(GPU_RESOURCE), None)
    requests = num(as_map(get(container, "resources.requests")).get(GPU_RESOURCE), None)
    return max(limits or 0.0, requests or 0.0)


def gpus_per_replica(resource_type: str, props: Any) -> float:
    total = 0.0
    for pod in pod_specs(resource_type, props):
        for c in containers(pod, include_init=False):
            total += gpus_of_container(c)
    return total


def tolerates_gpu_taint(pod: Mapping[str, Any]) -> bool:
    for tol in as_list(pod.get("tolerations")):
        if not is_map(tol):
            continue
        key = tol.get("key")
        operator = tol.get("operator") or "Equal"
        effect = tol.get("effect")
        if effect not in (None, "", "NoSchedule"):
            continue
        if key == GPU_TAINT_KEY or (key in (None, "") and operator == "Exists"):
            return True
    return False


def node_selector(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_map(pod.get("nodeSelector"))


def has_node_affinity(pod: Mapping[str, Any]) -> bool:
    terms = get(pod, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms")
    return bool(as_list(terms))


def walk_images(resource_type: str, props: Any) -> Iterator[tuple[str, str]]:
    """(where, image) for every container image a resource runs."""
    for pod in pod_specs(resource_type, props):
        for i, c in enumerate(containers(pod)):
            image = c.get("image")
            if isinstance(image, str) and image:
                yield f"container {container_name(c, i)}", image
    if resource_type == SM_MODEL:
        primary = get(props, "primaryContainer.image")
        if isinstance(primary, str) and primary:
            yield "primaryContainer", primary
        for i, c in enumerate(as_list(get(props, "containers"))):
            image = get(c, "image")
            if isinstance(image, str) and image:
                yield f"containers[{i}]", image


def normalize_path(path: str) -> str:
    """Compare ignoreChanges paths regardless of snake_case/camelCase spelling."""
    return str(path).replace("_", "").replace('["', ".").replace('"]', "").lower()


def ignores(options: Mapping[str, Any] | None, *paths: str) -> bool:
    """True when the resource's ignoreChanges covers any of `paths` (or a parent of one)."""
    ignored = [normalize_path(p) for p in as_list(as_map(options).get("ignoreChanges"))]
    for path in paths:
        want = normalize_path(path)
        for have in ignored:
            if want == have or want.startswith(have + "."):
                return True
    return False
