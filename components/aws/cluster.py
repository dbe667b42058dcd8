"""The EKS cluster a stack runs on: an existing one looked up by name, or a created one.

- `existing_cluster(stack)` → `ClusterInfo` from `aws.eks.get_cluster` (endpoint, CA, and its
  subnets for node groups unless the stack lists `subnet_ids`).
- `EksControlPlane` (create: true): cluster IAM role (AmazonEKSClusterPolicy only), the
  stack's `subnet_ids` or a new `EksNetwork`, the cluster (private + public API endpoint,
  control-plane audit logs, API access entries), and a small on-demand system node group for
  cluster add-ons and CPU-only models.
- `kubeconfig(...)` → a kubeconfig whose user runs `aws eks get-token` (no static credentials),
  for the `pulumi_kubernetes.Provider` that deploys the model servers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components.aws.common import assume_role_policy
from components.aws.network import EksNetwork, EksNetworkArgs
from components.aws.node_group import EksGpuNodeGroup, EksGpuNodeGroupArgs

SYSTEM_INSTANCE_TYPE = "m6i.large"
LOG_TYPES = ["api", "audit", "authenticator"]


@dataclass(frozen=True)
class ClusterInfo:
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    ready: list[pulumi.Resource] = field(default_factory=list)  # what serving must wait for
    oidc_issuer: pulumi.Output[str] | None = None  # the cluster's OIDC issuer URL (IRSA)
    created: bool = False


def _issuer(identities: Any) -> str:
    """identities[0].oidcs[0].issuer of an EKS cluster (typed objects or plain dicts), '' when absent."""
    def pick(obj: Any, key: str) -> Any:
        return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
    first = (identities or [None])[0]
    oidcs = pick(first, "oidcs") if first is not None else None
    return str(pick(oidcs[0], "issuer") or "") if oidcs else ""


def kubeconfig(cluster_name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str],
               region: str) -> pulumi.Output[str]:
    def render(values: list[str]) -> str:
        name, server, ca = values
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "users": [{"name": name, "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                "args": ["eks", "get-token", "--cluster-name", name, "--region", region],
                "interactiveMode": "Never"}}}],
        }, sort_keys=True)
    return pulumi.Output.all(cluster_name, endpoint, ca_data).apply(render)


def existing_cluster(name: str, subnet_ids: tuple[str, ...], opts: pulumi.InvokeOptions | None = None) -> ClusterInfo:
    found = aws.eks.get_cluster_output(name=name, opts=opts)
    subnets = (pulumi.Output.from_input(list(subnet_ids)) if subnet_ids
               else found.vpc_config.apply(lambda vpc: list(vpc.subnet_ids or [])))
    return ClusterInfo(
        name=found.name,
        endpoint=found.endpoint,
        certificate_authority=found.certificate_authorities.apply(lambda cas: cas[0].data if cas else ""),
        subnet_ids=subnets,
        oidc_issuer=found.identities.apply(_issuer),
    )


@dataclass(frozen=True)
class EksControlPlaneArgs:
    """cluster_name; region; version: Kubernetes version (None = EKS default); subnet_ids:
    existing private subnets (≥ 2 AZs) or () to create a VPC over two AZs; ami: system pool OS (al2023 | bottlerocket);
    partition: ARN partition; tags."""

    cluster_name: str
    region: str
    version: str | None = None
    subnet_ids: tuple[str, ...] = ()
    ami: str = "al2023"
    partition: str = "aws"
    tags: dict[str, str] = field(default_factory=dict)


class EksControlPlane(pulumi.ComponentResource):
    info: ClusterInfo

    def __init__(self, name: str, args: EksControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:EksControlPlane", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.subnet_ids:
            subnets: pulumi.Output[list[str]] = pulumi.Output.from_input(list(args.subnet_ids))
        else:
            network = EksNetwork(f"{name}-network", EksNetworkArgs(args.cluster_name, tags=args.tags), child)
            subnets = network.private_subnet_ids
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("eks.amazonaws.com"),
                            description=f"EKS control plane of {args.cluster_name}", tags=args.tags, opts=child)
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=role.name,
            policy_arn=f"arn:{args.partition}:iam::aws:policy/AmazonEKSClusterPolicy", opts=child)
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.cluster_name,
            role_arn=role.arn,
            version=args.version,
            vpc_config={"subnet_ids": subnets, "endpoint_private_access": True, "endpoint_public_access": True},
            access_config={"authentication_mode": "API_AND_CONFIG_MAP",
                           "bootstrap_cluster_creator_admin_permissions": True},
            enabled_cluster_log_types=LOG_TYPES,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )
        system = EksGpuNodeGroup(f"{name}-system", EksGpuNodeGroupArgs(
            cluster_name=cluster.name, node_group_name=f"{args.cluster_name}-system"[:63].rstrip("-"), pool="system",
            instance_type=SYSTEM_INSTANCE_TYPE, accelerator=None, min_size=2, max_size=4, subnet_ids=subnets,
            gpu=False, ami=args.ami, partition=args.partition, tags=args.tags), child)
        self.info = ClusterInfo(
            name=cluster.name, endpoint=cluster.endpoint,
            certificate_authority=cluster.certificate_authority.apply(lambda ca: cast(str, ca.data) if ca else ""),
            subnet_ids=subnets, ready=[system], oidc_issuer=cluster.identities.apply(_issuer), created=True)
        self.register_outputs({"name": cluster.name, "endpoint": cluster.endpoint})
