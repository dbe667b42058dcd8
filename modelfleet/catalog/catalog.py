"""Queries over the priced catalog: offers per platform/region, fit, cheapest placement.

Contract: `load_catalog()` reads `data/<platform>.csv` for every platform (csv module only,
cached for the package directory). `Catalog.cheapest` returns the offer that fits one
replica at the lowest `offer.hourly(spot)`, ties broken by (gpu_count, vcpus,
instance_type), so the same inputs always give the same machine. Spot is honoured only on
platforms that sell it (ec2, azure); managed endpoints always bill on-demand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from modelfleet.catalog.accelerators import DATA_DIR, accelerator
from modelfleet.catalog.files import offers_file, read_offers
from modelfleet.catalog.offers import (
    PLATFORMS,
    SPOT_PLATFORMS,
    Offer,
    Requirement,
    allocatable,
    fits,
)
from modelfleet.errors import CatalogError


def check_platform(platform: str) -> str:
    if platform not in PLATFORMS:
        raise CatalogError(
            f"unknown platform {platform!r}. To fix: use one of {', '.join(PLATFORMS)} "
            "(ec2 = EKS nodes, azure = AKS nodes, azureml = Azure ML managed online endpoints)."
        )
    return platform


def normalize(req: Requirement) -> Requirement:
    """The same requirement with its accelerator spelled canonically (aliases accepted)."""
    if req.accelerator is None:
        return req
    return replace(req, accelerator=accelerator(req.accelerator).name)


def price_key(offer: Offer, spot: bool) -> tuple[Decimal, int, float, str]:
    """The placement order: price, then fewer GPUs, fewer vCPUs, then name (deterministic)."""
    use_spot = spot and offer.platform in SPOT_PLATFORMS
    return (offer.hourly(use_spot), offer.gpu_count, offer.vcpus, offer.instance_type)


def _shortfall(offer: Offer, req: Requirement) -> tuple[float, float, float]:
    cpu, memory = allocatable(offer)
    return (
        max(req.gpu_count - offer.gpu_count, 0),
        max(req.vcpus - cpu, 0.0),
        max(req.memory_gib - memory, 0.0),
    )


class Catalog:
    """Every offer of every platform, indexed by (platform, region)."""

    def __init__(self, offers: list[Offer]) -> None:
        self._offers = sorted(
            offers,
            key=lambda o: (o.ondemand_usd_hr, o.instance_type, o.platform, o.region),
        )
        self._by_place: dict[tuple[str, str], list[Offer]] = defaultdict(list)
        self._by_name: dict[tuple[str, str, str], Offer] = {}
        for offer in self._offers:
            self._by_place[(offer.platform, offer.region)].append(offer)
            self._by_name[(offer.platform, offer.region, offer.instance_type)] = offer

    def __len__(self) -> int:
        return len(self._offers)

    def all_offers(self) -> list[Offer]:
        return list(self._offers)

    def offers(self, platform: str, region: str | None = None, accelerator: str | None = None) -> list[Offer]:
        """Offers sorted by (on-demand price, instance_type); filters are optional."""
        check_platform(platform)
        wanted = _accelerator_name(accelerator)
        pool = self._by_place.get((platform, region), []) if region is not None else self._offers
        return [o for o in pool if o.platform == platform and (wanted is None or o.accelerator == wanted)]

    def regions(self, platform: str) -> list[str]:
        check_platform(platform)
        return sorted({region for (p, region) in self._by_place if p == platform})

    def fits(self, offer: Offer, req: Requirement) -> bool:
        """GPU type/count/memory, and vCPU/RAM after the platform's reserve (see `allocatable`)."""
        return fits(offer, normalize(req))

    def cheapest(self, platform: str, region: str, req: Requirement, spot: bool = False) -> Offer | None:
        """The cheapest offer that fits one replica, or None when nothing in the region does."""
        check_platform(platform)
        req = normalize(req)
        candidates = [o for o in self._by_place.get((platform, region), []) if fits(o, req)]
        return min(candidates, key=lambda o: price_key(o, spot), default=None)

    def regions_with(self, platform: str, req: Requirement) -> list[str]:
        """Regions of `platform` where some offer fits one replica."""
        check_platform(platform)
        req = normalize(req)
        return sorted(region for (p, region), offers in self._by_place.items() if p == platform and any(fits(o, req) for o in offers))

    def nearest(self, platform: str, region: str, req: Requirement, n: int = 3) -> list[Offer]:
        """Closest offers, for error messages.

        First the same accelerator (or enough GPU memory) in this region, smallest shortfall
        first; then the cheapest fitting offer of each other region; then anything in region.
        """
        check_platform(platform)
        req = normalize(req)
        here = self._by_place.get((platform, region), [])
        same_kind = [o for o in here if _same_kind(o, req)]
        same_kind.sort(key=lambda o: (_shortfall(o, req), price_key(o, False)))
        elsewhere = [self.cheapest(platform, r, req) for r in self.regions_with(platform, req) if r != region]
        fallback = sorted(here, key=lambda o: (_shortfall(o, req), price_key(o, False)))
        chosen: list[Offer] = []
        for offer in [
            *same_kind,
            *sorted(filter(None, elsewhere), key=lambda o: price_key(o, False)),
            *fallback,
        ]:
            if offer not in chosen:
                chosen.append(offer)
            if len(chosen) == n:
                break
        return chosen

    def find(self, platform: str, region: str, instance_type: str) -> Offer | None:
        check_platform(platform)
        return self._by_name.get((platform, region, instance_type))


def _accelerator_name(name: str | None) -> str | None:
    return None if name is None else accelerator(name).name


def _same_kind(offer: Offer, req: Requirement) -> bool:
    if req.gpu_count == 0:
        return offer.accelerator is None
    if offer.accelerator is None:
        return False
    if req.accelerator is not None:
        return offer.accelerator == req.accelerator
    return req.min_gpu_memory_gib is None or offer.gpu_memory_gib >= req.min_gpu_memory_gib


def _read_directory(directory: Path) -> Catalog:
    offers: list[Offer] = []
    for platform in PLATFORMS:
        path = offers_file(directory, platform)
        if not path.exists():
            raise CatalogError(
                f"catalog file {path} is missing. To fix: run `modelfleet catalog refresh --out {directory}` "
                "or restore it from version control."
            )
        offers.extend(read_offers(path))
    return Catalog(offers)


@lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    return _read_directory(DATA_DIR)


def load_catalog(directory: Path | None = None) -> Catalog:
    """The catalog in `directory` (default: the package's data files, read once and cached)."""
    if directory is None or Path(directory).resolve() == DATA_DIR:
        return _default_catalog()
    return _read_directory(Path(directory))


def clear_cache() -> None:
    """Forget the cached default catalog (after `catalog refresh` rewrote the files)."""
    _default_catalog.cache_clear()
