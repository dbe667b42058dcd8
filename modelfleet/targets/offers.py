"""The cheapest catalog offer for one replica, or an error that says what would fit — shared by
every cloud target (EKS and SageMaker on AWS, AKS and Azure ML on Azure).

Contract: `choose_offer(spec, stack, platform, spot, where, region_key)` → `(offer | None,
diagnostics)`. `where` names what was searched ("AKS nodes", "SageMaker endpoint instances");
`region_key` is the stack config key of the region (`aws:region`, `azure-native:location`).
The error names the model, the stack, the region, the closest offers with their price, and
the regions where one fits.
"""

from __future__ import annotations

from modelfleet.catalog import Offer, load_catalog
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
