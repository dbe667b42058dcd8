"""Identity rules: roles that read model weights are scoped to the model, never to everything.

- MF-IAM-001: an IAM inline or managed policy never allows an action on Resource "*" (or a whole
  service's ARNs such as `arn:aws:s3:::*`) unless every action in that statement is one AWS grants
  only on "*" (no resource-level permissions: ECR's GetAuthorizationToken, CloudWatch PutMetricData,
  the EC2 network-interface calls of a VPC config), and never uses a service-wide action wildcard.
- MF-IAM-002: a role that an AWS service principal assumes on your behalf (the services in the
  `services` parameter; default SageMaker) limits that trust to this account with an
  `aws:SourceAccount` condition (cross-service confused-deputy prevention).
- MF-AZ-006: a Storage Blob data role (Reader / Contributor / Owner) is assigned on one container,
  never on a storage account, resource group or subscription.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._rule import Rule

ROLE_POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE = "aws:iam/role:Role"
# service principals whose documentation asks for aws:SourceAccount / aws:SourceArn in the trust policy of
# the roles they assume (SageMaker developer guide, "Cross-service confused deputy prevention"). Not EC2
# instance roles or EKS: those services do not document these keys for AssumeRole.
CONFUSED_DEPUTY_SERVICES = ["sagemaker.amazonaws.com"]
# actions AWS authorizes only on Resource "*" (Service Authorization Reference: no resource types listed)
STAR_ONLY_ACTIONS = frozenset({
    "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData",
    "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
    # node provisioners' discovery reads (Karpenter's AllowRegionalReadActions / AllowPricingReadActions /
    # AllowUnscopedInstanceProfileListAction in its v1.14.1 cloudformation.yaml; the Cluster Autoscaler's
    # AWS README): EC2 and Auto Scaling Describe calls, the Price List API and IAM list calls
    "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions", "ec2:DescribePlacementGroups", "ec2:DescribeSpotPriceHistory",
    "ec2:GetInstanceTypesFromInstanceRequirements", "pricing:GetProducts", "iam:ListInstanceProfiles",
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags",
})
# built-in data-plane roles on Blob storage (Azure built-in roles: Storage)
BLOB_DATA_ROLES = {
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
}
CONTAINER_SCOPE = "/blobservices/default/containers/"


def _wildcard_resource(resource: Any) -> bool:
    text = str(resource)
    if text == "*":
        return True
    parts = text.split(":", 5)  # arn:partition:service:region:account:resource
    return len(parts) == 6 and parts[0] == "arn" and parts[5] in ("*", "/*")


def wildcard_role_policy(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    doc = u.json_doc(u.get(props, "policy"))
    stmts = u.get(doc, "Statement")
    stmts = [stmts] if u.is_map(stmts) else u.as_list(stmts)
    out = []
    for stmt in stmts:
        if u.get(stmt, "Effect", "Allow") != "Allow":
            continue
        actions = [str(a) for a in ([u.get(stmt, "Action")] if isinstance(u.get(stmt, "Action"), str) else u.as_list(u.get(stmt, "Action")))]
        resources = [u.get(stmt, "Resource")] if isinstance(u.get(stmt, "Resource"), str) else u.as_list(u.get(stmt, "Resource"))
        sid = u.get(stmt, "Sid") or "a statement"
        broad = [a for a in actions if a == "*" or a.endswith(":*")]
        if broad:
            out.append(f"{sid} allows every action of a service ({', '.join(broad)}). To fix: list the actions the role needs, "
                       "e.g. s3:GetObject for reading model weights.")
        if any(_wildcard_resource(r) for r in resources) and not all(a in STAR_ONLY_ACTIONS for a in actions):
            needs = sorted(a for a in actions if a not in STAR_ONLY_ACTIONS)
            out.append(f"{sid} allows {', '.join(needs)} on every resource. To fix: scope Resource to the model's own ARNs "
                       "(e.g. arn:aws:s3:::<bucket>/<model prefix>/*, the bucket's KMS key).")
    return out


def _condition_keys(stmt: Any) -> set[str]:
    """Condition keys of a statement, lower-cased (IAM condition keys are case-insensitive)."""
    return {str(key).lower() for block in u.as_map(u.get(stmt, "Condition")).values() for key in u.as_map(block)}


def service_trust_without_source_account(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    doc = u.json_doc(u.get(props, "assumeRolePolicy"))
    stmts = u.get(doc, "Statement")
    stmts = [stmts] if u.is_map(stmts) else u.as_list(stmts)
    services = set(u.param(config, "services", CONFUSED_DEPUTY_SERVICES))
    out = []
    for stmt in stmts:
        principal = u.get(stmt, "Principal.Service")
        named = {str(p) for p in ([principal] if isinstance(principal, str) else u.as_list(principal))} & services
        if u.get(stmt, "Effect", "Allow") != "Allow" or not named:
            continue
        if "aws:sourceaccount" not in _condition_keys(stmt):
            out.append(f"the trust policy lets {', '.join(sorted(named))} assume the role for any account's resources. To fix: add "
                       'Condition {"StringEquals": {"aws:SourceAccount": "<this account id>"}} (and aws:SourceArn with the '
                       "service's resource ARN pattern, e.g. arn:aws:sagemaker:<region>:<account>:*).")
    return out


def blob_role_on_container(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    role = str(u.get(props, "roleDefinitionId") or "").rsplit("/", 1)[-1].lower()
    if role not in BLOB_DATA_ROLES:
        return []
    scope = str(u.get(props, "scope") or "")
    if CONTAINER_SCOPE in scope.lower():
        return []
    return [f"{BLOB_DATA_ROLES[role]} is assigned on {scope or 'an unknown scope'}, which covers every container below it. "
            "To fix: assign it on the model's container: <storage account id>/blobServices/default/containers/<container>."]


RULES = [
    Rule("MF-IAM-001", "identity", "mandatory", "IAM policies never allow data actions on every resource",
         "A model role that can read any bucket or decrypt with any key turns one compromised pod into an account-wide leak.",
         ("CKV_AWS_355", "CKV_AWS_290"), "resource", wildcard_role_policy, ROLE_POLICY_TYPES),
    Rule("MF-IAM-002", "identity", "mandatory", "Service roles trust the service only for this account (aws:SourceAccount)",
         "Without the condition, the service can be induced to use the role on behalf of another account's resources "
         "(the cross-service confused deputy problem).",
         (), "resource", service_trust_without_source_account, (ROLE,),
         params={"services": {"type": "array", "items": {"type": "string"}, "default": CONFUSED_DEPUTY_SERVICES,
                              "description": "Service principals whose assumed roles must carry aws:SourceAccount."}}),
    Rule("MF-AZ-006", "identity", "mandatory", "Blob data roles are scoped to one container",
         "A model identity with Blob data access on the whole account reads every other team's weights and data.",
         (), "resource", blob_role_on_container, (ROLE_ASSIGNMENT,)),
]
