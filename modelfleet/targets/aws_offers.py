"""Catalog lookups shared by the AWS targets (EKS node groups and SageMaker endpoints).

Contract:
- `choose_offer(spec, stack, platform, spot)` → `modelfleet.targets.offers.choose_offer` for
  the AWS platforms ("ec2" for EKS nodes, "sagemaker").
- `shape_key(instance_type, spot)` → a DNS-safe pool key, e.g. `g5-xlarge` / `g5-xlarge-spot`.
- `partition(region)` → the ARN partition of a region (aws, aws-us-gov, aws-cn).
"""

from __future__ import annotations

import re

from modelfleet.catalog import Offer
from modelfleet.environment import AnyStack
from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec
from modelfleet.targets import offers


def choose_offer(spec: ModelSpec, stack: AnyStack, platform: str, spot: bool) -> tuple[Offer | None, list[Diagnostic]]:
    """The cheapest fitting offer in the stack's region, or None with an error diagnostic."""
    where = "SageMaker endpoint instance type" if platform == "sagemaker" else "EC2 instance type for EKS nodes"
    return offers.choose_offer(spec, stack, platform, spot, where, "aws:region")


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
