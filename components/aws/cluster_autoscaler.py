"""`ClusterAutoscaler`: the Kubernetes Cluster Autoscaler for EKS managed node groups, so GPU node
groups grow when serving pods are pending and shrink (to their placement minimum) when idle.

Registers, under the component:
- the autoscaler's role, assumed by `kube-system/cluster-autoscaler` the way the stack's
  `modelfleet:cluster.identity` says (EKS Pod Identity, or IRSA with the role ARN on the chart's
  ServiceAccount: values `rbac.serviceAccount.annotations`),
  with the permissions of the upstream AWS README (kubernetes/autoscaler
  cluster-autoscaler/cloudprovider/aws/README.md, "IAM Policy" and "Auto-Discovery Setup",
  commit 062f28a6): reads unscoped (the Describe APIs have no resource-level permissions);
  `SetDesiredCapacity` / `TerminateInstanceInAutoScalingGroup` only on the region's Auto Scaling
  groups carrying the cluster's discovery tag; `eks:DescribeNodegroup` (scale from zero: labels,
  taints and instance type of an empty managed node group) on this cluster's node groups;
- the Helm release (chart pinned in modelfleet/data/node_autoscalers.json), auto-discovering
  groups tagged `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<cluster>`
  — tags EKS puts on every managed node group's Auto Scaling group (Amazon EKS User Guide,
  managed-node-groups.adoc); the image's minor version follows the cluster's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.common import policy_json
from components.aws.pod_identity import controller_identity
from components.aws.workload_identity import Oidc
from modelfleet.node_autoscalers import autoscaler_image_tag, cluster_autoscaler

ENABLED_TAG = "k8s.io/cluster-autoscaler/enabled"


def discovery_tags(cluster_name: str) -> dict[str, str]:
    """The auto-discovery tags (CA matches on the keys; the values are EKS's)."""
    return {ENABLED_TAG: "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned"}


def autoscaler_statements(*, partition: str, region: str, cluster_name: str) -> list[dict[str, Any]]:
    return [
        {"Sid": "Discover", "Effect": "Allow", "Resource": "*", "Action": [
            "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions",
            # the README lists the SDK paginator name (…Pages); the IAM action is this one
            "ec2:GetInstanceTypesFromInstanceRequirements"]},
        {"Sid": "ScaleOwnGroups", "Effect": "Allow",
         "Resource": f"arn:{partition}:autoscaling:{region}:*:autoScalingGroup:*:autoScalingGroupName/*",
         "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Condition": {"Null": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "false"}}},
        {"Sid": "DescribeNodegroups", "Effect": "Allow", "Action": ["eks:DescribeNodegroup"],
         "Resource": f"arn:{partition}:eks:{region}:*:nodegroup/{cluster_name}/*/*"},
    ]


def autoscaler_values(*, cluster_name: pulumi.Input[str], region: str, kubernetes_version: str | None,
                      service_account: str, image: str, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    account = {"create": True, "name": service_account, **({"annotations": annotations} if annotations else {})}
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"repository": image, "tag": autoscaler_image_tag(kubernetes_version)},
        "rbac": {"serviceAccount": account},
        # least-waste: among groups that fit the pending pod, the one left with the least idle CPU and
        # memory (GPU shapes differ a lot in host size); the chart's default is random
        "extraArgs": {"expander": "least-waste"},
    }


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    """cluster_name: the EKS cluster's name; cluster: the same as an Output when created in this
    program; region; kubernetes_version: picks the image minor (None = the chart's default);
    partition; identity: pod_identity | irsa (irsa needs oidc, the cluster's OIDC provider); tags."""

    cluster_name: str
    cluster: pulumi.Input[str]
    region: str
    kubernetes_version: str | None = None
    partition: str = "aws"
    identity: str = "pod_identity"
    oidc: Oidc | None = None
    tags: dict[str, str] = field(default_factory=dict)


class ClusterAutoscaler(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:ClusterAutoscaler", name, None, opts)
        data = cluster_autoscaler()
        identity = controller_identity(
            name, mode=args.identity, cluster_name=args.cluster, namespace=data["namespace"],
            service_account=data["service_account"], description=f"Cluster Autoscaler of {args.cluster_name}",
            tags=args.tags, parent=self, oidc=args.oidc)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=identity.role.id, policy=policy_json(autoscaler_statements(
            partition=args.partition, region=args.region, cluster_name=args.cluster_name)),
            opts=pulumi.ResourceOptions(parent=self))
        k8s.helm.v3.Release(
            f"{name}-release", chart=data["chart"], version=data["version"], namespace=data["namespace"],
            repository_opts={"repo": data["repo"]},
            values=autoscaler_values(cluster_name=args.cluster, region=args.region,
                                     kubernetes_version=args.kubernetes_version,
                                     service_account=data["service_account"], image=data["image"],
                                     annotations=identity.annotations),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*identity.ready, policy]))
        self.register_outputs({})
