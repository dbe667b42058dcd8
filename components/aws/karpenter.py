"""Karpenter on EKS: the controller (`Karpenter`) and one GPU NodePool per node shape
(`KarpenterGpuPool`).

`Karpenter` registers, under the component:
- the node role Karpenter's instances use (`node_policies` of modelfleet/data/node_autoscalers.json)
  and an EKS access entry of type EC2_LINUX so those nodes may join the cluster;
- the interruption queue (SQS, 300 s retention, SQS-managed encryption, TLS only) and one
  EventBridge rule per interruption event (spot warnings, rebalance, health, state changes),
  so Karpenter drains a node before EC2 takes it away;
- the controller's own role, assumed by `kube-system/karpenter` the way the stack's
  `modelfleet:cluster.identity` says (EKS Pod Identity, or IRSA through the cluster's OIDC
  provider with the role ARN on the chart's ServiceAccount), with the upstream least-privilege
  policies (modelfleet/data/karpenter_controller_policy.json), each a managed policy as upstream
  ships them;
- the Helm release (OCI chart pinned in the data file), after the role's binding.
`KarpenterGpuPool` registers an `EC2NodeClass` and a `NodePool` (see
`components.aws.karpenter_config`) once the release (and its CRDs) exists.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.common import assume_role_policy, policy_json
from components.aws.karpenter_config import (
    MIN_NODES_ANNOTATION,
    NODE_CLASS_API,
    NODE_POOL_API,
    controller_values,
    node_class_spec,
    node_pool_spec,
)
from components.aws.pod_identity import controller_identity
from components.aws.workload_identity import Oidc
from modelfleet.node_autoscalers import karpenter, karpenter_policies

QUEUE_RETENTION_SECONDS = 300  # upstream cloudformation.yaml MessageRetentionPeriod


def _document(upstream: str, policies: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": policies[upstream]}, sort_keys=True)


@dataclass(frozen=True)
class KarpenterArgs:
    """cluster_name: the EKS cluster (known before it exists); cluster: its name as an Output when
    created in the same program; region; partition; identity: pod_identity | irsa (irsa needs
    oidc, the cluster's OIDC provider); tags."""

    cluster_name: str
    cluster: pulumi.Input[str]
    region: str
    partition: str = "aws"
    identity: str = "pod_identity"
    oidc: Oidc | None = None
    tags: dict[str, str] = field(default_factory=dict)


class Karpenter(pulumi.ComponentResource):
    node_role_name: pulumi.Output[str]
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:Karpenter", name, None, opts)
        data = karpenter()
        child = pulumi.ResourceOptions(parent=self)

        node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
                                 description=f"Nodes Karpenter launches in {args.cluster_name}", tags=args.tags,
                                 opts=child)
        for policy in data["node_policies"]:
            aws.iam.RolePolicyAttachment(f"{name}-node-{policy}", role=node_role.name,
                                         policy_arn=f"arn:{args.partition}:iam::aws:policy/{policy}", opts=child)
        # nodes authenticate with their instance role; the access entry maps it to system:nodes
        aws.eks.AccessEntry(f"{name}-node-access", cluster_name=args.cluster, principal_arn=node_role.arn,
                            type="EC2_LINUX", tags=args.tags, opts=child)

        queue = aws.sqs.Queue(f"{name}-interruptions", name=f"{args.cluster_name}-karpenter"[:80],
                              message_retention_seconds=QUEUE_RETENTION_SECONDS, sqs_managed_sse_enabled=True,
                              tags=args.tags, opts=child)
        aws.sqs.QueuePolicy(f"{name}-interruptions-policy", queue_url=queue.url, policy=policy_json([
            {"Sid": "EventBridgeDelivers", "Effect": "Allow",
             "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
             "Action": "sqs:SendMessage", "Resource": queue.arn},
            {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue.arn,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ]), opts=child)
        for event in data["interruption_events"]:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event['name']}-rule", description=f"Karpenter interruption handling: {event['detail_type']}",
                event_pattern=json.dumps({"source": [event["source"]], "detail-type": [event["detail_type"]]}),
                tags=args.tags, opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{event['name']}-target", rule=rule.name, arn=queue.arn,
                                       target_id="KarpenterInterruptionQueueTarget", opts=child)

        identity = controller_identity(
            f"{name}-controller", mode=args.identity, cluster_name=args.cluster, namespace=data["namespace"],
            service_account=data["service_account"], description=f"Karpenter controller of {args.cluster_name}",
            tags=args.tags, parent=self, oidc=args.oidc)
        role = identity.role
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        attachments: list[pulumi.Resource] = []
        documents = pulumi.Output.all(account, node_role.arn, queue.arn).apply(
            lambda v: karpenter_policies(Partition=args.partition, Region=args.region, AccountId=v[0],
                                         ClusterName=args.cluster_name, NodeRoleArn=v[1], QueueArn=v[2]))
        for upstream in ("NodeLifecyclePolicy", "IAMIntegrationPolicy", "EKSIntegrationPolicy", "InterruptionPolicy",
                         "ResourceDiscoveryPolicy"):
            policy = aws.iam.Policy(
                f"{name}-{upstream}", description=f"Karpenter controller ({upstream}) for {args.cluster_name}",
                policy=documents.apply(functools.partial(_document, upstream)),
                tags=args.tags, opts=child)
            attachments.append(aws.iam.RolePolicyAttachment(f"{name}-{upstream}-attach", role=role.name,
                                                            policy_arn=policy.arn, opts=child))

        self.release = k8s.helm.v3.Release(
            f"{name}-release", chart=data["chart"], version=data["version"], namespace=data["namespace"],
            values=controller_values(cluster_name=args.cluster, queue_name=queue.name,
                                     service_account=data["service_account"], annotations=identity.annotations),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*identity.ready, *attachments]))
        self.node_role_name = node_role.name
        self.register_outputs({"node_role_name": self.node_role_name, "queue": queue.name})


@dataclass(frozen=True)
class KarpenterGpuPoolArgs:
    """pool: shape key (NodePool/EC2NodeClass name suffix and label value); name: cluster-scoped
    object name; instance_type; accelerator; gpus_per_node; spot; min_nodes/max_nodes: from
    placement (`node_bounds`); node_role: the Karpenter node role name; subnet_ids; cluster_name;
    ami / ami_version: AMI alias family and pin; model_size_gib: largest model on the pool; tags."""

    pool: str
    name: str
    instance_type: str
    accelerator: str | None
    gpus_per_node: int
    spot: bool
    min_nodes: int
    max_nodes: int
    node_role: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    cluster_name: str
    ami: str = "al2023"
    ami_version: str = "latest"
    model_size_gib: float = 0
    labels: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class KarpenterGpuPool(pulumi.ComponentResource):
    def __init__(self, name: str, args: KarpenterGpuPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:KarpenterGpuPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-nodeclass", api_version=NODE_CLASS_API, kind="EC2NodeClass",
            metadata={"name": args.name, "labels": args.labels},
            spec=node_class_spec(node_role=args.node_role, subnet_ids=args.subnet_ids, cluster_name=args.cluster_name,
                                 ami=args.ami, ami_version=args.ami_version, model_size_gib=args.model_size_gib,
                                 tags=args.tags),
            opts=child)
        k8s.apiextensions.CustomResource(
            f"{name}-nodepool", api_version=NODE_POOL_API, kind="NodePool",
            metadata={"name": args.name, "labels": args.labels,
                      "annotations": {MIN_NODES_ANNOTATION: str(args.min_nodes)}},
            spec=node_pool_spec(node_class=args.name, pool=args.pool, accelerator=args.accelerator,
                                instance_type=args.instance_type, spot=args.spot, gpus_per_node=args.gpus_per_node,
                                max_nodes=args.max_nodes),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[node_class]))
        self.register_outputs({})
