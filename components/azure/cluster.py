"""The AKS cluster a stack serves on: created (`ManagedAksCluster`) or looked up (`existing_cluster`).

Both give an `AksHandle`: cluster name, resource group, a kubeconfig for the Kubernetes
provider and the kubelet identity's object id (granted AcrPull on the stack's registry).

The kubeconfig is the *user* credential in `exec` format: clusters use Entra ID with Azure
RBAC and local accounts off, so there is no static admin certificate; `kubelogin` must be
on PATH (CI: `kubelogin convert-kubeconfig -l workloadidentity` or `-l azurecli`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

SYSTEM_POOL_VM_SIZE = "Standard_D4ds_v5"  # has a local temp disk, so the OS disk can be ephemeral
SYSTEM_POOL_NAME = "system"


@dataclass(frozen=True)
class AksHandle:
    name: pulumi.Output[str]
    resource_group: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    resource: pulumi.Resource | None = None
    oidc_issuer: pulumi.Output[str] | None = None  # workload identity: the issuer federated credentials trust


def _issuer_url(profile: Any) -> str:
    if profile is None:
        return ""
    return str((profile.get("issuer_url") or profile.get("issuerURL")) if isinstance(profile, dict) else profile.issuer_url or "")


@dataclass(frozen=True)
class ManagedAksClusterArgs:
    """cluster_name / resource_group / location: where; private: private API server (default
    False; the platform passes True in production unless the stack says otherwise); authorized_ip_ranges:
    CIDRs allowed to reach a public API server; production: Standard tier SLA, 3-node zonal system pool, protect (default False);
    system_min/system_max: system pool autoscaler bounds (default 2/5); tags."""

    cluster_name: str
    resource_group: pulumi.Input[str]
    location: str
    private: bool = False
    production: bool = False
    authorized_ip_ranges: tuple[str, ...] = ()
    system_min: int = 2
    system_max: int = 5
    tags: dict[str, str] = field(default_factory=dict)


def _kubelet_object_id(profile: Any) -> str:
    identity = (profile or {}).get("kubeletidentity")
    if identity is None:
        return ""
    return str(identity.get("objectId") or identity.get("object_id") or "") if isinstance(identity, dict) else str(identity.object_id or "")


def _kubeconfig(result: Any) -> str:
    configs = getattr(result, "kubeconfigs", None) or []
    return base64.b64decode(configs[0].value).decode() if configs else ""


def user_kubeconfig(resource_group: pulumi.Input[str], cluster_name: pulumi.Input[str],
                    opts: pulumi.InvokeOptions | None = None) -> pulumi.Output[str]:
    creds = azure_native.containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=resource_group, resource_name=cluster_name, format="exec", opts=opts)
    return pulumi.Output.secret(creds.apply(_kubeconfig))


class ManagedAksCluster(pulumi.ComponentResource):
    """A managed cluster with only a system pool; GPU pools are separate `AksGpuAgentPool`s."""

    def __init__(self, name: str, args: ManagedAksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:azure:ManagedAksCluster", name, None, opts)
        zones = ["1", "2", "3"] if args.production else None
        cluster = azure_native.containerservice.ManagedCluster(  # type: ignore[call-overload]
            f"{name}-cluster",
            resource_name_=args.cluster_name,
            resource_group_name=args.resource_group,
            location=args.location,
            dns_prefix=args.cluster_name,
            identity={"type": "SystemAssigned"},
            sku={"name": "Base", "tier": "Standard" if args.production else "Free"},
            # Entra ID for humans and CI, Azure RBAC for authorization, no static local admin account
            aad_profile={"managed": True, "enable_azure_rbac": True},
            enable_rbac=True,
            disable_local_accounts=True,
            # private: the API server has only a Private Link address; public: limited to the stack's CIDRs when given
            api_server_access_profile={"enable_private_cluster": True} if args.private else
            {"enable_private_cluster": False, **({"authorized_ip_ranges": list(args.authorized_ip_ranges)}
                                                 if args.authorized_ip_ranges else {})},
            network_profile={"network_plugin": "azure", "network_plugin_mode": "overlay", "network_policy": "cilium",
                             "network_dataplane": "cilium"},
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
            agent_pool_profiles=[{
                "name": SYSTEM_POOL_NAME, "mode": "System", "type": "VirtualMachineScaleSets", "os_type": "Linux",
                "vm_size": SYSTEM_POOL_VM_SIZE, "count": max(args.system_min, 3 if args.production else 1),
                "enable_auto_scaling": True, "min_count": max(args.system_min, 3 if args.production else 1),
                "max_count": max(args.system_max, args.system_min), "availability_zones": zones,
                "os_disk_type": "Ephemeral", "enable_encryption_at_host": True, "enable_node_public_ip": False,
            }],
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.production,
                # GPU pools are separate AgentPool resources and the cluster autoscaler owns node counts;
                # re-sending the create-time pool list would fight both
                ignore_changes=["agentPoolProfiles"]),
        )
        self.resource = cluster
        self.cluster_name = cluster.name
        self.kubelet_object_id = cluster.identity_profile.apply(_kubelet_object_id)
        self.oidc_issuer = cluster.oidc_issuer_profile.apply(_issuer_url)
        self.kubeconfig = user_kubeconfig(args.resource_group, cluster.name, pulumi.InvokeOptions(parent=self))
        self.register_outputs({"name": self.cluster_name, "kubelet_object_id": self.kubelet_object_id})


def existing_cluster(resource_group: str, cluster_name: str) -> AksHandle:
    """Look up a cluster the stack does not own: its kubelet identity and a user kubeconfig."""
    found = azure_native.containerservice.get_managed_cluster_output(resource_group_name=resource_group, resource_name=cluster_name)
    return AksHandle(
        name=pulumi.Output.from_input(cluster_name),
        resource_group=pulumi.Output.from_input(resource_group),
        kubeconfig=user_kubeconfig(resource_group, cluster_name),
        kubelet_object_id=found.identity_profile.apply(_kubelet_object_id),
        oidc_issuer=found.oidc_issuer_profile.apply(_issuer_url),
    )


def created_cluster(component: ManagedAksCluster, resource_group: pulumi.Input[str]) -> AksHandle:
    return AksHandle(name=component.cluster_name, resource_group=pulumi.Output.from_input(resource_group),
                     kubeconfig=component.kubeconfig, kubelet_object_id=component.kubelet_object_id, resource=component,
                     oidc_issuer=component.oidc_issuer)
