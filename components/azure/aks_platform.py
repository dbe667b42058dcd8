"""The AKS platform: cluster (created or looked up), ACR, GPU agent pools, then Kubernetes serving.

`deploy(sp)`:
1. resource group (named, or created with a created cluster) and the cluster handle;
2. an `AcrRegistry` when `registry.kind: acr`, with AcrPull for the kubelet identity;
3. a Kubernetes provider from the cluster's Entra ID (exec) kubeconfig;
4. one `AksGpuAgentPool` per node shape in use, sized from the placements on it, plus the
   NVIDIA device plugin restricted to that pool when the AKS-managed driver is used;
5. `components.kubernetes.platform.deploy_serving` for add-ons and model servers, after the pools.
CPU-only models have no shape and run on the cluster's general-purpose (system) nodes.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.azure.agent_pool import AksGpuAgentPool, AksGpuAgentPoolArgs
from components.azure.cluster import ManagedAksCluster, ManagedAksClusterArgs, created_cluster, existing_cluster
from components.azure.common import resource_group, stack_tags
from components.azure.registry import AcrRegistry, AcrRegistryArgs, registry_sku
from components.azure.workload_identity import model_identities
from components.kubernetes.node_pool import GpuNodePool, GpuNodePoolArgs
from components.kubernetes.platform import deploy_serving
from modelfleet.environment import AksCluster, KubernetesStack
from modelfleet.naming import acr_name
from modelfleet.placement import StackPlacement
from modelfleet.targets.aks import pool_bounds, private_api_server


def deploy(sp: StackPlacement) -> dict[str, pulumi.Output[str]]:
    stack = sp.stack
    assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, AksCluster)
    cluster = stack.cluster
    location = stack.region or ""
    production = stack.production
    tags = stack_tags(stack)
    assert cluster.name is not None  # checked by the target
    if cluster.create:
        group = resource_group(stack, cluster.resource_group, location)
        managed = ManagedAksCluster(f"{stack.stack}-aks", ManagedAksClusterArgs(
            cluster.name, group, location, private=private_api_server(stack), production=production,
            authorized_ip_ranges=cluster.authorized_ip_ranges, tags=tags))
        handle = created_cluster(managed, group)
    else:
        assert cluster.resource_group is not None
        group = pulumi.Output.from_input(cluster.resource_group)
        handle = existing_cluster(cluster.resource_group, cluster.name)
    after_cluster = [handle.resource] if handle.resource else []

    if stack.registry.kind == "acr":
        AcrRegistry(f"{stack.stack}-acr", AcrRegistryArgs(
            registry_name=acr_name(stack.stack, f"{cluster.resource_group or ''}/{cluster.name}/{location}"),
            resource_group=group, location=location, sku=registry_sku(stack.environment, production),
            production=production, pullers={"kubelet": handle.kubelet_object_id}, tags=tags))

    provider = k8s.Provider(f"{stack.stack}-aks-k8s", kubeconfig=handle.kubeconfig,
                            opts=pulumi.ResourceOptions(depends_on=after_cluster))
    k8s_opts = pulumi.ResourceOptions(provider=provider)
    ready: list[pulumi.Resource] = []
    for key, (shape, users) in sp.shapes().items():
        assert shape.offer is not None and shape.accelerator is not None
        low, high = pool_bounds(users, shape.gpus_per_node)
        pool = AksGpuAgentPool(f"{stack.stack}-{key}", AksGpuAgentPoolArgs(
            pool_name=users[0].names["agent_pool"], cluster_name=handle.name, resource_group=group,
            shape_key=key, accelerator=shape.accelerator, vm_size=shape.offer.instance_type,
            min_count=low, max_count=high, spot=shape.spot, gpu_driver=cluster.gpu_driver,
            tags={**tags, "modelfleet:gpu-pool": key}), pulumi.ResourceOptions(depends_on=after_cluster))
        ready.append(pool)
        if cluster.gpu_driver == "aks" and stack.addons.nvidia_device_plugin == "install":
            # the GPU Operator brings its own device plugin; the AKS-managed driver does not
            ready.append(GpuNodePool(f"{stack.stack}-{key}-gpu", GpuNodePoolArgs(
                pool=key, accelerator=shape.accelerator, nodes=(),
                labels=stack.shared_labels(), device_plugin_image=stack.image("device_plugin"),
                environment=stack.environment), k8s_opts))
    # one user-assigned identity per model that reads Blob storage, federated for its ServiceAccount
    issuer = handle.oidc_issuer if handle.oidc_issuer is not None else pulumi.Output.from_input("")
    identities = model_identities(sp, group, location, issuer)
    return deploy_serving(sp, provider, depends_on=ready, workload=identities)
