"""Offers, requirements and the system reserve: the value types of the catalog.

Contract: an `Offer` is one priced machine shape (instance type / VM size) in one region of
one platform; money is `Decimal`, GPU memory is per GPU. A `Requirement` is what ONE replica
needs. `allocatable(offer)` is what is left for the model after the platform's own reserve,
and `fits(offer, req)` decides placement on that basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PLATFORMS: tuple[str, ...] = ("ec2", "sagemaker", "azure", "azureml")
KUBERNETES_NODE_PLATFORMS = frozenset({"ec2", "azure"})  # EKS / AKS worker nodes
SPOT_PLATFORMS = KUBERNETES_NODE_PLATFORMS  # managed endpoints bill on-demand only

# Managed endpoints (SageMaker, Azure ML) run the model container on a host that also runs
# the platform's agents (model download, logging and metrics sidecars) and the host OS.
# Neither vendor publishes the figure; a nominal "16 GiB" instance shows roughly 0.5 GiB
# less as MemTotal, and the agents idle well under a tenth of a core. This keeps a replica
# from being sized to 100% of the nominal machine, as on a Kubernetes node.
MANAGED_RESERVE_VCPUS = 0.1
MANAGED_RESERVE_MEMORY_GIB = 0.5

# Kubernetes kube-reserved tiers as GKE and AKS document them: (tier size, fraction).
_CPU_TIERS: tuple[tuple[float, float], ...] = (
    (1, 0.06),
    (1, 0.01),
    (2, 0.005),
    (float("inf"), 0.0025),
)
_MEMORY_TIERS: tuple[tuple[float, float], ...] = (
    (4, 0.25),
    (4, 0.20),
    (8, 0.10),
    (112, 0.06),
    (float("inf"), 0.02),
)
EVICTION_THRESHOLD_GIB = 0.1  # kubelet hard eviction (memory.available < 100Mi)


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


def _tiered(amount: float, tiers: tuple[tuple[float, float], ...]) -> float:
    reserved, left = 0.0, amount
    for size, fraction in tiers:
        take = min(left, size)
        reserved += take * fraction
        left -= take
        if left <= 0:
            break
    return reserved


def system_reserve(offer: Offer) -> tuple[float, float]:
    """(vCPUs, GiB) the platform keeps for itself on this machine."""
    if offer.platform in KUBERNETES_NODE_PLATFORMS:
        cpu = _tiered(offer.vcpus, _CPU_TIERS)
        memory = _tiered(offer.memory_gib, _MEMORY_TIERS) + EVICTION_THRESHOLD_GIB
        return cpu, memory
    return MANAGED_RESERVE_VCPUS, MANAGED_RESERVE_MEMORY_GIB


def allocatable(offer: Offer) -> tuple[float, float]:
    """(vCPUs, memory GiB) left for pods / the model container after the system reserve.

    ec2 / azure (EKS / AKS nodes): kube-reserved tiers as GKE and AKS apply them —
      CPU: 6% of the 1st core, 1% of the 2nd, 0.5% of the next 2, 0.25% of every core above 4;
      memory: 25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next
      112, 2% above 128 GiB, plus the 0.1 GiB hard-eviction threshold.
      e.g. g5.xlarge (4 vCPU, 16 GiB) -> 3.92 vCPU, 13.3 GiB.
    sagemaker / azureml: a fixed MANAGED_RESERVE_VCPUS / MANAGED_RESERVE_MEMORY_GIB.
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
