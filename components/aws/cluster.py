"""The EKS cluster a stack runs on: an existing one looked up by name, or a created one.

- `existing_cluster(stack)` → `ClusterInfo` from `aws.eks.get_cluster` (endpoint, CA, and its
  subnets for node groups unless the stack lists `subnet_ids`).
- `EksControlPlane` (create: true): cluster IAM role (AmazonEKSClusterPolicy, plus use of the
  secrets key), the stack's `subnet_ids` or a new `EksNetwork`, a KMS key (rotation on) that
  envelope-encrypts the cluster's Secrets, the cluster (private API endpoint, public only from the
  stack's `api_public_cidrs`; control-plane audit logs; API access entries, with the creator's
  bootstrap cluster-admin only outside production), one access entry with AmazonEKSClusterAdminPolicy
  per `admins` ARN, and a small on-demand system node group for cluster add-ons and CPU-only models.
- `kubeconfig(...)` → a kubeconfig whose user runs `aws eks get-token` (no static credentials),
  for the `pulumi_kubernetes.Provider` that deploys the model servers.
"""

from __future__ import annotations

import hashlib
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
# Amazon EKS User Guide, "Associate access policies with access entries" (access-policies.adoc):
# arn:<partition>:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy, access scope type "cluster"
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
# what the cluster role needs on the secrets key: the cluster_encryption policy of
# terraform-aws-modules/terraform-aws-eks (main.tf); the key policy is KMS's default (the account's
# IAM policies decide), so this role policy is what lets EKS use the key
SECRETS_KEY_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
KEY_DELETION_WINDOW_DAYS = 30  # KMS maximum: a deleted key makes every Secret in etcd unreadable


def endpoint_access(public_cidrs: tuple[str, ...]) -> dict[str, Any]:
    """aws.eks.Cluster vpc_config endpoint fields (pulumi-aws ClusterVpcConfig: endpoint_private_access,
    endpoint_public_access, public_access_cidrs): private always, public only from the named CIDRs."""
    access: dict[str, Any] = {"endpoint_private_access": True, "endpoint_public_access": bool(public_cidrs)}
    if public_cidrs:
        access["public_access_cidrs"] = list(public_cidrs)
    return access


def admin_key(arn: str) -> str:
    """A stable resource-name part per admin ARN (order in the stack file does not matter)."""
    return f"{arn.rsplit('/', 1)[-1][:40].lower()}-{hashlib.sha256(arn.encode()).hexdigest()[:8]}"


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
    partition: ARN partition; public_cidrs: who may reach the API endpoint from the internet (() = private only);
    admins: IAM principal ARNs made cluster admins through access entries; bootstrap_admin: whether the creating
    identity is made cluster admin at creation (EKS bootstrapClusterCreatorAdminPermissions); tags."""

    cluster_name: str
    region: str
    version: str | None = None
    subnet_ids: tuple[str, ...] = ()
    ami: str = "al2023"
    partition: str = "aws"
    public_cidrs: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    bootstrap_admin: bool = False
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
        key = aws.kms.Key(f"{name}-secrets-key", description=f"Envelope encryption of Kubernetes Secrets in {args.cluster_name}",
                          enable_key_rotation=True, deletion_window_in_days=KEY_DELETION_WINDOW_DAYS, tags=args.tags,
                          opts=child)  # protected with the component on production stacks (children inherit protect)
        key_use = aws.iam.RolePolicy(f"{name}-secrets-key-use", role=role.id, policy=key.arn.apply(lambda arn: json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": SECRETS_KEY_ACTIONS, "Resource": arn}]})),
            opts=child)
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.cluster_name,
            role_arn=role.arn,
            version=args.version,
            vpc_config={"subnet_ids": subnets, **endpoint_access(args.public_cidrs)},
            # pulumi-aws ClusterEncryptionConfig: provider.key_arn + resources ["secrets"] (the only valid value)
            encryption_config={"provider": {"key_arn": key.arn}, "resources": ["secrets"]},
            # bootstrap_cluster_creator_admin_permissions: changing it replaces the cluster (EKS API
            # CreateAccessConfigRequest); production clusters are protected, so a change there stops at preview
            access_config={"authentication_mode": "API_AND_CONFIG_MAP",
                           "bootstrap_cluster_creator_admin_permissions": args.bootstrap_admin},
            enabled_cluster_log_types=LOG_TYPES,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment, key_use]),
        )
        admins: list[pulumi.Resource] = []
        for arn in args.admins:
            entry = aws.eks.AccessEntry(f"{name}-admin-{admin_key(arn)}", cluster_name=cluster.name, principal_arn=arn,
                                        type="STANDARD", tags=args.tags, opts=child)
            admins.append(aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{admin_key(arn)}-policy", cluster_name=cluster.name, principal_arn=arn,
                policy_arn=f"arn:{args.partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}",
                access_scope={"type": "cluster"}, opts=pulumi.ResourceOptions(parent=self, depends_on=[entry])))
        system = EksGpuNodeGroup(f"{name}-system", EksGpuNodeGroupArgs(
            cluster_name=cluster.name, node_group_name=f"{args.cluster_name}-system"[:63].rstrip("-"), pool="system",
            instance_type=SYSTEM_INSTANCE_TYPE, accelerator=None, min_size=2, max_size=4, subnet_ids=subnets,
            gpu=False, ami=args.ami, partition=args.partition, tags=args.tags), child)
        self.info = ClusterInfo(
            name=cluster.name, endpoint=cluster.endpoint,
            certificate_authority=cluster.certificate_authority.apply(lambda ca: cast(str, ca.data) if ca else ""),
            subnet_ids=subnets, ready=[system, *admins], oidc_issuer=cluster.identities.apply(_issuer), created=True)
        self.register_outputs({"name": cluster.name, "endpoint": cluster.endpoint, "secrets_key": key.arn})
