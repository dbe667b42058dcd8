"""What `modelfleet catalog` shows: offers filtered and sorted by price, and their JSON form.

Contract: `list_offers` is pure (catalog in, list out), sorted by (on-demand price,
platform, region, instance_type); unknown accelerator or platform raises `CatalogError`.
`offers_as_json` is the stable machine output: money as decimal strings, never floats.
"""

from __future__ import annotations

from modelfleet.catalog.catalog import Catalog, check_platform
from modelfleet.catalog.files import COLUMNS
from modelfleet.catalog.offers import PLATFORMS, Offer

JSON_KEYS = tuple(column for column in COLUMNS if column != "notes")  # the catalog file columns but free-text notes


def list_offers(
    catalog: Catalog,
    accelerator: str | None = None,
    platform: str | None = None,
    region: str | None = None,
) -> list[Offer]:
    platforms = [check_platform(platform)] if platform is not None else list(PLATFORMS)
    offers = [o for p in platforms for o in catalog.offers(p, region=region, accelerator=accelerator)]
    return sorted(offers, key=lambda o: (o.ondemand_usd_hr, o.platform, o.region, o.instance_type))


def offer_as_json(offer: Offer) -> dict[str, object]:
    return {
        "platform": offer.platform,
        "region": offer.region,
        "instance_type": offer.instance_type,
        "accelerator": offer.accelerator,
        "gpu_count": offer.gpu_count,
        "gpu_memory_gib": offer.gpu_memory_gib,
        "vcpus": offer.vcpus,
        "memory_gib": offer.memory_gib,
        "ondemand_usd_hr": str(offer.ondemand_usd_hr),
        "spot_usd_hr": None if offer.spot_usd_hr is None else str(offer.spot_usd_hr),
        "price_kind": offer.price_kind,
        "source": offer.source,
        "as_of": offer.as_of,
    }


def offers_as_json(offers: list[Offer]) -> list[dict[str, object]]:
    return [offer_as_json(offer) for offer in offers]
