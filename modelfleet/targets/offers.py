"""The cheapest catalog offer for one replica, or an error that says what would fit — shared by
every cloud target (EKS and SageMaker on AWS, AKS and Azure ML on Azure).

Contract: `choose_offer(spec, stack, platform, spot, where, region_key)` → `(offer | None,
diagnostics)`. `where` names what was searched ("AKS nodes", "SageMaker endpoint instances");
`region_key` is the stack config key of the region (`aws:region`, `azure-native:location`).
The error names the model, the stack, the region, the closest offers with their price, and
the regions where one fits.

Spot (node pools on EKS and AKS): the data source is modelfleet's catalog (built from the
bundled price snapshots and `catalog refresh`). `spot_market(offer)` is True when the catalog
lists a spot price for the shape in its region, False when the row's own table (source and
price kind) lists spot prices for other shapes in that region but none for this one (the table
had no spot meter to price: `catalog refresh` reads Azure Retail Prices, which list a Spot meter
wherever spot is sold; the bundled N-series table gave H100 sizes no spot price of their own),
None when that table carries no spot data there (the EC2 GPU snapshot, sizes priced from the
Azure ML SKU table). With spot asked for, shapes
with no spot market are passed over; when every fitting shape lacks one, that is an error on
the model's `spot` field naming the shapes that have a spot market.

`explain_choice(offer, spec, spot)` says why an offer was chosen: the requirement, the platform
reserve that applies (modelfleet/data/system_reserve.json, with its source), and a price-ordered
table — the nearest cheaper offers passed over, each with why, the chosen one, the next fitting
ones — as SkyPilot's optimizer prints its candidates. Preview shows it per model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modelfleet.catalog import Catalog, Offer, Requirement, load_catalog
from modelfleet.catalog.catalog import normalize, price_key
from modelfleet.catalog.offers import SPOT_PLATFORMS, amount, reserves, system_reserve, why_not
from modelfleet.environment import AnyStack
from modelfleet.placed import Placement, requirement_of
from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec

EXAMPLE_REGION = {"aws:region": "us-east-1", "azure-native:location": "eastus"}


def describe(offer: Offer, spot: bool = False) -> str:
    gpus = f"{offer.gpu_count}×{offer.accelerator}, " if offer.accelerator else "no GPU, "
    return (f"{offer.instance_type} in {offer.region} ({gpus}{offer.vcpus:g} vCPU, {offer.memory_gib:g} GiB, "
            f"${offer.hourly(spot)}/h)")


def missing_region(spec: ModelSpec, stack: AnyStack, region_key: str) -> Diagnostic:
    return Diagnostic("error", spec.name, region_key,
                      f"stack {stack.stack!r} has no {region_key}, so {spec.name} cannot be placed or priced. "
                      f"To fix: add `{region_key}: {EXAMPLE_REGION.get(region_key, '<region>')}` (or yours) "
                      "to the stack's config")


def choose_offer(spec: ModelSpec, stack: AnyStack, platform: str, spot: bool, where: str,
                 region_key: str) -> tuple[Offer | None, list[Diagnostic]]:
    """The cheapest offer fitting one replica in the stack's region, or None with an error."""
    if not stack.region:
        return None, [missing_region(spec, stack, region_key)]
    catalog = load_catalog()
    req = requirement_of(spec)
    offer = catalog.cheapest(platform, stack.region, req, spot=spot)
    if offer is not None and spot and spec.resources.accelerator is not None and platform in SPOT_PLATFORMS:
        return _with_spot_market(spec, stack, catalog, offer, where)
    if offer is not None:
        return offer, []
    asked = spec.resources.accelerator.label if spec.resources.accelerator else "no GPU"
    nearest = "; ".join(describe(o, spot) for o in catalog.nearest(platform, stack.region, req)) or "none"
    regions = ", ".join(r for r in catalog.regions_with(platform, req) if r != stack.region) or "none in the catalog"
    return None, [Diagnostic(
        "error", spec.name, "resources",
        f"no {where} in {stack.region} fits one replica of {spec.name} on stack {stack.stack!r} "
        f"({asked}, {spec.resources.cpu:g} vCPU, {spec.resources.memory_gib:g} GiB after the platform reserve). "
        f"Nearest offers: {nearest}. Regions with a fitting offer: {regions}. "
        "To fix: change resources (accelerator, cpu, memory_gib) to fit one of the nearest offers, deploy this "
        "model from a stack in one of those regions, or leave it out with modelfleet:models")]


def spot_market(offer: Offer, catalog: Catalog) -> bool | None:
    """Whether the shape is sold as spot in its region: True, False, or None (unknown)."""
    if offer.spot_usd_hr is not None:
        return True
    # one table = same source and price kind: rows priced from the Azure ML SKU table share the
    # source of the skypilot VM table they took the price from, but never carried its spot column
    same_source = [o for o in catalog.offers(offer.platform, offer.region)
                   if (o.source, o.price_kind) == (offer.source, offer.price_kind)]
    return False if any(o.spot_usd_hr is not None for o in same_source) else None


def _with_spot_market(spec: ModelSpec, stack: AnyStack, catalog: Catalog, cheapest: Offer,
                      where: str) -> tuple[Offer | None, list[Diagnostic]]:
    if spot_market(cheapest, catalog) is not False:
        return cheapest, []
    req = requirement_of(spec)
    fitting = [o for o in catalog.offers(cheapest.platform, cheapest.region) if catalog.fits(o, req)]
    with_market = sorted((o for o in fitting if spot_market(o, catalog) is not False), key=lambda o: price_key(o, True))
    if with_market:
        return with_market[0], []
    region = cheapest.region
    spot_shapes = [o for o in catalog.offers(cheapest.platform, region, spec.resources.accelerator.name
                                             if spec.resources.accelerator and spec.resources.accelerator.name else None)
                   if spot_market(o, catalog)]
    spot_shapes = spot_shapes or [o for o in catalog.offers(cheapest.platform, region) if o.accelerator and spot_market(o, catalog)]
    allowed = "; ".join(describe(o, True) for o in sorted(spot_shapes, key=lambda o: price_key(o, True))[:3]) or "none"
    fits = ", ".join(sorted({o.instance_type for o in fitting}))
    return None, [Diagnostic(
        "error", spec.name, "spot",
        f"spot: true, but no {where} that fits {spec.name} has a spot market in {region} on stack {stack.stack!r} "
        f"(fitting: {fits}; the catalog lists spot prices in {region} for other sizes but none for these). "
        f"Sizes with a spot market there: {allowed}. To fix: set spot: false for this environment, or change "
        "resources.accelerator to one of those sizes' GPUs, or deploy from a region where the size is sold as spot "
        f"(`modelfleet catalog --platform {'aks' if cheapest.platform == 'azure' else 'eks'} --accelerator "
        f"{spec.resources.accelerator.label if spec.resources.accelerator else 'GPU'}` lists spot prices per region)")]


# --- why this instance ------------------------------------------------------------------------------

WHERE = {"ec2": "EC2 instance types for EKS nodes", "sagemaker": "SageMaker endpoint instance types",
         "azure": "VM sizes for AKS nodes", "azureml": "Azure ML managed online endpoint VM sizes"}


def _row(offer: Offer, spot: bool, *, chosen: bool = False, why_not: str | None = None) -> dict[str, Any]:
    return {"instance_type": offer.instance_type, "accelerator": offer.accelerator, "gpu_count": offer.gpu_count,
            "gpu_memory_gib": offer.gpu_memory_gib, "vcpus": offer.vcpus, "memory_gib": offer.memory_gib,
            "hourly_usd": str(offer.hourly(spot)), "chosen": chosen, "fits": why_not is None, "why_not": why_not}


def _needs(req: Requirement) -> str:
    if req.gpu_count == 0:
        gpu = "no GPU"
    elif req.accelerator:
        gpu = f"{req.gpu_count}×{req.accelerator}"
    else:
        gpu = f"{req.gpu_count}×GPU ≥{req.min_gpu_memory_gib:g} GiB"
    return f"{gpu}, {req.vcpus:g} vCPU, {req.memory_gib:g} GiB"


def explain_choice(offer: Offer, spec: ModelSpec, spot: bool, *, rejected: int = 5, above: int = 2) -> dict[str, Any]:
    """Why `offer` serves one replica of `spec`: the requirement, the platform reserve (with its
    source), and a price-ordered table of the nearest cheaper offers passed over (with why) and
    the next fitting ones — the offers a reviewer would ask about."""
    catalog = load_catalog()
    req = normalize(requirement_of(spec))
    use_spot = spot and offer.platform in SPOT_PLATFORMS
    pool = sorted((o for o in catalog.offers(offer.platform, offer.region) if req.gpu_count == 0 or o.accelerator),
                  key=lambda o: price_key(o, use_spot))
    at = next((i for i, o in enumerate(pool) if o.instance_type == offer.instance_type), len(pool))
    passed_over = []
    for o in pool[:at]:
        reasons = why_not(o, req)
        if not reasons and use_spot and spot_market(o, catalog) is False:
            reasons = [f"not sold as spot in {o.region}"]
        if not reasons:  # same price: the tie-break (fewer GPUs, fewer vCPUs, name) chose
            reasons = ["same price; ties go to fewer GPUs, then fewer vCPUs, then the name"]
        passed_over.append(_row(o, use_spot, why_not="; ".join(reasons)))
    next_fitting = [o for o in pool[at + 1:] if not why_not(o, req)][:above]
    reserve = reserves()[offer.platform]
    reserved_cpu, reserved_memory = system_reserve(offer)
    fitting = sum(1 for o in pool if not why_not(o, req))
    price = f"${offer.hourly(use_spot)}/h{' spot' if use_spot else ''}"
    where = WHERE.get(offer.platform, "offers")
    among = f"the cheapest of {fitting} {where}" if fitting > 1 else f"the only one of the {where}"
    reason = (f"{among} in {offer.region} that fit one replica ({_needs(req)}) after {reserve.label} "
              f"({amount(reserved_cpu)} vCPU, {amount(reserved_memory)} GiB on {offer.instance_type})")
    return {"model": spec.name, "platform": offer.platform, "region": offer.region, "instance_type": offer.instance_type,
            "hourly_usd": str(offer.hourly(use_spot)), "spot": use_spot, "price": price, "needs": _needs(req), "reason": reason,
            "reserve": {"what": reserve.label, "vcpus": round(reserved_cpu, 4), "memory_gib": round(reserved_memory, 4),
                        "source": reserve.source},
            "candidates": [*(passed_over[-rejected:] if rejected else []), _row(offer, use_spot, chosen=True),
                           *(_row(o, use_spot) for o in next_fitting)]}


def explain_placements(placements: Iterable[Placement]) -> list[dict[str, Any]]:
    """`explain_choice` for every placement whose machine the catalog chose (SageMaker and Azure ML
    instances, EKS/AKS GPU node sizes); on-prem nodes and general-purpose node pools are not chosen."""
    return [explain_choice(p.offer, p.spec, p.shape.spot if p.shape is not None else False)
            for p in placements
            if p.offer is not None and (p.shape is not None or p.target in ("sagemaker", "azureml"))]
