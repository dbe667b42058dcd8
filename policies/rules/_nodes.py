"""Node pools and accelerators as the rules see them: which accelerator an instance type,
VM size, label or tag names; whether an EKS node group, Karpenter NodePool, AKS agent pool or
on-prem node patch is a GPU pool and carries the `nvidia.com/gpu` NoSchedule taint; its node labels.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u

ACCELERATORS = ["T4", "A10G", "A10", "L4", "L40S", "V100", "A100-40GB", "A100-80GB", "H100", "H200"]
_AWS_FAMILIES = {
    "g4dn": "T4",
    "g5": "A10G",
    "g6": "L4",
    "g6e": "L40S",
    "p3": "V100",
    "p3dn": "V100",
    "p4d": "A100-40GB",
    "p4de": "A100-80GB",
    "p5": "H100",
    "p5e": "H200",
    "p5en": "H200",
}
_AZURE_MARKERS = (
    ("h200", "H200"),
    ("h100", "H100"),
    ("a100_v4", "A100-80GB"),
    ("nd96asr_v4", "A100-40GB"),
    ("a10_v", "A10"),
    ("t4_v3", "T4"),
    ("s_v3", "V100"),
)
ACCEL_LABEL = "modelfleet.io/accelerator"
GPU_AMI_MARKERS = ("GPU", "NVIDIA")
POOL_TYPES = (u.EKS_NODEGROUP, u.AKS_POOL, u.NODE_PATCH, u.KARPENTER_NODEPOOL)
KARPENTER_INSTANCE_TYPE = "node.kubernetes.io/instance-type"


def accelerator_of_instance(instance: Any) -> str | None:
    """Map `ml.g5.2xlarge`, `g5.xlarge`, `Standard_NC24ads_A100_v4` to the accelerator vocabulary."""
    if not isinstance(instance, str) or not instance:
        return None
    name = instance.removeprefix("ml.")
    if name.lower().startswith("standard_n"):
        low = name.lower()
        return next((acc for marker, acc in _AZURE_MARKERS if marker in low), None)
    return _AWS_FAMILIES.get(name.split(".")[0].lower())


def accelerators_of(resource_type: str, props: Any) -> set[str]:
    found: set[str] = set()
    for source in (
        u.labels(props),
        u.tags(props),
        u.as_map(u.get(props, "labels")),
        u.as_map(u.get(props, "nodeLabels")),
        u.as_map(u.get(props, "spec.template.metadata.labels")),
    ):
        for key in (ACCEL_LABEL, "modelfleet:accelerator"):
            if source.get(key):
                found.add(str(source[key]))
    for pod in u.pod_specs(resource_type, props):
        if u.node_selector(pod).get(ACCEL_LABEL):
            found.add(str(u.node_selector(pod)[ACCEL_LABEL]))
    instances = list(u.as_list(u.get(props, "instanceTypes")))
    instances += [u.get(props, "vmSize"), u.get_any(props, "properties.instanceType", "onlineDeploymentProperties.instanceType")]
    instances += [u.get(v, "instanceType") for v in u.as_list(u.get(props, "productionVariants"))]
    for requirement in u.as_list(u.get(props, "spec.template.spec.requirements")):
        if u.get(requirement, "key") == KARPENTER_INSTANCE_TYPE and u.get(requirement, "operator") == "In":
            instances += list(u.as_list(u.get(requirement, "values")))
    found.update(a for a in (accelerator_of_instance(i) for i in instances) if a)
    return found


def pool_is_gpu(resource_type: str, props: Any) -> bool:
    if accelerators_of(resource_type, props):
        return True
    if resource_type == u.EKS_NODEGROUP:
        return any(m in str(u.get(props, "amiType", "")).upper() for m in GPU_AMI_MARKERS)
    if resource_type == u.AKS_POOL:
        return str(u.get(props, "vmSize", "")).lower().startswith("standard_n")
    keys = set(u.labels(props))
    return any(k.startswith("nvidia.com/gpu") for k in keys)


def pool_is_tainted(resource_type: str, props: Any) -> bool:
    if resource_type == u.AKS_POOL:
        return any(
            (str(t).startswith(f"{u.GPU_TAINT_KEY}=") and str(t).endswith(":NoSchedule"))
            or str(t) == f"{u.GPU_TAINT_KEY}:NoSchedule"
            for t in u.as_list(u.get(props, "nodeTaints"))
        )
    if resource_type == u.EKS_NODEGROUP:
        taints = u.get(props, "taints")
    elif resource_type == u.KARPENTER_NODEPOOL:
        taints = u.get(props, "spec.template.spec.taints")
    else:
        taints = u.get(props, "spec.taints")
    return any(
        u.get(t, "key") == u.GPU_TAINT_KEY and str(u.get(t, "effect", "")).replace("_", "").lower() == "noschedule"
        for t in u.as_list(taints)
    )


def pool_labels(res: Mapping[str, Any]) -> dict[str, str]:
    props, kind = res.get("props"), res.get("type")
    if kind == u.EKS_NODEGROUP:
        found = {str(k): str(v) for k, v in u.as_map(u.get(props, "labels")).items()}
        found["eks.amazonaws.com/nodegroup"] = str(u.get(props, "nodeGroupName") or res.get("name"))
    elif kind == u.KARPENTER_NODEPOOL:
        found = {str(k): str(v) for k, v in u.as_map(u.get(props, "spec.template.metadata.labels")).items()}
        found["karpenter.sh/nodepool"] = str(u.get(props, "metadata.name") or res.get("name"))
    elif kind == u.AKS_POOL:
        found = {str(k): str(v) for k, v in u.as_map(u.get(props, "nodeLabels")).items()}
        pool = str(u.get(props, "agentPoolName") or res.get("name"))
        found.update({"kubernetes.azure.com/agentpool": pool, "agentpool": pool})
    else:
        found = {str(k): str(v) for k, v in u.labels(props).items()}
        found["kubernetes.io/hostname"] = str(u.get(props, "metadata.name") or res.get("name"))
    return found
