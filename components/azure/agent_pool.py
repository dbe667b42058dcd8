"""`AksGpuAgentPool`: one AKS user agent pool per GPU node shape in use.

The pool carries the label `modelfleet.io/gpu-pool: <shape key>` (and the accelerator
label) that model pods select, and the taint `nvidia.com/gpu=true:NoSchedule` so only pods
that tolerate it land on GPU nodes. The cluster autoscaler sizes it between `min_count` and
`max_count` = ceil(Σ replica bounds × GPUs per replica ÷ GPUs per node).

GPU driver (`cluster.gpu_driver`):
- `aks` (default): AKS installs the NVIDIA driver on the node image; the NVIDIA device
  plugin DaemonSet (from the Kubernetes components) advertises `nvidia.com/gpu`.
- `gpu-operator`: `gpuProfile.driver: None` leaves the nodes driverless and the NVIDIA GPU
  Operator (assumed installed in the cluster, like other `present` add-ons) installs
  driver, container toolkit and device plugin — use it to pin driver versions or for MIG.

Spot pools (`shape.spot`): scaleSetPriority Spot, eviction Delete (evicted VMs free their
quota instead of lingering deallocated), spotMaxPrice -1 (pay up to on-demand, never
evicted for price). AKS also taints spot nodes `kubernetes.azure.com/scalesetpriority=spot:NoSchedule`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native

from components.kubernetes.objects import ACCELERATOR_LABEL, GPU_TAINT, POOL_LABEL

GPU_TAINT_SPEC = f"{GPU_TAINT['key']}={GPU_TAINT['value']}:{GPU_TAINT['effect']}"
SPOT_TAINT_SPEC = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"


@dataclass(frozen=True)
class AksGpuAgentPoolArgs:
    """pool_name: ≤ 12 lowercase alphanumerics; cluster_name/resource_group: the cluster;
    shape_key/accelerator/vm_size: from the placement's NodeShape; min_count/max_count:
    autoscaler bounds; spot: Spot priority (default False); gpu_driver: aks | gpu-operator
    (default aks); tags: on the pool's VMs."""

    pool_name: str
    cluster_name: pulumi.Input[str]
    resource_group: pulumi.Input[str]
    shape_key: str
    accelerator: str
    vm_size: str
    min_count: int
    max_count: int
    spot: bool = False
    gpu_driver: str = "aks"
    tags: dict[str, str] = field(default_factory=dict)


class AksGpuAgentPool(pulumi.ComponentResource):
    node_labels: dict[str, str]

    def __init__(self, name: str, args: AksGpuAgentPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:azure:AksGpuAgentPool", name, None, opts)
        self.node_labels = {POOL_LABEL: args.shape_key, ACCELERATOR_LABEL: args.accelerator}
        spot = {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": -1} if args.spot else {}
        pool = azure_native.containerservice.AgentPool(  # type: ignore[call-overload]
            f"{name}-pool",
            agent_pool_name=args.pool_name,
            resource_name_=args.cluster_name,
            resource_group_name=args.resource_group,
            mode="User",
            type="VirtualMachineScaleSets",
            os_type="Linux",
            os_sku="Ubuntu",
            vm_size=args.vm_size,
            node_labels=self.node_labels,
            # AKS adds its own spot taint to spot pools; declaring it keeps plan and cluster in agreement
            node_taints=[GPU_TAINT_SPEC, SPOT_TAINT_SPEC] if args.spot else [GPU_TAINT_SPEC],
            enable_auto_scaling=True,
            min_count=args.min_count,
            max_count=args.max_count,
            count=args.min_count,
            # GPU VMs have large local disks: ephemeral OS disks are faster to boot and free
            os_disk_type="Ephemeral",
            # temp disk and caches encrypted on the host (needs the EncryptionAtHost feature on the subscription)
            enable_encryption_at_host=True,
            enable_node_public_ip=False,
            gpu_profile={"driver": "None"} if args.gpu_driver == "gpu-operator" else None,
            upgrade_settings=None if args.spot else {"max_surge": "1"},  # spot pools cannot surge-upgrade
            tags=args.tags,
            **spot,
            # the cluster autoscaler owns the node count; IaC must not reset it on every update
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["count"]),
        )
        self.pool_name = pool.name
        self.register_outputs({"pool_name": self.pool_name, "node_labels": self.node_labels})
