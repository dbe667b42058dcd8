"""Pure builders for Karpenter's objects on EKS (no Pulumi resources; unit-testable).

- `node_class_spec(...)`: an `EC2NodeClass` (karpenter.k8s.aws/v1) for one GPU pool: the
  EKS-optimized AMI alias (`al2023@<v>` or `bottlerocket@<v>`; Karpenter picks the NVIDIA
  variant for GPU instance types), the stack's subnets, the cluster security group (EKS tags
  it `aws:eks:cluster-name`), IMDSv2 with hop limit 1, encrypted gp3 volumes sized for the
  image plus two copies of the largest model.
- `node_pool_spec(...)`: a `NodePool` (karpenter.sh/v1) for one shape: the instance type, the
  capacity types (`spot` then `on-demand` fallback when the shape is spot), the GPU taint and
  pool/accelerator labels the serving pods select, `limits` on `nvidia.com/gpu` from the
  models' peak, and disruption that never repacks serving pods (see `DISRUPTION`).
- `controller_values(...)`: the Helm values of the controller.
Field names follow Karpenter v1.14 (website/content/en/docs/concepts/nodepools.md and
nodeclasses.md in aws/karpenter-provider-aws at v1.14.1).
"""

from __future__ import annotations

from typing import Any

from components.aws.node_group import volume_size_gib
from components.kubernetes.objects import ACCELERATOR_LABEL, GPU_TAINT, POOL_LABEL

NODE_POOL_API = "karpenter.sh/v1"
NODE_CLASS_API = "karpenter.k8s.aws/v1"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
MIN_NODES_ANNOTATION = "modelfleet.io/min-nodes"  # nodes the models' min replicas need (Karpenter has no minimum)
GPU_RESOURCE = "nvidia.com/gpu"
# GPU pools: consolidate only EMPTY nodes, so Karpenter never evicts a serving replica to repack
# (a GPU pod's cold start downloads and loads the weights); one node at a time; nodes expire
# after 30 days to pick up patched AMIs, draining for at most 2 h (PodDisruptionBudgets keep
# the models' min replicas while they move). `karpenter.sh/do-not-disrupt` on pods would also
# block expiry and AMI drift for good, which is why it is not used.
DISRUPTION = {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m", "budgets": [{"nodes": "1"}]}
EXPIRE_AFTER = "720h"
TERMINATION_GRACE_PERIOD = "2h"
BOTTLEROCKET_ROOT_GIB = 4  # Karpenter's Bottlerocket default root volume; images live on /dev/xvdb


def ami_alias(ami: str, version: str) -> str:
    return f"{'bottlerocket' if ami == 'bottlerocket' else 'al2023'}@{version}"


def _volume(size_gib: int) -> dict[str, Any]:
    return {"volumeSize": f"{size_gib}Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}


def node_class_spec(*, node_role: Any, subnet_ids: Any, cluster_name: str, ami: str, ami_version: str,
                    model_size_gib: float, tags: dict[str, str]) -> dict[str, Any]:
    data = volume_size_gib(model_size_gib)
    if ami == "bottlerocket":
        devices = [{"deviceName": "/dev/xvda", "ebs": _volume(BOTTLEROCKET_ROOT_GIB)},
                   {"deviceName": "/dev/xvdb", "ebs": _volume(data)}]
    else:
        devices = [{"deviceName": "/dev/xvda", "ebs": _volume(data)}]
    subnets = (subnet_ids.apply(lambda ids: [{"id": i} for i in ids]) if hasattr(subnet_ids, "apply")
               else [{"id": i} for i in subnet_ids])
    return {
        "role": node_role,
        "amiSelectorTerms": [{"alias": ami_alias(ami, ami_version)}],
        "subnetSelectorTerms": subnets,
        "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": cluster_name}}],
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1,
                            "httpProtocolIPv6": "disabled"},
        "blockDeviceMappings": devices,
        "tags": tags,
    }


def capacity_types(spot: bool) -> list[str]:
    """Karpenter tries spot first and falls back to on-demand when no spot offering is available."""
    return ["spot", "on-demand"] if spot else ["on-demand"]


def node_pool_spec(*, node_class: str, pool: str, accelerator: str | None, instance_type: str, spot: bool,
                   gpus_per_node: int, max_nodes: int) -> dict[str, Any]:
    labels = {POOL_LABEL: pool}
    if accelerator:
        labels[ACCELERATOR_LABEL] = accelerator
    return {
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
                "taints": [dict(GPU_TAINT)],
                "requirements": [
                    {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": [instance_type]},
                    {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": capacity_types(spot)},
                ],
                "expireAfter": EXPIRE_AFTER,
                "terminationGracePeriod": TERMINATION_GRACE_PERIOD,
            },
        },
        "limits": {GPU_RESOURCE: str(gpus_per_node * max_nodes)},
        "disruption": DISRUPTION,
    }


def controller_values(*, cluster_name: Any, queue_name: Any, service_account: str,
                      annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    # serviceAccount.annotations: the chart's values.yaml (charts/karpenter, v1.14.1) puts them on the
    # ServiceAccount it creates; IRSA reads eks.amazonaws.com/role-arn from there
    return {
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "serviceAccount": {"create": True, "name": service_account, **({"annotations": annotations} if annotations else {})},
        # the getting-started install: requests = limits so the controller is never evicted for memory
        "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
    }
