"""EKS: each GPU model gets the cheapest EC2 instance type in the stack's region that fits one
replica; models sharing an instance type (and capacity type) share one managed node group.

Contract:
- `place` picks the offer from the catalog (platform `ec2`, the spot price when `spec.spot`),
  builds `NodeShape(key=<instance type, DNS-safe>, spot=spec.spot, offer=...)` and adds the
  serving engine's diagnostics (`engine_diagnostics`). CPU-only models get no shape: they run
  on the cluster's general-purpose nodes (`offer` is still set, for cost previews).
- `node_bounds(shape, placements)` → (min, max) nodes of a node group, see its docstring.
- `cluster_name(stack)` / `node_group_name(stack, shape)` — names within EKS's 63 characters.
- `check_stack` warns when the cluster's Kubernetes version is in EKS extended support or within
  90 days of the end of standard support (`modelfleet.kubernetes_versions`; past the end it is
  a stack-file error already), what the node provisioner needs from a cluster the stack does
  not create (the Pod Identity agent, or the IAM OIDC provider with identity: irsa; access
  entries for Karpenter), a warning when Karpenter
  follows the newest AMI in production, and the alert-destination check (EKS alerts are PrometheusRules routed by the
  stack's `alertmanager_receiver`; an SNS topic alone is a warning, see
  `modelfleet.alert_destinations`) and a warning per model whose spec samples data capture,
  which Kubernetes stacks do not provision.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import ClassVar

from modelfleet import kubernetes_versions
from modelfleet.catalog import allocatable
from modelfleet.environment import AnyStack, EksCluster, KubernetesStack
from modelfleet.naming import fit
from modelfleet.placed import NodeShape, Placement, placement_for
from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec
from modelfleet.targets.aws_offers import choose_offer, shape_key
from modelfleet.targets.kubernetes import engine_diagnostics
from modelfleet.targets.kubernetes_rollout import KubernetesRollouts

EKS_NAME_LIMIT = 63


def cluster_name(stack: KubernetesStack) -> str:
    assert isinstance(stack.cluster, EksCluster)
    return stack.cluster.name or fit(f"modelfleet-{stack.stack}", 100)


def node_group_name(stack: KubernetesStack, shape: NodeShape) -> str:
    return fit(f"{stack.stack}-{shape.key}", EKS_NAME_LIMIT)


def replicas_per_node(p: Placement) -> int:
    """How many replicas of `p` one node of its shape holds: GPUs, then vCPU and memory
    left after the kubelet reserve (the catalog's `allocatable`)."""
    shape = p.shape
    assert shape is not None and shape.offer is not None
    cpu, memory = allocatable(shape.offer)
    spec = p.spec.resources
    by_gpu = shape.gpus_per_node // max(p.gpus_per_replica, 1)
    return max(1, min(by_gpu, int(cpu // spec.cpu), int(memory // spec.memory_gib)))


def node_bounds(placements: list[Placement]) -> tuple[int, int]:
    """(min, max) nodes for one node group: ceil(Σ replicas ÷ replicas per node) over its models
    at min and at max replicas. When GPUs bind this is ceil(Σ replicas × GPUs per replica ÷ GPUs
    per node); a model whose CPU or memory fills the node first counts a whole node per replica.
    min may be 0 (scale-to-zero models only); max is at least 1."""
    low = sum((Fraction(p.min_replicas, replicas_per_node(p)) for p in placements), Fraction(0))
    high = sum((Fraction(p.max_replicas, replicas_per_node(p)) for p in placements), Fraction(0))
    return math.ceil(low), max(1, math.ceil(high))


class EksTarget(KubernetesRollouts):
    NAME = "eks"
    UNSUPPORTED: ClassVar[dict[str, str]] = {}

    def place(self, spec: ModelSpec, stack: AnyStack) -> Placement:
        assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, EksCluster)
        diagnostics = engine_diagnostics(spec, stack.serving, stack.addons.argo_rollouts is not None)
        request = spec.resources.accelerator
        offer, problems = choose_offer(spec, stack, "ec2", spot=spec.spot)
        diagnostics.extend(problems)
        shape = None
        if offer is not None and request is not None:
            shape = NodeShape(key=shape_key(offer.instance_type, spec.spot), accelerator=offer.accelerator,
                              gpus_per_node=offer.gpu_count, spot=spec.spot, offer=offer)
        name = spec.name
        names = {"service": f"{name}.{name}.svc.cluster.local", "cluster": cluster_name(stack)}
        if shape is not None:
            names["node_group"] = node_group_name(stack, shape)
        return placement_for(spec, stack, self.NAME, name=name, accelerator=offer.accelerator if offer and request else None,
                             gpus_per_replica=request.count if request else 0, shape=shape, offer=offer, names=names,
                             diagnostics=diagnostics)

    def check_stack(self, stack: AnyStack, placements: list[Placement]) -> list[Diagnostic]:
        assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, EksCluster)
        cluster = stack.cluster
        out: list[Diagnostic] = []
        if not cluster.create and not cluster.name:
            out.append(Diagnostic("error", "", "modelfleet:cluster.name",
                                  "an existing EKS cluster needs its name. To fix: set modelfleet:cluster.name, "
                                  "or create: true to have the stack create the cluster"))
        if cluster.version:
            found = kubernetes_versions.support("eks", cluster.version)
            on = kubernetes_versions.today()
            if found is not None and found.level(on) == "warning":
                out.append(Diagnostic("warning", "", "modelfleet:cluster.version", f"{found.message(on)}. To fix: {found.fix()}"))
        out.extend(_provisioner_notes(stack, cluster))
        out.extend(_access_notes(cluster))
        if cluster.create and len(cluster.subnet_ids) == 1:
            out.append(Diagnostic("error", "", "modelfleet:cluster.subnet_ids",
                                  "EKS needs subnets in at least two availability zones. To fix: list two or more "
                                  "private subnets, or none to have the stack create a VPC"))
        return out


def _access_notes(cluster: EksCluster) -> list[Diagnostic]:
    """API endpoint and admin settings the stack cannot honour, or that leave the endpoint open
    (production refuses 0.0.0.0/0 and missing admins in the stack file already)."""
    out = []
    if not cluster.create:
        for name in ("api_public_cidrs", "admins"):
            if getattr(cluster, name):
                out.append(Diagnostic("warning", "", f"modelfleet:cluster.{name}",
                                      f"{name} applies only to clusters the stack creates; the existing cluster's API "
                                      "endpoint and access entries are left as they are. To fix: remove it, or set them on "
                                      "the cluster itself (aws eks update-cluster-config / create-access-entry)"))
    elif any(c.endswith("/0") for c in cluster.api_public_cidrs):
        out.append(Diagnostic("warning", "", "modelfleet:cluster.api_public_cidrs",
                              "the API endpoint is reachable from the whole internet (0.0.0.0/0); production stacks refuse "
                              "this. To fix: list only your CI/VPN egress CIDRs, or none for a private endpoint"))
    return out


def _provisioner_notes(stack: KubernetesStack, cluster: EksCluster) -> list[Diagnostic]:
    """What the node provisioner needs from a cluster the stack does not create, and AMI drift."""
    out = []
    who = "Karpenter" if cluster.node_provisioner == "karpenter" else "the Cluster Autoscaler"
    if not cluster.create:
        if cluster.identity == "irsa":
            need = (f"{who} gets AWS credentials through IRSA (identity: irsa), which needs the cluster's IAM OIDC "
                    "provider registered in the account (modelfleet registers it only for clusters it creates)")
            fix = f"`eksctl utils associate-iam-oidc-provider --cluster {cluster_name(stack)} --approve` once, if it is missing"
        else:
            need = (f"{who} gets AWS credentials through EKS Pod Identity, which needs the eks-pod-identity-agent "
                    "add-on on the cluster (modelfleet installs it only on clusters it creates)")
            fix = (f"`aws eks create-addon --cluster-name {cluster_name(stack)} --addon-name eks-pod-identity-agent` "
                   "once, if the cluster lacks it")
        if cluster.node_provisioner == "karpenter":
            need += ("; Karpenter's nodes join through an EKS access entry, which needs authentication mode API or "
                     "API_AND_CONFIG_MAP")
        out.append(Diagnostic("warning", "", "modelfleet:cluster.nodes", f"{need}. To fix: {fix}"))
    if cluster.node_provisioner == "karpenter" and cluster.ami_version == "latest" and stack.production:
        out.append(Diagnostic("warning", "", "modelfleet:cluster.ami_version",
                              "Karpenter follows the newest EKS-optimized AMI (alias @latest): each AMI release drifts "
                              "and replaces every GPU node, one at a time. To fix: pin ami_version to a release tested "
                              "in staging (AL2023 vYYYYMMDD, Bottlerocket vX.Y.Z)"))
    return out
