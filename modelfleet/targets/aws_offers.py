"""Catalog lookups shared by the AWS targets (EKS node groups and SageMaker endpoints).

Contract:
- (`modelfleet.placement.requirement_of(spec)` gives the catalog `Requirement` of ONE replica: accelerator name or minimum
  GPU memory, GPU count, vCPUs and memory, which the catalog checks after the platform reserve).
- `choose_offer(spec, stack, platform, spot)` → `(offer | None, diagnostics)`: the cheapest
  offer in the stack's region, or an error naming the model, the region and what would fit
  (closest offers here, regions that have a fitting offer).
- `shape_key(instance_type, spot)` → a DNS-safe pool key, e.g. `g5-xlarge` / `g5-xlarge-spot`.
- `partition(region)` → the ARN partition of a region (aws, aws-us-gov, aws-cn).
"""

from __future__ import annotations

import re

from modelfleet.catalog import Offer, load_catalog
from modelfleet.environment import AnyStack
from modelfleet.placement import requirement_of
from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec


def describe(offer: Offer) -> str:
    gpus = f"{offer.gpu_count}×{offer.accelerator}" if offer.accelerator else "no GPU"
    return f"{offer.instance_type} in {offer.region} ({gpus}, {offer.vcpus:g} vCPU, {offer.memory_gib:g} GiB)"


def missing_region(spec: ModelSpec, stack: AnyStack) -> Diagnostic:
    return Diagnostic("error", spec.name, "aws:region",
                      f"stack {stack.stack!r} has no aws:region, so {spec.name} cannot be placed. "
                      "To fix: add `aws:region: us-east-1` (or your region) to the stack's config")


def choose_offer(spec: ModelSpec, stack: AnyStack, platform: str, spot: bool) -> tuple[Offer | None, list[Diagnostic]]:
    """The cheapest fitting offer in the stack's region, or None with an error diagnostic."""
    if not stack.region:
        return None, [missing_region(spec, stack)]
    catalog = load_catalog()
    req = requirement_of(spec)
    offer = catalog.cheapest(platform, stack.region, req, spot=spot)
    if offer is not None:
        return offer, []
    asked = spec.resources.accelerator.label if spec.resources.accelerator else "no GPU"
    nearest = "; ".join(describe(o) for o in catalog.nearest(platform, stack.region, req)) or "none"
    regions = ", ".join(r for r in catalog.regions_with(platform, req) if r != stack.region) or "none in the catalog"
    where = "SageMaker endpoint instances" if platform == "sagemaker" else "EC2 instance types for EKS nodes"
    return None, [Diagnostic(
        "error", spec.name, "resources",
        f"no {where} in {stack.region} fit one replica of {spec.name} on stack {stack.stack!r} "
        f"({asked}, {spec.resources.cpu:g} vCPU, {spec.resources.memory_gib:g} GiB after the platform reserve). "
        f"Closest: {nearest}. Regions with a fitting offer: {regions}. "
        "To fix: change resources (accelerator, cpu, memory_gib) to one of the closest offers, deploy this model "
        "from a stack in one of those regions, or leave it out with modelfleet:models")]


def shape_key(instance_type: str, spot: bool) -> str:
    """`g5.xlarge` → `g5-xlarge` (`-spot` appended for spot pools): a label value and name part."""
    key = re.sub(r"[^a-z0-9]+", "-", instance_type.lower()).strip("-")
    return f"{key}-spot" if spot else key


def partition(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"
