"""The catalog's file format: one CSV per platform, uniform columns, atomic writes.

Contract: `COLUMNS` is the header of every `data/<platform>.csv`; `read_offers` parses one
file into `Offer`s (money as `Decimal`, empty spot = unknown); `write_offers` writes rows
sorted by (region, instance_type) through a temporary file in the same directory and
`os.replace`, so a reader never sees a half-written catalog and a failure keeps the old file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from modelfleet.catalog.offers import PLATFORMS, Offer
from modelfleet.errors import CatalogError

COLUMNS: tuple[str, ...] = (
    "platform",
    "region",
    "instance_type",
    "accelerator",
    "gpu_count",
    "gpu_memory_gib",
    "vcpus",
    "memory_gib",
    "ondemand_usd_hr",
    "spot_usd_hr",
    "price_kind",
    "source",
    "as_of",
    "notes",
)


def offers_file(directory: Path, platform: str) -> Path:
    if platform not in PLATFORMS:
        raise CatalogError(f"unknown platform {platform!r}. To fix: use one of {', '.join(PLATFORMS)}.")
    return directory / f"{platform}.csv"


def _decimal(text: str, path: Path, line: int, column: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as e:
        raise CatalogError(
            f"{path}:{line}: {column} is not a number ({text!r}). To fix: rebuild the file with "
            "`python -m modelfleet.catalog.build_from_shared` or `modelfleet catalog refresh`."
        ) from e
    if value <= 0:
        raise CatalogError(f"{path}:{line}: {column} must be positive ({text!r}). To fix: correct or drop the row.")
    return value


def read_offers(path: Path) -> list[Offer]:
    """Parse one platform file; a missing or malformed price is a `CatalogError`."""
    offers: list[Offer] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise CatalogError(f"{path}: header is {reader.fieldnames}, expected {list(COLUMNS)}. To fix: rebuild the file.")
        for line, row in enumerate(reader, start=2):
            spot = row["spot_usd_hr"]
            offers.append(
                Offer(
                    platform=row["platform"],
                    region=row["region"],
                    instance_type=row["instance_type"],
                    accelerator=row["accelerator"] or None,
                    gpu_count=int(row["gpu_count"]),
                    gpu_memory_gib=float(row["gpu_memory_gib"]),
                    vcpus=float(row["vcpus"]),
                    memory_gib=float(row["memory_gib"]),
                    ondemand_usd_hr=_decimal(row["ondemand_usd_hr"], path, line, "ondemand_usd_hr"),
                    spot_usd_hr=_decimal(spot, path, line, "spot_usd_hr") if spot else None,
                    source=row["source"],
                    as_of=row["as_of"],
                    price_kind=row["price_kind"],
                    notes=row["notes"],
                )
            )
    return offers


def _number(value: float) -> str:
    # 16.0 -> "16", 0.5 -> "0.5": stable text so a refresh diff shows only real changes.
    return f"{value:g}" if value != int(value) else str(int(value))


def offer_row(offer: Offer) -> dict[str, str]:
    return {
        "platform": offer.platform,
        "region": offer.region,
        "instance_type": offer.instance_type,
        "accelerator": offer.accelerator or "",
        "gpu_count": str(offer.gpu_count),
        "gpu_memory_gib": _number(offer.gpu_memory_gib),
        "vcpus": _number(offer.vcpus),
        "memory_gib": _number(offer.memory_gib),
        "ondemand_usd_hr": str(offer.ondemand_usd_hr),
        "spot_usd_hr": "" if offer.spot_usd_hr is None else str(offer.spot_usd_hr),
        "price_kind": offer.price_kind,
        "source": offer.source,
        "as_of": offer.as_of,
        "notes": offer.notes,
    }


def render_offers(offers: Iterable[Offer]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for offer in sorted(offers, key=lambda o: (o.region, o.instance_type)):
        writer.writerow(offer_row(offer))
    return buffer.getvalue()


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary sibling + os.replace: the old file survives any failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates 0600; keep the old file's mode so a refresh does not hide the catalog.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_offers(path: Path, offers: Iterable[Offer]) -> None:
    atomic_write_text(path, render_offers(offers))
