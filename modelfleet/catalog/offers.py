"""Offers, requirements and the system reserve: the value types of the catalog.

Contract: an `Offer` is one priced machine shape (instance type / VM size) in one region of
one platform; money is `Decimal`, GPU memory is per GPU. A `Requirement` is what ONE replica
needs. `allocatable(offer)` is what is left for the model after the platform's own reserve
(`reserves()`, read from modelfleet/data/system_reserve.json with its source), `fits(offer,
req)` decides placement on that basis and `why_not(offer, req)` says, shortfall by shortfall,
why an offer does not fit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources

PLATFORMS: tuple[str, ...] = ("ec2", "sagemaker", "azure", "azureml")
KUBERNETES_NODE_PLATFORMS = frozenset({"ec2", "azure"})  # EKS / AKS worker nodes
SPOT_PLATFORMS = KUBERNETES_NODE_PLATFORMS  # managed endpoints bill on-demand only


@dataclass(frozen=True)
class Reserve:
    """What a platform keeps on each machine (modelfleet/data/system_reserve.json, with its source)."""

    label: str
    source: str
    cpu_tiers: tuple[tuple[float, float], ...] = ()
    memory_tiers: tuple[tuple[float, float], ...] = ()
    eviction_gib: float = 0.0
    vcpus: float = 0.0  # fixed reserve (managed endpoints)
    memory_gib: float = 0.0


def _tiers(raw: list[list[float | None]]) -> tuple[tuple[float, float], ...]:
    return tuple((float("inf") if size is None else float(size), float(fraction or 0)) for size, fraction in raw)


@lru_cache(maxsize=1)
def reserves() -> dict[str, Reserve]:
    """Per catalog platform (ec2, azure, sagemaker, azureml), its reserve."""
    data = json.loads(resources.files("modelfleet.data").joinpath("system_reserve.json").read_text(encoding="utf-8"))
    by_platform: dict[str, Reserve] = {}
    for key, entry in data.items():
        if key.startswith("_"):
            continue
        reserve = Reserve(label=entry["label"], source=entry["_source"], cpu_tiers=_tiers(entry.get("cpu_tiers", [])),
                          memory_tiers=_tiers(entry.get("memory_tiers_gib", [])),
                          eviction_gib=float(entry.get("eviction_threshold_gib", 0)),
                          vcpus=float(entry.get("vcpus", 0)), memory_gib=float(entry.get("memory_gib", 0)))
        by_platform |= dict.fromkeys(entry["platforms"], reserve)
    return by_platform


@dataclass(frozen=True)
class Offer:
    """One priced machine shape in one region of one platform."""

    platform: str  # ec2 | sagemaker | azure | azureml
    region: str  # AWS region or Azure location
    instance_type: str  # g5.xlarge / ml.g5.xlarge / Standard_NC24ads_A100_v4
    accelerator: str | None  # vocabulary name; None for CPU-only shapes
    gpu_count: int
    gpu_memory_gib: float  # per GPU
    vcpus: float
    memory_gib: float
    ondemand_usd_hr: Decimal
    spot_usd_hr: Decimal | None  # None = unknown, or the platform has no spot
    source: str
    as_of: str
    price_kind: str = ""
    notes: str = ""

    def hourly(self, spot: bool) -> Decimal:
        """The spot price when asked for and known, else the on-demand price."""
        if spot and self.spot_usd_hr is not None:
            return self.spot_usd_hr
        return self.ondemand_usd_hr


@dataclass(frozen=True)
class Requirement:
    """What one replica needs.

    accelerator None with gpu_count > 0 means any GPU with >= min_gpu_memory_gib per GPU.
    gpu_count 0 means CPU only.
    """

    accelerator: str | None
    gpu_count: int
    min_gpu_memory_gib: float | None
    vcpus: float
    memory_gib: float


def _tiered(total: float, tiers: tuple[tuple[float, float], ...]) -> float:
    reserved, left = 0.0, total
    for size, fraction in tiers:
        take = min(left, size)
        reserved += take * fraction
        left -= take
        if left <= 0:
            break
    return reserved


def system_reserve(offer: Offer) -> tuple[float, float]:
    """(vCPUs, GiB) the platform keeps for itself on this machine."""
    reserve = reserves()[offer.platform]
    if reserve.cpu_tiers or reserve.memory_tiers:
        return _tiered(offer.vcpus, reserve.cpu_tiers), _tiered(offer.memory_gib, reserve.memory_tiers) + reserve.eviction_gib
    return reserve.vcpus, reserve.memory_gib


def allocatable(offer: Offer) -> tuple[float, float]:
    """(vCPUs, memory GiB) left for pods / the model container after the system reserve.

    ec2 / azure (EKS / AKS nodes): kube-reserved tiers as GKE documents them —
      CPU: 6% of the 1st core, 1% of the 2nd, 0.5% of the next 2, 0.25% of every core above 4;
      memory: 25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next
      112, 2% above 128 GiB, plus the 0.1 GiB hard-eviction threshold.
      e.g. g5.xlarge (4 vCPU, 16 GiB) -> 3.92 vCPU, 13.3 GiB.
    sagemaker / azureml: a fixed host reserve (0.1 vCPU, 0.5 GiB).
    The numbers and their sources live in modelfleet/data/system_reserve.json.
    """
    cpu, memory = system_reserve(offer)
    return max(offer.vcpus - cpu, 0.0), max(offer.memory_gib - memory, 0.0)


def fits(offer: Offer, req: Requirement) -> bool:
    """True when one replica of `req` fits on `offer` (GPU type, count, memory, CPU, RAM)."""
    if req.gpu_count > 0:
        if offer.accelerator is None or offer.gpu_count < req.gpu_count:
            return False
        if req.accelerator is not None and offer.accelerator != req.accelerator:
            return False
        if req.min_gpu_memory_gib is not None and offer.gpu_memory_gib < req.min_gpu_memory_gib:
            return False
    cpu, memory = allocatable(offer)
    return cpu >= req.vcpus and memory >= req.memory_gib


def why_not(offer: Offer, req: Requirement) -> list[str]:
    """Why one replica of `req` does not fit `offer`, one reason per shortfall ([] = it fits)."""
    reasons = []
    if req.gpu_count > 0:
        if offer.accelerator is None:
            return ["no GPU"]
        if req.accelerator is not None and offer.accelerator != req.accelerator:
            reasons.append(f"GPU is {offer.accelerator}, not {req.accelerator}")
        if req.min_gpu_memory_gib is not None and offer.gpu_memory_gib < req.min_gpu_memory_gib:
            reasons.append(f"{offer.gpu_memory_gib:g} GiB per GPU < {req.min_gpu_memory_gib:g} GiB")
        if offer.gpu_count < req.gpu_count:
            reasons.append(f"{offer.gpu_count} GPU{'s' if offer.gpu_count != 1 else ''} < {req.gpu_count}")
    reserved_cpu, reserved_memory = system_reserve(offer)
    cpu, memory = allocatable(offer)
    if cpu < req.vcpus:
        reasons.append(f"{amount(cpu)} vCPU left after the {amount(reserved_cpu)} vCPU reserve < {req.vcpus:g}")
    if memory < req.memory_gib:
        reasons.append(f"{amount(memory)} GiB memory left after the {amount(reserved_memory)} GiB reserve < {req.memory_gib:g} GiB")
    return reasons


def amount(value: float) -> str:
    """0.5 → "0.5", 3.9166 → "3.92": vCPU and GiB as people read them."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
