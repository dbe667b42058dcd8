"""GPU nodes of an EKS stack, by the stack's `modelfleet:cluster.nodes`:

- `karpenter`: the `Karpenter` controller and one `KarpenterGpuPool` (EC2NodeClass + NodePool)
  per node shape; the pools have no nodes until serving pods need them.
- `managed`: one `EksGpuNodeGroup` per node shape, tagged for Cluster Autoscaler discovery,
  and the `ClusterAutoscaler`, which moves each group's desired size between the bounds.
Both read the same shapes and bounds from placement (`StackPlacement.shapes`, `node_bounds`),
so cost and quota see the same capacity either way. The controllers get AWS credentials the way
the stack's `modelfleet:cluster.identity` says: Pod Identity (clusters the stack creates also
get the EKS Pod Identity Agent add-on) or IRSA through the cluster's OIDC provider (`oidc`).

`provision(sp, info, provider, oidc)` returns what serving must wait for.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.cluster import ClusterInfo
from components.aws.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs, discovery_tags
from components.aws.common import stack_tags
from components.aws.karpenter import Karpenter, KarpenterArgs, KarpenterGpuPool, KarpenterGpuPoolArgs
from components.aws.node_group import EksGpuNodeGroup, EksGpuNodeGroupArgs
from components.aws.pod_identity import POD_IDENTITY_AGENT
from components.aws.workload_identity import Oidc
from modelfleet.environment import EksCluster, KubernetesStack
from modelfleet.naming import k8s_name
from modelfleet.placement import StackPlacement
from modelfleet.targets.aws_offers import partition
from modelfleet.targets.eks import cluster_name, node_bounds, node_group_name


def pod_identity_agent(stack: KubernetesStack, info: ClusterInfo) -> list[pulumi.Resource]:
    """The `eks-pod-identity-agent` add-on on a cluster the stack creates (none on existing clusters,
    which must run it), registered once per stack: the node provisioners and the models' own
    identities get their credentials through it. IRSA stacks use none."""
    assert isinstance(stack.cluster, EksCluster)
    if not stack.cluster.create or stack.cluster.identity != "pod_identity":
        return []
    return [aws.eks.Addon(f"{stack.stack}-pod-identity-agent", cluster_name=info.name, addon_name=POD_IDENTITY_AGENT,
                          tags=stack_tags(stack), opts=pulumi.ResourceOptions(depends_on=info.ready))]


def provision(sp: StackPlacement, info: ClusterInfo, provider: pulumi.ProviderResource,
              oidc: Oidc | None = None) -> list[pulumi.Resource]:
    stack = sp.stack
    assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, EksCluster) and stack.region
    cluster = stack.cluster
    name, tags, region = cluster_name(stack), stack_tags(stack), stack.region
    ready: list[pulumi.Resource] = pod_identity_agent(stack, info)
    on_cluster = pulumi.ResourceOptions(providers=[provider], depends_on=[*info.ready, *ready])
    if cluster.node_provisioner == "karpenter":
        controller = Karpenter(f"{stack.stack}-karpenter", KarpenterArgs(
            cluster_name=name, cluster=info.name, region=region, partition=partition(region), identity=cluster.identity,
            oidc=oidc, tags=tags), on_cluster)
        ready.append(controller)
        for key, (shape, users) in sp.shapes().items():
            assert shape.offer is not None
            low, high = node_bounds(users)
            ready.append(KarpenterGpuPool(f"{stack.stack}-{key}", KarpenterGpuPoolArgs(
                pool=key, name=k8s_name(stack.stack, key), instance_type=shape.offer.instance_type,
                accelerator=shape.accelerator, gpus_per_node=shape.gpus_per_node, spot=shape.spot, min_nodes=low,
                max_nodes=high, node_role=controller.node_role_name, subnet_ids=info.subnet_ids, cluster_name=name,
                ami=cluster.ami, ami_version=cluster.ami_version, model_size_gib=max(p.spec.model.size_gib for p in users),
                labels=stack.shared_labels(),
                tags={**tags, "modelfleet:models": "_".join(p.model for p in users)[:256]}),
                pulumi.ResourceOptions(providers=[provider], depends_on=[controller.release])))
        return ready
    for key, (shape, users) in sp.shapes().items():
        assert shape.offer is not None
        low, high = node_bounds(users)
        ready.append(EksGpuNodeGroup(f"{stack.stack}-{key}", EksGpuNodeGroupArgs(
            cluster_name=info.name, node_group_name=node_group_name(stack, shape), pool=key,
            instance_type=shape.offer.instance_type, accelerator=shape.accelerator, min_size=low, max_size=high,
            subnet_ids=info.subnet_ids, spot=shape.spot, ami=cluster.ami,
            model_size_gib=max(p.spec.model.size_gib for p in users), partition=partition(region),
            tags={**tags, **discovery_tags(name), "modelfleet:models": "_".join(p.model for p in users)[:256]})))
    ready.append(ClusterAutoscaler(f"{stack.stack}-cluster-autoscaler", ClusterAutoscalerArgs(
        cluster_name=name, cluster=info.name, region=region, kubernetes_version=cluster.version,
        partition=partition(region), identity=cluster.identity, oidc=oidc, tags=tags), on_cluster))
    return ready
