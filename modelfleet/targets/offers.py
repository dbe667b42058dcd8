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
"""

from __future__ import annotations

from modelfleet.catalog import Catalog, Offer, load_catalog
from modelfleet.catalog.catalog import price_key
from modelfleet.catalog.offers import SPOT_PLATFORMS
from modelfleet.environment import AnyStack
from modelfleet.placed import requirement_of
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
