"""IAM roles for the cluster's own controllers (Karpenter, Cluster Autoscaler), bound to one Kubernetes
service account the way the stack's `modelfleet:cluster.identity` says.

- `pod_identity_role(...)`: trust principal `pods.eks.amazonaws.com`, actions `sts:AssumeRole` and
  `sts:TagSession` (Amazon EKS User Guide, "Create the IAM role" for EKS Pod Identity,
  latest/ug/manage-access/aws-access/service-accounts.adoc), and the `PodIdentityAssociation`.
- `controller_identity(...)`: that, or for `irsa` a role trusting the cluster's IAM OIDC provider for
  exactly `system:serviceaccount:<ns>:<sa>` (`components.aws.workload_identity.irsa_trust`) with the
  `eks.amazonaws.com/role-arn` annotation the chart puts on its ServiceAccount.
The role's permissions are the caller's; nothing else can assume it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.workload_identity import ROLE_ARN_ANNOTATION, Oidc, irsa_trust

POD_IDENTITY_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
POD_IDENTITY_AGENT = "eks-pod-identity-agent"  # the EKS add-on that hands the credentials to pods


def pod_identity_role(name: str, *, cluster_name: pulumi.Input[str], namespace: str, service_account: str,
                      description: str, tags: dict[str, str],
                      parent: pulumi.Resource) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(f"{name}-role", assume_role_policy=POD_IDENTITY_TRUST, description=description,
                        tags=tags, opts=child)
    association = aws.eks.PodIdentityAssociation(f"{name}-pod-identity", cluster_name=cluster_name,
                                                 namespace=namespace, service_account=service_account,
                                                 role_arn=role.arn, tags=tags, opts=child)
    return role, association


@dataclass(frozen=True)
class ControllerIdentity:
    """role; ready: what the controller's release waits for (the association, or the OIDC provider);
    annotations: for the ServiceAccount the chart creates (IRSA's role ARN; empty for Pod Identity)."""

    role: aws.iam.Role
    ready: list[pulumi.Resource] = field(default_factory=list)
    annotations: dict[str, Any] = field(default_factory=dict)


def controller_identity(name: str, *, mode: str, cluster_name: pulumi.Input[str], namespace: str, service_account: str,
                        description: str, tags: dict[str, str], parent: pulumi.Resource,
                        oidc: Oidc | None = None) -> ControllerIdentity:
    """The controller's role bound by Pod Identity (`pod_identity`) or IRSA (`irsa`, needs `oidc`)."""
    if mode != "irsa":
        role, association = pod_identity_role(name, cluster_name=cluster_name, namespace=namespace,
                                              service_account=service_account, description=description, tags=tags,
                                              parent=parent)
        return ControllerIdentity(role, [association])
    if oidc is None:
        raise ValueError("identity irsa needs the cluster's OIDC provider")
    trust = pulumi.Output.all(oidc.provider_arn, oidc.issuer).apply(
        lambda v: irsa_trust(v[0], v[1], namespace, service_account))
    role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, description=description, tags=tags,
                        opts=pulumi.ResourceOptions(parent=parent, depends_on=oidc.ready))
    return ControllerIdentity(role, [*oidc.ready], {ROLE_ARN_ANNOTATION: role.arn})
