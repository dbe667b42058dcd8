"""`EksGpuNodeGroup`: one EKS managed node group for one node shape (instance type + capacity type).

- GPU pools carry the taint `nvidia.com/gpu=true:NoSchedule` (only pods that tolerate it land
  there) and the labels `modelfleet.io/gpu-pool: <shape key>` / `modelfleet.io/accelerator`
  that the `ModelServer` pods select. A CPU pool (`gpu=False`, the system pool of a created
  cluster) has neither taint nor accelerator label.
- AMI: `AL2023_x86_64_NVIDIA` (drivers + container toolkit), or `BOTTLEROCKET_x86_64_NVIDIA`
  when the cluster asks for bottlerocket; CPU pools use the STANDARD / plain variants.
- Scaling bounds come from placement (`modelfleet.targets.eks.node_bounds`); SPOT capacity
  when the shape is spot.
- A launch template requires IMDSv2 with hop limit 1 and gives an encrypted gp3 volume
  sized for the image plus the model cache.
- The node role has exactly AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and
  AmazonEC2ContainerRegistryReadOnly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.common import assume_role_policy, ec2
from components.kubernetes.objects import ACCELERATOR_LABEL, GPU_TAINT, POOL_LABEL

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
AMI_TYPES = {("al2023", True): "AL2023_x86_64_NVIDIA", ("bottlerocket", True): "BOTTLEROCKET_x86_64_NVIDIA",
             ("al2023", False): "AL2023_x86_64_STANDARD", ("bottlerocket", False): "BOTTLEROCKET_x86_64"}
EKS_TAINT = {"key": GPU_TAINT["key"], "value": GPU_TAINT["value"], "effect": "NO_SCHEDULE"}  # EKS API spelling
BASE_VOLUME_GIB = 100


def volume_size_gib(model_size_gib: float) -> int:
    """Room for the serving image and two copies of the weights (cache + a new version during rollout)."""
    return BASE_VOLUME_GIB + 2 * int(-(-model_size_gib // 1))


def _version(latest: int | None) -> str:
    """The template's latest version number; "$Latest" only while it is not known yet (offline preview)."""
    return "$Latest" if latest is None else str(latest)


@dataclass(frozen=True)
class EksGpuNodeGroupArgs:
    """cluster_name; node_group_name (≤ 63); pool: shape key (label value); instance_type;
    accelerator: vocabulary name (None for a CPU pool); min_size/max_size: node bounds;
    subnet_ids; spot: SPOT capacity (default False); gpu: taint + NVIDIA AMI (default True);
    ami: al2023 | bottlerocket (default al2023); model_size_gib: largest model on the pool
    (sizes the volume, default 0); partition: ARN partition (default aws); tags."""

    cluster_name: pulumi.Input[str]
    node_group_name: str
    pool: str
    instance_type: str
    accelerator: str | None
    min_size: int
    max_size: int
    subnet_ids: pulumi.Input[list[str]]
    spot: bool = False
    gpu: bool = True
    ami: str = "al2023"
    model_size_gib: float = 0
    partition: str = "aws"
    tags: dict[str, str] = field(default_factory=dict)


class EksGpuNodeGroup(pulumi.ComponentResource):
    node_group_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EksGpuNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:EksGpuNodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
                            description=f"EKS nodes of pool {args.pool}", tags=args.tags, opts=child)
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-{policy}", role=role.name,
                                         policy_arn=f"arn:{args.partition}:iam::aws:policy/{policy}", opts=child)
            for policy in NODE_POLICIES
        ]
        # bottlerocket keeps the OS on /dev/xvda and containers/images on the /dev/xvdb data volume
        device = "/dev/xvdb" if args.ami == "bottlerocket" else "/dev/xvda"
        template = ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"modelfleet pool {args.pool}: IMDSv2 only, encrypted gp3",
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                # hop limit 1: containers cannot reach the node's instance credentials; pods use
                # EKS Pod Identity / IRSA for AWS access instead
                "http_put_response_hop_limit": 1,
            },
            block_device_mappings=[{"device_name": device, "ebs": {
                "volume_size": volume_size_gib(args.model_size_gib), "volume_type": "gp3",
                "encrypted": "true", "delete_on_termination": "true"}}],
            tag_specifications=[{"resource_type": "instance", "tags": args.tags},
                                {"resource_type": "volume", "tags": args.tags}],
            tags=args.tags,
            opts=child,
        )
        labels = {POOL_LABEL: args.pool}
        if args.accelerator:
            labels[ACCELERATOR_LABEL] = args.accelerator
        group = aws.eks.NodeGroup(  # type: ignore[call-overload]
            f"{name}-ng",
            cluster_name=args.cluster_name,
            node_group_name=args.node_group_name,
            node_role_arn=role.arn,
            subnet_ids=args.subnet_ids,
            instance_types=[args.instance_type],
            ami_type=AMI_TYPES[(args.ami, args.gpu)],
            capacity_type="SPOT" if args.spot else "ON_DEMAND",
            scaling_config={"min_size": args.min_size, "max_size": args.max_size, "desired_size": args.min_size},
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(_version)},
            labels=labels,
            taints=[EKS_TAINT] if args.gpu else [],
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=attachments,
                # the cluster autoscaler owns desired_size; IaC must not fight it on every `pulumi up`
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        self.node_group_name = group.node_group_name
        self.role_arn = role.arn
        self.register_outputs({"node_group_name": self.node_group_name, "role_arn": self.role_arn})
