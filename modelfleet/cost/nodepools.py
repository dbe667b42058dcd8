"""Node pools of EKS and AKS clusters: instance-hours × node-count bounds, priced from the catalog.

Contract:
- `aws:eks/nodeGroup:NodeGroup`: `instanceTypes[0]`, `scalingConfig.minSize/maxSize`,
  `capacityType` ON_DEMAND | SPOT, `labels`; catalog platform `ec2`, the plan's region.
- `azure-native:containerservice:AgentPool`: `vmSize`, `minCount`/`maxCount` (or `count`
  when autoscaling is off), `scaleSetPriority` Spot, `nodeLabels`; catalog platform `azure`.
- `azure-native:containerservice:ManagedCluster`: each `agentPoolProfiles[]` entry the same
  way (the system pool); a paid control-plane tier is reported unpriced.
- `aws:eks/cluster:Cluster`: the control-plane fee is not in the catalog → unpriced.
Spot uses the catalog's spot price when known, else on-demand (said in the price source).
Mappers return `NodePool`s; `attribution.attribute_pools` splits them over models.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from modelfleet.catalog import Offer
from modelfleet.cost.context import Context, dec, dig
from modelfleet.cost.model import Unpriced
from modelfleet.cost.registry import maps
from modelfleet.plan import PlannedResource

POOL_LABEL = "modelfleet.io/gpu-pool"
ACCELERATOR_LABEL = "modelfleet.io/accelerator"


@dataclass(frozen=True)
class NodePool:
    """One priced pool of identical nodes, before attribution to models."""

    resource: PlannedResource
    description: str
    unit_price: Decimal
    price_source: str
    min_nodes: Decimal
    max_nodes: Decimal
    gpus_per_node: int
    pool_label: str | None
    accelerator: str | None
    model: str | None  # a pool dedicated to one model (tagged), else None = shared by GPU share


def price_of(offer: Offer, spot: bool) -> tuple[Decimal, str, str]:
    """(hourly price, capacity word, where the price comes from)."""
    where = f"catalog {offer.platform} {offer.region} {offer.instance_type}"
    provenance = f"{offer.price_kind or 'list'}, as of {offer.as_of}" if offer.as_of else offer.price_kind or "list"
    if spot and offer.spot_usd_hr is not None:
        return offer.spot_usd_hr, "spot", f"{where} spot ({provenance})"
    if spot:
        return offer.ondemand_usd_hr, "spot", f"{where} on-demand: spot price unknown in the catalog, on-demand used as the upper bound ({provenance})"
    return offer.ondemand_usd_hr, "on-demand", f"{where} on-demand ({provenance})"


def _missing(r: PlannedResource, platform: str, instance_type: str | None, region: str | None, what: str) -> Unpriced:
    if not instance_type:
        return Unpriced(r.type, r.name, f"no {what} in the resource inputs; cannot look up a price")
    if not region:
        return Unpriced(r.type, r.name, f"{instance_type}: the stack has no region, so no {platform} price can be found. "
                                        "To fix: set aws:region / azure-native:location (or pass --region)")
    return Unpriced(r.type, r.name, f"{instance_type} is not in the {platform} catalog for {region}. "
                                    "To fix: run `modelfleet catalog refresh`, or use a size the catalog lists")


def _pool(r: PlannedResource, ctx: Context, platform: str, instance_type: str | None, lo: Decimal, hi: Decimal,
          spot: bool, labels: dict, region: str | None = None, what: str = "instance type") -> list:
    region = region or ctx.region
    offer = ctx.offer(platform, instance_type, region)
    if offer is None:
        return [_missing(r, platform, instance_type, region, what)]
    price, capacity, source = price_of(offer, spot)
    return [NodePool(resource=r, description=f"Node instance-hours ({instance_type}, {capacity})", unit_price=price,
                     price_source=source, min_nodes=lo, max_nodes=max(hi, lo), gpus_per_node=offer.gpu_count,
                     pool_label=labels.get(POOL_LABEL), accelerator=labels.get(ACCELERATOR_LABEL) or offer.accelerator,
                     model=ctx.model_of(r))]


@maps("aws:eks/nodeGroup:NodeGroup")
def eks_node_group(r: PlannedResource, ctx: Context) -> list:
    types = r.inputs.get("instanceTypes") or []
    instance_type = types[0] if types else None
    scaling = r.inputs.get("scalingConfig") or {}
    lo = dec(scaling.get("minSize"), Decimal(0))
    hi = dec(scaling.get("maxSize"), lo)
    spot = str(r.inputs.get("capacityType") or "ON_DEMAND").upper() == "SPOT"
    return _pool(r, ctx, "ec2", instance_type, lo, hi, spot, r.inputs.get("labels") or {})


def _agent_pool_bounds(profile: dict) -> tuple[Decimal, Decimal]:
    count = dec(profile.get("count"), Decimal(1))
    if profile.get("enableAutoScaling") or "minCount" in profile or "maxCount" in profile:
        lo = dec(profile.get("minCount"), count)
        return lo, dec(profile.get("maxCount"), lo)
    return count, count


@maps("azure-native:containerservice:AgentPool")
def aks_agent_pool(r: PlannedResource, ctx: Context) -> list:
    lo, hi = _agent_pool_bounds(r.inputs)
    spot = str(r.inputs.get("scaleSetPriority") or "").lower() == "spot"
    return _pool(r, ctx, "azure", r.inputs.get("vmSize"), lo, hi, spot, r.inputs.get("nodeLabels") or {}, what="vmSize")


@maps("azure-native:containerservice:ManagedCluster")
def aks_cluster(r: PlannedResource, ctx: Context) -> list:
    items: list = []
    region = r.inputs.get("location") or ctx.region
    for profile in r.inputs.get("agentPoolProfiles") or []:
        lo, hi = _agent_pool_bounds(profile)
        spot = str(profile.get("scaleSetPriority") or "").lower() == "spot"
        found = _pool(r, ctx, "azure", profile.get("vmSize"), lo, hi, spot, profile.get("nodeLabels") or {}, region, "vmSize")
        for item in found:
            if isinstance(item, NodePool):
                item = NodePool(**{**item.__dict__, "description": f"{profile.get('name', 'pool')} pool: {item.description}"})
            items.append(item)
    tier = str(dig(r.inputs, "sku", "tier") or "Free")
    if tier.lower() != "free":
        items.append(Unpriced(r.type, r.name, f"AKS {tier} tier control-plane fee: the catalog has no price for it; not included"))
    return items


@maps("aws:eks/cluster:Cluster")
def eks_cluster(r: PlannedResource, ctx: Context) -> list:
    return [Unpriced(r.type, r.name, "EKS control-plane hourly fee: the catalog has no price for it; not included")]


# Karpenter v1 NodePool fields (aws/karpenter-provider-aws v1.14.1, docs/concepts/nodepools.md)
KARPENTER_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
KARPENTER_CAPACITY_TYPE = "karpenter.sh/capacity-type"
KARPENTER_MIN_NODES = "modelfleet.io/min-nodes"


@maps("kubernetes:karpenter.sh/v1:NodePool")
def karpenter_node_pool(r: PlannedResource, ctx: Context) -> list:
    """Nodes Karpenter may launch for one pool: at least the nodes the models' min replicas need
    (the `modelfleet.io/min-nodes` annotation placement wrote; Karpenter itself keeps none), at most
    the pool's `nvidia.com/gpu` limit in whole nodes. A spot pool falls back to on-demand."""
    spec = r.inputs.get("spec") or {}
    template = (spec.get("template") or {})
    requirements = {q.get("key"): q.get("values") or [] for q in (template.get("spec") or {}).get("requirements") or []}
    types = requirements.get(KARPENTER_INSTANCE_TYPE) or []
    instance_type = types[0] if len(types) == 1 else None
    if len(types) > 1:
        return [Unpriced(r.type, r.name, f"the pool may launch any of {', '.join(types)}; modelfleet prices one "
                                         "instance type per pool")]
    capacity = requirements.get(KARPENTER_CAPACITY_TYPE) or ["on-demand"]
    spot = "spot" in capacity
    offer = ctx.offer("ec2", instance_type)
    limit = dec((spec.get("limits") or {}).get("nvidia.com/gpu"))
    lo = dec(dig(r.inputs, "metadata", "annotations", KARPENTER_MIN_NODES), Decimal(0))
    if offer is None or limit is None or not offer.gpu_count:
        hi = lo
    else:
        hi = Decimal(int(limit // offer.gpu_count))
    items = _pool(r, ctx, "ec2", instance_type, lo, hi, spot, (template.get("metadata") or {}).get("labels") or {})
    if spot and "on-demand" in capacity and offer is not None:
        items = [NodePool(**{**i.__dict__, "price_source": f"{i.price_source}; when spot is unavailable Karpenter falls "
                                                           f"back to on-demand at ${offer.ondemand_usd_hr}/h"})
                 if isinstance(i, NodePool) else i for i in items]
    return items
