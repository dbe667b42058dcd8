"""The EKS platform: ECR repositories, the cluster (looked up or created), GPU nodes per node
shape in use (Karpenter NodePools or managed node groups + Cluster Autoscaler), and the shared
Kubernetes serving path.

`deploy(sp)` registers, in order: an `EcrRepository` per model (registry kind ecr); the
cluster (`existing_cluster` or `EksControlPlane`); a Kubernetes provider whose kubeconfig calls
`aws eks get-token`; the GPU nodes (`components.aws.gpu_nodes.provision`); the
NVIDIA device plugin on AL2023 pools (Bottlerocket NVIDIA ships its own); then
`components.kubernetes.platform.deploy_serving`, whose pods select the pools by the
`modelfleet.io/gpu-pool` label and tolerate the `nvidia.com/gpu` taint.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.aws.cluster import ClusterInfo, EksControlPlane, EksControlPlaneArgs, existing_cluster, kubeconfig
from components.aws.common import stack_tags
from components.aws.gpu_nodes import provision
from components.aws.registry import model_repositories
from components.aws.workload_identity import irsa_provider, model_identities
from components.kubernetes.node_pool import GpuNodePool, GpuNodePoolArgs
from components.kubernetes.platform import deploy_serving
from modelfleet.environment import EksCluster, KubernetesStack
from modelfleet.placement import StackPlacement
from modelfleet.targets.aws_offers import partition
from modelfleet.targets.eks import cluster_name


def cluster_for(stack: KubernetesStack) -> ClusterInfo:
    cluster = stack.cluster
    assert isinstance(cluster, EksCluster) and stack.region
    if not cluster.create:
        return existing_cluster(cluster_name(stack), cluster.subnet_ids)
    plane = EksControlPlane(f"{stack.stack}-eks", EksControlPlaneArgs(
        cluster_name=cluster_name(stack), region=stack.region, version=cluster.version, subnet_ids=cluster.subnet_ids,
        ami=cluster.ami, partition=partition(stack.region), public_cidrs=cluster.api_public_cidrs, admins=cluster.admins,
        # the creator keeps a bootstrap cluster-admin only outside production (prod names its admins)
        bootstrap_admin=not stack.production, tags=stack_tags(stack)),
        pulumi.ResourceOptions(protect=stack.production))
    return plane.info


def deploy(sp: StackPlacement) -> dict[str, pulumi.Output[str]]:
    stack = sp.stack
    assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, EksCluster) and stack.region
    model_repositories(sp)
    info = cluster_for(stack)
    provider = k8s.Provider(f"{stack.stack}-k8s", kubeconfig=kubeconfig(info.name, info.endpoint, info.certificate_authority,
                                                                        stack.region))
    # IRSA stacks: the cluster's OIDC provider, once, for the node provisioners and the models alike
    oidc = irsa_provider(stack, info.oidc_issuer, info.created, partition(stack.region), stack_tags(stack))
    groups = provision(sp, info, provider, oidc)
    plugins: list[pulumi.Resource] = []
    # Bottlerocket NVIDIA variants run the device plugin themselves; AL2023 NVIDIA AMIs need the DaemonSet
    if stack.cluster.ami == "al2023" and stack.addons.nvidia_device_plugin == "install":
        plugins = [
            GpuNodePool(f"gpu-{key}", GpuNodePoolArgs(key, shape.accelerator or "", (), stack.shared_labels(), True,
                                                      stack.image("device_plugin"), stack.environment),
                        pulumi.ResourceOptions(provider=provider))
            for key, (shape, _) in sp.shapes().items()
        ]
    # one IAM role per model that reads S3, bound to its ServiceAccount (Pod Identity or IRSA)
    identities, identity_ready = model_identities(sp, info.name, oidc, partition(stack.region), stack_tags(stack))
    return deploy_serving(sp, provider, depends_on=[*info.ready, *groups, *plugins, *identity_ready], workload=identities)
