"""`pod_identity_role(...)`: an IAM role that one Kubernetes service account assumes through EKS
Pod Identity, and the association that binds them.

Trust policy: principal `pods.eks.amazonaws.com`, actions `sts:AssumeRole` and `sts:TagSession`
(Amazon EKS User Guide, "Create the IAM role" for EKS Pod Identity,
latest/ug/manage-access/aws-access/service-accounts.adoc). The role's permissions are the
caller's; nothing else can assume it.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

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
