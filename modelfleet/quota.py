"""Planned peak capacity of a stack, and the rows `modelfleet quota` reports against the clouds' quotas.

Contract:
- `cloud_of(stack)` → "aws" (EKS, SageMaker), "azure" (AKS, Azure ML) or None (on-prem).
- `needs(sp)` → `Need`s from the offline placement (no cloud call):
  EKS: peak vCPUs per EC2 quota bucket — each GPU node group at its max size × the instance's
  vCPUs, in the bucket of its family and capacity type (G/VT or P, on-demand or spot);
  SageMaker: peak instances per endpoint instance type (Σ max replicas), quota
  "<type> for endpoint usage";
  AKS: peak vCPUs per VM size and capacity type (pool max nodes × the size's vCPUs); the cloud
  module groups sizes into the region's vCPU families (only the API knows the family of a size);
  Azure ML: peak vCPUs per VM size = ceil(1.2 × Σ max instances) × vCPUs, or Σ max × vCPUs for
  the sizes Azure exempts from its 20 % upgrade reservation (`modelfleet/data/azureml_quota.json`).
- `QuotaRow` is one line of the report: quota, what is in use now, the planned peak and
  headroom = quota − in use − planned peak (negative = short). A quota the cloud did not list is
  `None` (reported, never counted as short); usage the cloud does not publish is `None`
  (headroom then ignores it and the row says so).
- `report(stack, cloud, region, rows)` → the JSON document one stack contributes.
The cloud calls live in `modelfleet.quota_aws` and `modelfleet.quota_azure`; both raise
`QuotaError` (exit 3) with the API's error code and message.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from modelfleet.environment import AnyStack, AzureMLStack, KubernetesStack, SageMakerStack
from modelfleet.errors import EnvironmentError_
from modelfleet.placement import StackPlacement
from modelfleet.targets.aks import pool_bounds
from modelfleet.targets.eks import node_bounds

# (family class, spot) → (quota code or None, quota name, older names of the same quota) in Service
# Quotas service code "ec2"; counted in vCPUs. Names: Amazon EC2 User Guide, "On-Demand Instance quotas"
# and "Spot Instance quotas" (using-spot-limits: P spot is split into "All P4, P3 and P2 Spot Instance
# Requests" and "All P5 Spot Instance Requests"; accounts that still list "All P Spot Instance Requests",
# L-7212CCBC, are matched by that older name). Codes as `aws service-quotas list-service-quotas
# --service-code ec2` lists them; a bucket without a known code is matched by name.
EC2_BUCKETS: dict[tuple[str, bool], tuple[str | None, str, tuple[str, ...]]] = {
    ("G", False): ("L-DB2E81BA", "Running On-Demand G and VT instances", ()),
    ("P", False): ("L-417A185B", "Running On-Demand P instances", ()),
    ("G", True): ("L-3819A6DF", "All G and VT Spot Instance Requests", ()),
    ("P", True): (None, "All P4, P3 and P2 Spot Instance Requests", ("All P Spot Instance Requests",)),
    ("P5", True): (None, "All P5 Spot Instance Requests", ("All P Spot Instance Requests",)),
}


class QuotaError(EnvironmentError_):
    """A cloud API refused or failed a quota/usage call, or no credentials were found (exit 3)."""


@dataclass(frozen=True)
class Need:
    service: str  # ec2 | sagemaker | compute (Azure VMs) | azureml
    quota_code: str | None  # known code, or None to match by name
    quota_name: str  # EC2 bucket / "<type> for endpoint usage" / Azure VM size
    unit: str  # vCPUs | instances
    amount: int
    models: tuple[str, ...]
    spot: bool = False
    instance_type: str | None = None
    aliases: tuple[str, ...] = ()  # older names of the same quota, tried after quota_name


@dataclass(frozen=True)
class QuotaRow:
    service: str
    family: str  # the quota as the cloud names it (EC2 bucket, SageMaker quota, Azure vCPU family)
    unit: str
    planned: int
    models: tuple[str, ...]
    quota: float | None
    in_use: float | None
    note: str = ""

    @property
    def headroom(self) -> float | None:
        if self.quota is None:
            return None
        return self.quota - (self.in_use or 0) - self.planned

    @property
    def short(self) -> bool:
        return self.headroom is not None and self.headroom < 0

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "family": self.family, "unit": self.unit, "quota": self.quota,
                "in_use": self.in_use, "planned_peak": self.planned, "headroom": self.headroom,
                "short": self.short, "models": list(self.models), "note": self.note}


def cloud_of(stack: AnyStack) -> str | None:
    if isinstance(stack, SageMakerStack):
        return "aws"
    if isinstance(stack, AzureMLStack):
        return "azure"
    if isinstance(stack, KubernetesStack):
        return {"eks": "aws", "aks": "azure"}.get(stack.cluster.kind)
    return None


def family_class(instance_type: str) -> str:
    """`g5.xlarge` / `vt1.3xlarge` → G; `p4d.24xlarge` → P."""
    family = instance_type.removeprefix("ml.").split(".")[0]
    return "P" if family.startswith("p") else "G"


def ec2_bucket(instance_type: str, spot: bool) -> tuple[str, bool]:
    """The EC2_BUCKETS key of a node shape: P5 instances have a spot quota of their own."""
    cls = family_class(instance_type)
    if cls == "P" and spot and instance_type.split(".")[0].startswith("p5"):
        return ("P5", True)
    return (cls, spot)


@lru_cache(maxsize=1)
def azureml_reservation() -> tuple[float, frozenset[str]]:
    """(upgrade reservation factor, VM sizes exempt from it), lower-cased sizes."""
    data = json.loads(resources.files("modelfleet.data").joinpath("azureml_quota.json").read_text(encoding="utf-8"))
    return float(data["reservation_factor"]), frozenset(s.lower() for s in data["exempt_vm_sizes"])


def azureml_vcpus(vm_size: str, instances: int, vcpus: int) -> int:
    """vCPUs of Azure ML quota `instances` of `vm_size` hold: ceil(1.2 × instances) × vCPUs, or
    instances × vCPUs for a size exempt from the upgrade reservation."""
    factor, exempt = azureml_reservation()
    count = instances if vm_size.lower() in exempt else math.ceil(round(factor * instances, 6))
    return count * vcpus


def needs(sp: StackPlacement) -> list[Need]:
    stack = sp.stack
    if isinstance(stack, KubernetesStack) and stack.cluster.kind == "eks":
        return _eks_needs(sp)
    if isinstance(stack, KubernetesStack) and stack.cluster.kind == "aks":
        out = []
        for shape, placed in sp.shapes().values():
            assert shape.offer is not None
            nodes = pool_bounds(placed, shape.gpus_per_node)[1]
            out.append(Need("compute", None, shape.offer.instance_type, "vCPUs", nodes * int(shape.offer.vcpus),
                            tuple(p.model for p in placed), spot=shape.spot, instance_type=shape.offer.instance_type))
        return out
    if isinstance(stack, SageMakerStack):
        instances: dict[str, int] = defaultdict(int)
        models: dict[str, list[str]] = defaultdict(list)
        for p in sp.placements:
            if p.offer is not None:
                instances[p.offer.instance_type] += p.max_replicas
                models[p.offer.instance_type].append(p.model)
        return [Need("sagemaker", None, f"{t} for endpoint usage", "instances", n, tuple(models[t]), instance_type=t)
                for t, n in sorted(instances.items())]
    if isinstance(stack, AzureMLStack):
        by_size: dict[str, list[Any]] = defaultdict(list)
        for p in sp.placements:
            if p.offer is not None:
                by_size[p.offer.instance_type].append(p)
        return [Need("azureml", None, size, "vCPUs",
                     azureml_vcpus(size, sum(p.max_replicas for p in placed), int(placed[0].offer.vcpus)),
                     tuple(p.model for p in placed), instance_type=size)
                for size, placed in sorted(by_size.items())]
    return []


def _eks_needs(sp: StackPlacement) -> list[Need]:
    vcpus: dict[tuple[str, bool], int] = defaultdict(int)
    users: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for shape, placed in sp.shapes().values():
        assert shape.offer is not None
        bucket = ec2_bucket(shape.offer.instance_type, shape.spot)
        vcpus[bucket] += node_bounds(placed)[1] * int(shape.offer.vcpus)
        users[bucket].extend(p.model for p in placed)
    return [Need("ec2", EC2_BUCKETS[b][0], EC2_BUCKETS[b][1], "vCPUs", vcpus[b], tuple(users[b]), spot=b[1],
                 aliases=EC2_BUCKETS[b][2]) for b in sorted(vcpus)]


def report(stack: str, cloud: str, region: str | None, rows: list[QuotaRow]) -> dict[str, Any]:
    return {"stack": stack, "cloud": cloud, "region": region, "short": any(r.short for r in rows),
            "rows": [r.as_dict() for r in rows]}
