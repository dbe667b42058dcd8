"""Live Azure prices: the Azure Retail Prices REST API (no auth, OData `$filter`, paged).

Contract: `retail_items(base_url, odata_filter)` yields every item of every page, following
`NextPageLink` until it is null; any HTTP or JSON failure raises `CatalogError`.
`fetch_vm_prices(base_url, regions, shapes, today)` prices the known VM sizes per region
(Linux pay-as-you-go on-demand + spot; Windows and low-priority meters ignored). The base
URL is a parameter so tests can serve pages from a loopback server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from modelfleet.catalog.offers import Offer
from modelfleet.errors import CatalogError

DEFAULT_BASE_URL = "https://prices.azure.com/api/retail/prices"
SOURCE = "Azure Retail Prices API"
SIZES_PER_QUERY = 15  # OR-ed armSkuName terms per request; keeps URLs well under limits
TIMEOUT_S = 30


def _get_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, ValueError) as e:
        raise CatalogError(
            f"Azure Retail Prices request failed ({url}): {e}. To fix: check network access to "
            "prices.azure.com and retry; the existing catalog was left unchanged."
        ) from e


def retail_items(base_url: str, odata_filter: str) -> Iterator[dict[str, Any]]:
    url: str | None = f"{base_url}?{urllib.parse.urlencode({'$filter': odata_filter})}"
    while url:
        page = _get_json(url)
        yield from page.get("Items", [])
        url = page.get("NextPageLink") or None


def vm_filter(region: str, sizes: Iterable[str]) -> str:
    names = " or ".join(f"armSkuName eq '{size}'" for size in sizes)
    return f"serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq '{region}' and ({names})"


def _is_linux_payg(item: Mapping[str, Any]) -> bool:
    return (
        item.get("unitOfMeasure") == "1 Hour"
        and not str(item.get("productName", "")).endswith("Windows")
        and "Low Priority" not in str(item.get("skuName", ""))
    )


def fetch_vm_prices(
    base_url: str,
    regions: Iterable[str],
    shapes: Mapping[str, Offer],
    today: str,
    platform: str = "azure",
) -> list[Offer]:
    """On-demand and spot per (region, size); a size without an on-demand meter is skipped."""
    sizes = sorted(shapes)
    offers = []
    for region in regions:
        ondemand: dict[str, tuple[str, Decimal]] = {}
        spot: dict[str, tuple[str, Decimal]] = {}
        for start in range(0, len(sizes), SIZES_PER_QUERY):
            for item in retail_items(base_url, vm_filter(region, sizes[start : start + SIZES_PER_QUERY])):
                size, price = (
                    item.get("armSkuName"),
                    Decimal(str(item.get("retailPrice", "0"))).normalize(),
                )
                if size not in shapes or not isinstance(size, str) or item.get("armRegionName") != region or price <= 0:
                    continue
                if not _is_linux_payg(item):
                    continue
                table = spot if "Spot" in str(item.get("skuName", "")) else ondemand
                dated = (str(item.get("effectiveStartDate", "")), price)
                table[size] = max(table.get(size, dated), dated)  # the newest meter wins
        for size in sorted(ondemand):
            offers.append(
                replace(
                    shapes[size],
                    platform=platform,
                    region=region,
                    ondemand_usd_hr=ondemand[size][1],
                    spot_usd_hr=spot[size][1] if size in spot else None,
                    source=SOURCE,
                    as_of=today,
                    price_kind="azure_retail_prices",
                    notes="",
                )
            )
    return offers
