"""`modelfleet catalog refresh`: re-price the catalog from the live AWS and Azure APIs.

Contract: `refresh(out_dir, clouds=..., pricing_client=..., azure_base_url=..., regions=...)`
fetches everything first and writes only after every request succeeded, each file through
a temporary sibling + `os.replace`; any failure raises `CatalogError` and leaves the old
files byte-identical. Refreshed regions replace their old rows; other regions' rows are
kept. Hardware shapes (GPU, vCPU, RAM) come from the existing catalog — refresh changes
prices and dates, not the machine list. Regions with a hyphen are AWS, others Azure.

The Price List has no spot prices, so a refreshed EC2 row keeps the previous catalog's spot
price when there was one, and says so in `notes`.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from modelfleet.catalog.accelerators import DATA_DIR
from modelfleet.catalog.build_snapshots import AZUREML_BILLING
from modelfleet.catalog.catalog import clear_cache, load_catalog
from modelfleet.catalog.files import offers_file, write_offers
from modelfleet.catalog.offers import PLATFORMS, Offer
from modelfleet.catalog.refresh_aws import PRICING_REGION, fetch_ec2, fetch_sagemaker
from modelfleet.catalog.refresh_azure import DEFAULT_BASE_URL, fetch_vm_prices
from modelfleet.errors import CatalogError

CLOUDS = ("aws", "azure")


def _shapes(offers: Iterable[Offer]) -> dict[str, Offer]:
    """One hardware template per instance type (the first seen; hardware is per type)."""
    shapes: dict[str, Offer] = {}
    for offer in offers:
        shapes.setdefault(offer.instance_type, offer)
    return shapes


def azureml_shapes(directory: Path, vm_shapes: dict[str, Offer]) -> dict[str, Offer]:
    """Azure ML accepts only the sizes in azureml_skus.csv that a whole replica can use."""
    path = directory / "azureml_skus.csv" if (directory / "azureml_skus.csv").exists() else DATA_DIR / "azureml_skus.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        accepted = {row["vm_size"] for row in csv.DictReader(handle) if row["offered"] == "yes"}
    return {size: shape for size, shape in vm_shapes.items() if size in accepted}


def _merge(old: list[Offer], new: list[Offer], refreshed_regions: set[str]) -> list[Offer]:
    kept = [o for o in old if o.region not in refreshed_regions]
    return kept + new


def _carry_spot(new: list[Offer], old: list[Offer]) -> list[Offer]:
    previous = {(o.region, o.instance_type): o for o in old}
    carried = []
    for offer in new:
        before = previous.get((offer.region, offer.instance_type))
        if before is not None and before.spot_usd_hr is not None:
            note = f"spot carried from the previous catalog (as_of {before.as_of}); the Price List has no spot"
            offer = replace(offer, spot_usd_hr=before.spot_usd_hr, notes=note)
        carried.append(offer)
    return carried


def _as_azureml(vm: Offer) -> Offer:
    return replace(vm, platform="azureml", spot_usd_hr=None, notes=AZUREML_BILLING)


def _split_regions(
    regions: Sequence[str] | None,
) -> tuple[list[str] | None, list[str] | None]:
    if not regions:
        return None, None
    return [r for r in regions if "-" in r], [r for r in regions if "-" not in r]


def _require(offers: list[Offer], platform: str, regions: list[str]) -> list[Offer]:
    if regions and not offers:
        raise CatalogError(
            f"refresh found no {platform} prices for {', '.join(regions)}. To fix: check the region names "
            "and the API's availability; the existing catalog was left unchanged."
        )
    return offers


def refresh(
    out_dir: Path = DATA_DIR,
    *,
    clouds: Sequence[str] = CLOUDS,
    pricing_client: Any = None,
    azure_base_url: str = DEFAULT_BASE_URL,
    regions: Sequence[str] | None = None,
    today: str | None = None,
) -> dict[str, int]:
    """Re-price `clouds` in `out_dir`; returns rows written per platform file."""
    unknown = sorted(set(clouds) - set(CLOUDS))
    if unknown:
        raise CatalogError(f"unknown cloud {', '.join(unknown)}. To fix: use aws, azure or all.")
    today = today or dt.date.today().isoformat()
    source_dir = out_dir if all(offers_file(out_dir, p).exists() for p in ("ec2", "sagemaker", "azure")) else DATA_DIR
    current = load_catalog(source_dir)
    aws_regions, azure_regions = _split_regions(regions)
    tables: dict[str, tuple[list[Offer], list[Offer]]] = {}

    if "aws" in clouds:
        client = pricing_client or _default_pricing_client()
        for platform, fetch in (("ec2", fetch_ec2), ("sagemaker", fetch_sagemaker)):
            old = current.offers(platform)
            wanted = aws_regions if aws_regions is not None else current.regions(platform)
            new = _require(fetch(client, wanted, _shapes(old), today), platform, wanted)
            tables[platform] = (
                old,
                _carry_spot(new, old) if platform == "ec2" else new,
            )

    if "azure" in clouds:
        old_vm, old_ml = current.offers("azure"), current.offers("azureml")
        wanted = azure_regions if azure_regions is not None else current.regions("azure")
        vm_shapes = _shapes(old_vm + old_ml)
        prices = fetch_vm_prices(azure_base_url, wanted, vm_shapes, today)
        new_vm = _require(prices, "azure", wanted)
        ml_sizes = azureml_shapes(source_dir, vm_shapes)
        new_ml = [_as_azureml(o) for o in new_vm if o.instance_type in ml_sizes]
        tables["azure"] = (old_vm, new_vm)
        tables["azureml"] = (old_ml, new_ml)

    written = {}
    for platform, (old, new) in tables.items():  # every fetch succeeded: now write
        # Only regions that returned prices are replaced: an empty answer keeps old rows.
        merged = _merge(old, new, {o.region for o in new})
        write_offers(offers_file(out_dir, platform), merged)
        written[platform] = len(merged)
    for platform in PLATFORMS:  # a fresh --out directory still gets a whole catalog
        if platform not in tables and not offers_file(out_dir, platform).exists():
            write_offers(offers_file(out_dir, platform), current.offers(platform))
    clear_cache()
    return written


def _default_pricing_client() -> Any:
    try:
        import boto3
    except ImportError as e:
        raise CatalogError("boto3 is not installed. To fix: install modelfleet with the aws extra.") from e
    return boto3.client("pricing", region_name=PRICING_REGION)
