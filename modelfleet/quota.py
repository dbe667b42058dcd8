"""Planned peak capacity of a stack against AWS Service Quotas.

Contract:
- `needs(sp)` → `Need`s from the offline placement (no AWS call):
  EKS: peak vCPUs per EC2 quota bucket — each GPU node group at its max size × the instance's
  vCPUs, in the bucket of its family and capacity type (G/VT or P, on-demand or spot);
  SageMaker: peak instances per endpoint instance type (Σ max replicas), quota
  "<type> for endpoint usage".
- `quota_values(client, service_code)` → {quota code and quota name: value}, the applied
  values (paginated `list_service_quotas`) over the AWS defaults.
- `compare(needs, client)` → `QuotaRow`s with the quota and headroom (quota None = not found).
The boto3 import is lazy; callers map botocore's NoCredentialsError to exit 3.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from modelfleet.environment import KubernetesStack, SageMakerStack
from modelfleet.placement import StackPlacement
from modelfleet.targets.eks import node_bounds

# (family class, spot) → (quota code, quota name) in service code "ec2"; counted in vCPUs
EC2_BUCKETS = {
    ("G", False): ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("P", False): ("L-417A185B", "Running On-Demand P instances"),
    ("G", True): ("L-3819A6DF", "All G and VT Spot Instance Requests"),
    ("P", True): ("L-7212CCBC", "All P Spot Instance Requests"),
}


@dataclass(frozen=True)
class Need:
    service: str  # Service Quotas service code: ec2 | sagemaker
    quota_code: str | None  # known code, or None to match by name
    quota_name: str
    unit: str  # vCPUs | instances
    amount: int
    models: tuple[str, ...]


@dataclass(frozen=True)
class QuotaRow:
    need: Need
    quota: float | None

    @property
    def headroom(self) -> float | None:
        return None if self.quota is None else self.quota - self.need.amount

    @property
    def short(self) -> bool:
        return self.quota is not None and self.quota < self.need.amount


def family_class(instance_type: str) -> str:
    """`g5.xlarge` / `vt1.3xlarge` → G; `p4d.24xlarge` → P."""
    family = instance_type.removeprefix("ml.").split(".")[0]
    return "P" if family.startswith("p") else "G"


def needs(sp: StackPlacement) -> list[Need]:
    stack = sp.stack
    if isinstance(stack, KubernetesStack) and stack.cluster.kind == "eks":
        vcpus: dict[tuple[str, bool], int] = defaultdict(int)
        users: dict[tuple[str, bool], list[str]] = defaultdict(list)
        for shape, placed in sp.shapes().values():
            assert shape.offer is not None
            bucket = (family_class(shape.offer.instance_type), shape.spot)
            vcpus[bucket] += node_bounds(placed)[1] * int(shape.offer.vcpus)
            users[bucket].extend(p.model for p in placed)
        return [Need("ec2", EC2_BUCKETS[b][0], EC2_BUCKETS[b][1], "vCPUs", vcpus[b], tuple(users[b])) for b in sorted(vcpus)]
    if isinstance(stack, SageMakerStack):
        instances: dict[str, int] = defaultdict(int)
        models: dict[str, list[str]] = defaultdict(list)
        for p in sp.placements:
            if p.offer is not None:
                instances[p.offer.instance_type] += p.max_replicas
                models[p.offer.instance_type].append(p.model)
        return [Need("sagemaker", None, f"{t} for endpoint usage", "instances", n, tuple(models[t]))
                for t, n in sorted(instances.items())]
    return []


def quota_values(client: Any, service_code: str) -> dict[str, float]:
    """Quota code → value and quota name → value; applied values override AWS defaults."""
    values: dict[str, float] = {}
    for operation in ("list_aws_default_service_quotas", "list_service_quotas"):
        for page in client.get_paginator(operation).paginate(ServiceCode=service_code):
            for quota in page.get("Quotas", []):
                values[quota["QuotaCode"]] = float(quota["Value"])
                values[quota["QuotaName"]] = float(quota["Value"])
    return values


def compare(wanted: list[Need], client: Any) -> list[QuotaRow]:
    by_service: dict[str, dict[str, float]] = {}
    rows = []
    for need in wanted:
        if need.service not in by_service:
            by_service[need.service] = quota_values(client, need.service)
        values = by_service[need.service]
        quota = values.get(need.quota_code or "") if need.quota_code else None
        rows.append(QuotaRow(need, quota if quota is not None else values.get(need.quota_name)))
    return rows
