"""AKS: models run as Kubernetes workloads on GPU agent pools sized from the Azure VM catalog.

Placement picks, per model, the cheapest Azure VM size (catalog platform "azure") in the
stack's `azure-native:location` that fits one replica — accelerator by name or by minimum
GPU memory, GPU count, and vCPU/memory left after the kubelet reserve — at the spot price
when the spec asks for spot. Models with the same VM size and priority share one agent
pool (`NodeShape.key`); CPU-only models run on the cluster's general-purpose nodes.

The helpers `choose_offer` and `accelerator_diagnostics` are shared with the
Azure ML target: both places speak the same accelerator vocabulary and give the same
"what would fit instead" answers.
"""

from __future__ import annotations

import math
import re
from typing import ClassVar

from modelfleet import catalog
from modelfleet.catalog import Offer
from modelfleet.environment import AksCluster, AnyStack, KubernetesStack
from modelfleet.naming import short_hash
from modelfleet.placed import NodeShape, Placement, StackPlacement, placement_for
from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec
from modelfleet.targets import offers
from modelfleet.targets.kubernetes import engine_diagnostics
from modelfleet.targets.kubernetes_rollout import KubernetesRollouts

AGENT_POOL_MAX = 12  # Linux agent pool names: 1-12 lowercase alphanumerics, starting with a letter
AGENT_POOL_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")


def private_api_server(stack: KubernetesStack) -> bool:
    """A created cluster's API server is private unless the stack says otherwise; production defaults to private."""
    assert isinstance(stack.cluster, AksCluster)
    return stack.cluster.private if stack.cluster.private is not None else stack.production


def api_server_diagnostics(stack: KubernetesStack) -> list[Diagnostic]:
    """Production clusters the stack creates have a private API server (Private Link, "Create a private Azure
    Kubernetes Service cluster", learn.microsoft.com/azure/aks/private-clusters), or a public one limited
    to CIDRs the stack names (apiServerAccessProfile.authorizedIPRanges, "API server authorized IP ranges")."""
    cluster = stack.cluster
    assert isinstance(cluster, AksCluster)
    if not cluster.create:
        return []
    private = private_api_server(stack)
    if private and cluster.authorized_ip_ranges:
        return [Diagnostic("error", "", "modelfleet:cluster.authorized_ip_ranges",
                           "authorized_ip_ranges limit a public API server; a private cluster's API server has only a private "
                           "address. To fix: drop authorized_ip_ranges, or set private: false to keep a public server limited to them")]
    if not private and stack.production and not cluster.authorized_ip_ranges:
        return [Diagnostic("error", "", "modelfleet:cluster.private",
                           f"a production cluster the stack creates gets a private API server; private: false would open "
                           f"cluster {cluster.name!r}'s API server to the internet. To fix: remove private: false, or name the "
                           "networks allowed to reach it in modelfleet:cluster.authorized_ip_ranges")]
    if private:
        return [Diagnostic("warning", "", "modelfleet:cluster.private",
                           f"cluster {cluster.name!r} gets a private API server (Private Link, no public address): `pulumi up`, "
                           "`modelfleet smoke` and kubectl reach it only from a network that routes to the cluster's virtual "
                           "network and resolves its private DNS zone — a runner in that VNet, a peered VNet, or VPN/ExpressRoute; "
                           "`az aks command invoke` runs single commands without one")]
    return []


def accelerator_diagnostics(spec: ModelSpec, platform: str) -> list[Diagnostic]:
    """An error when the spec names a GPU Azure does not sell, with the Azure equivalent."""
    acc = spec.resources.accelerator
    if acc is None or acc.name is None:
        return []
    known = catalog.accelerator(acc.name)
    if "azure" in known.clouds:
        return []
    azure = [a for a in (catalog.accelerator(n) for n in catalog.ACCELERATOR_NAMES) if "azure" in a.clouds]
    roomy = sorted((a for a in azure if a.memory_gib >= known.memory_gib), key=lambda a: (a.memory_gib, a.name))
    equivalent = roomy[0] if roomy else max(azure, key=lambda a: a.memory_gib)
    memory = f"{known.memory_gib:g}"
    return [Diagnostic(
        "error", spec.name, "resources.accelerator",
        f"{known.name} is not sold on Azure ({', '.join(known.clouds)} only), so no {platform} VM size carries it. "
        f"The Azure equivalent with {equivalent.memory_gib:g} GiB per GPU is {equivalent.name}. "
        f"To fix: ask for `accelerator: {{min_memory_gib: {memory}, count: {acc.count}}}` (portable: it places on "
        f"{known.name} on AWS and {equivalent.name} on Azure) or `{equivalent.name}:{acc.count}`, "
        "or leave the model out of this stack with modelfleet:models")]


def choose_offer(spec: ModelSpec, stack: AnyStack, platform: str, spot: bool) -> tuple[Offer | None, list[Diagnostic]]:
    """The cheapest offer fitting one replica in the stack's location, or an error naming what would fit."""
    where = "Azure ML managed online endpoints VM size" if platform == "azureml" else "AKS nodes VM size"
    return offers.choose_offer(spec, stack, platform, spot, where, "azure-native:location")


def shape_key(offer: Offer, spot: bool) -> str:
    """DNS-safe pool key from the VM size: Standard_NV36ads_A10_v5 → nv36ads-a10-v5[-spot]."""
    base = re.sub(r"[^a-z0-9]+", "-", offer.instance_type.lower().removeprefix("standard_")).strip("-")
    return f"{base}-spot" if spot else base


def agent_pool_name(stack: str, key: str) -> str:
    """≤ 12 lowercase alphanumerics starting with a letter, unique per (stack, shape).

    A readable head from the shape key plus a hash of stack and key: two stacks sharing a
    cluster (dev and staging on one AKS) never fight over one pool."""
    head = re.sub(r"[^a-z0-9]", "", key.lower()).lstrip("0123456789")[:AGENT_POOL_MAX - 6] or "gpu"
    return f"{head}{short_hash(f'{stack}/{key}', AGENT_POOL_MAX - len(head))}"


def pool_bounds(placements: list[Placement], gpus_per_node: int) -> tuple[int, int]:
    """(min, max) nodes: ceil(Σ replica bounds × GPUs per replica ÷ GPUs per node); max ≥ 1."""
    per_node = max(gpus_per_node, 1)
    low = math.ceil(sum(p.min_replicas * p.gpus_per_replica for p in placements) / per_node)
    high = math.ceil(sum(p.max_replicas * p.gpus_per_replica for p in placements) / per_node)
    return low, max(high, low, 1)


class AksTarget(KubernetesRollouts):
    NAME = "aks"
    UNSUPPORTED: ClassVar[dict[str, str]] = {}

    def place(self, spec: ModelSpec, stack: AnyStack) -> Placement:
        assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, AksCluster)
        diagnostics = engine_diagnostics(spec, stack.serving, stack.addons.argo_rollouts is not None)
        diagnostics += accelerator_diagnostics(spec, "AKS")
        acc = spec.resources.accelerator
        offer: Offer | None = None
        shape: NodeShape | None = None
        names: dict[str, str] = {"service": f"{spec.name}.{spec.name}.svc.cluster.local"}
        if not any(d.level == "error" and d.field == "resources.accelerator" for d in diagnostics):
            offer, problems = choose_offer(spec, stack, "azure", spot=spec.spot)
            diagnostics += problems
        if offer is not None and acc is not None:
            key = shape_key(offer, spec.spot)
            shape = NodeShape(key=key, accelerator=offer.accelerator, gpus_per_node=offer.gpu_count, spot=spec.spot, offer=offer)
            names["agent_pool"] = agent_pool_name(stack.stack, key)
        if spec.spot and acc is not None and offer is not None and offer.spot_usd_hr is None:
            diagnostics.append(Diagnostic("warning", spec.name, "spot",
                                          f"the catalog has no spot price for {offer.instance_type} in {offer.region}; "
                                          "the pool is created as Spot (max price = on-demand) and priced on-demand in previews"))
        return placement_for(spec, stack, self.NAME, accelerator=offer.accelerator if offer else (acc.name if acc else None),
                             gpus_per_replica=acc.count if acc else 0, shape=shape, offer=offer, names=names,
                             diagnostics=diagnostics)

    def check_stack(self, stack: AnyStack, placements: list[Placement]) -> list[Diagnostic]:
        assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, AksCluster)
        cluster, out = stack.cluster, []
        if not cluster.create and not (cluster.name and cluster.resource_group):
            out.append(Diagnostic("error", "", "modelfleet:cluster",
                                  "an existing AKS cluster is looked up by name and resource group. "
                                  "To fix: set modelfleet:cluster.name and .resource_group, or create: true"))
        if cluster.create and not cluster.name:
            out.append(Diagnostic("error", "", "modelfleet:cluster.name",
                                  "a created AKS cluster needs a name. To fix: set modelfleet:cluster.name"))
        if cluster.private and not cluster.create:
            out.append(Diagnostic("warning", "", "modelfleet:cluster.private",
                                  "private only applies when the stack creates the cluster; the existing cluster's API server is left as is"))
        out += api_server_diagnostics(stack)
        sp = StackPlacement(stack, tuple(placements), ())
        for key, (shape, users) in sp.shapes().items():
            low, high = pool_bounds(users, shape.gpus_per_node)
            if high > 1000:
                out.append(Diagnostic("error", ", ".join(p.model for p in users), "autoscaling.max_replicas",
                                      f"agent pool {key} would need {high} nodes; AKS caps a pool at 1000. "
                                      "To fix: lower max_replicas"))
        return out
