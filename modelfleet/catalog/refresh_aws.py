"""Live AWS prices: the Price List Query API (boto3 `pricing` client, us-east-1 endpoint).

Contract: `fetch_ec2` / `fetch_sagemaker` take a pricing client, the regions to price and
the known machine shapes (instance type -> an `Offer` whose hardware is reused), page
through `get_products` with server-side filters, parse each PriceList JSON document and
return priced `Offer`s dated `today`. Hardware comes from the shapes because the Price List
has no GPU model and reports memory inconsistently (L4 = 22,888 MiB); only prices change.
Spot prices are not in the Price List; callers decide what to do about them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from modelfleet.catalog.offers import Offer
from modelfleet.errors import CatalogError

PRICING_REGION = "us-east-1"  # the Price List Query API endpoint every account can use
SOURCE = "AWS Price List Query API ({service})"
ANY_OF_CHUNK = 50  # keep each filter value short; the API caps filter values in length


def _term(field: str, value: str) -> dict[str, str]:
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def _any_of(field: str, values: Iterable[str]) -> dict[str, str]:
    return {"Type": "ANY_OF", "Field": field, "Value": ",".join(values)}


def ec2_filters(region: str, instance_types: Iterable[str]) -> list[dict[str, str]]:
    """Linux, shared tenancy, no pre-installed software, used capacity: the EKS node price."""
    return [
        _term("regionCode", region),
        _term("operatingSystem", "Linux"),
        _term("tenancy", "Shared"),
        _term("preInstalledSw", "NA"),
        _term("capacitystatus", "Used"),
        _any_of("instanceType", instance_types),
    ]


def sagemaker_filters(region: str, instance_names: Iterable[str]) -> list[dict[str, str]]:
    """Real-time inference hosting instances (component Hosting), not training or notebooks."""
    return [
        _term("regionCode", region),
        _term("productFamily", "ML Instance"),
        _term("component", "Hosting"),
        _any_of("instanceName", instance_names),
    ]


def price_list_products(client: Any, service_code: str, filters: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    """Every product document matching `filters`, following NextToken."""
    request: dict[str, Any] = {
        "ServiceCode": service_code,
        "Filters": filters,
        "FormatVersion": "aws_v1",
    }
    while True:
        try:
            page = client.get_products(**request)
        except _aws_errors() as e:
            raise CatalogError(
                f"AWS Price List request failed ({service_code}): {e}. To fix: check credentials and network "
                "access to the pricing endpoint in us-east-1, then retry; the existing catalog was left unchanged."
            ) from e
        for document in page.get("PriceList", []):
            yield json.loads(document) if isinstance(document, str) else document
        token = page.get("NextToken")
        if not token:
            return
        request["NextToken"] = token


def _aws_errors() -> tuple[type[BaseException], ...]:
    # botocore is an optional extra: imported only when AWS prices are actually fetched.
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def on_demand_hourly(document: Mapping[str, Any]) -> Decimal | None:
    """The USD per-hour on-demand price of a product document, None if it has none."""
    for term in document.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit") in ("Hrs", "Hour", "Hours") and usd is not None:
                price = Decimal(usd).normalize()
                if price > 0:
                    return price
    return None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fetch(
    client: Any,
    service_code: str,
    platform: str,
    regions: Iterable[str],
    shapes: Mapping[str, Offer],
    today: str,
    filters_for: Callable[[str, list[str]], list[dict[str, str]]],
    name_attribute: str,
) -> list[Offer]:
    offers: dict[tuple[str, str], Offer] = {}
    names = sorted(shapes)
    for region in regions:
        for chunk in _chunks(names, ANY_OF_CHUNK):
            for document in price_list_products(client, service_code, filters_for(region, chunk)):
                attributes = document.get("product", {}).get("attributes", {})
                name = attributes.get(name_attribute)
                price = on_demand_hourly(document)
                if name not in shapes or price is None or attributes.get("regionCode", region) != region:
                    continue
                key = (region, name)
                if key in offers and offers[key].ondemand_usd_hr <= price:
                    continue  # duplicate SKUs: keep the lowest list price, deterministically
                offers[key] = replace(
                    shapes[name],
                    platform=platform,
                    region=region,
                    ondemand_usd_hr=price,
                    spot_usd_hr=None,
                    source=SOURCE.format(service=service_code),
                    as_of=today,
                    price_kind="aws_price_list",
                    notes="",
                )
    return [offers[key] for key in sorted(offers)]


def fetch_ec2(client: Any, regions: Iterable[str], shapes: Mapping[str, Offer], today: str) -> list[Offer]:
    return _fetch(client, "AmazonEC2", "ec2", regions, shapes, today, ec2_filters, "instanceType")


def fetch_sagemaker(client: Any, regions: Iterable[str], shapes: Mapping[str, Offer], today: str) -> list[Offer]:
    return _fetch(
        client,
        "AmazonSageMaker",
        "sagemaker",
        regions,
        shapes,
        today,
        sagemaker_filters,
        "instanceName",
    )
