"""`catalog refresh`: AWS Price List through a stubbed client, Azure Retail Prices from a
loopback server; a failure part-way leaves the old catalog byte-identical."""

from __future__ import annotations

import json
import shutil
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from modelfleet.catalog import load_catalog
from modelfleet.catalog.accelerators import DATA_DIR
from modelfleet.catalog.refresh import refresh
from modelfleet.catalog.refresh_aws import ANY_OF_CHUNK, ec2_filters, on_demand_hourly
from modelfleet.errors import CatalogError

TODAY = "2030-01-02"
# Synthetic prices: chosen to be unlike any real list price so a leak would be obvious.
G5_PRICE, M5_PRICE, SM_PRICE = "1.2345000000", "0.1111000000", "2.5000000000"


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    out = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, out)
    return out


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def price_list_document(service: str, attributes: dict[str, str], usd: str, sku: str) -> str:
    """A product document as `get_products` returns it (a JSON string per product)."""
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "attributes": attributes,
                "sku": sku,
            },
            "serviceCode": service,
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "offerTermCode": "JRTCKXETXF",
                        "sku": sku,
                        "effectiveDate": "2029-12-01T00:00:00Z",
                        "termAttributes": {},
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "beginRange": "0",
                                "endRange": "Inf",
                                "description": "On Demand Linux instance hour",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                    }
                },
                "Reserved": {},
            },
            "version": "20291201000000",
            "publicationDate": "2029-12-01T00:00:00Z",
        }
    )


def ec2_attributes(instance_type: str, vcpu: str, memory: str) -> dict[str, str]:
    return {
        "servicecode": "AmazonEC2",
        "instanceType": instance_type,
        "regionCode": "us-east-1",
        "location": "US East (N. Virginia)",
        "vcpu": vcpu,
        "memory": memory,
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "usagetype": f"BoxUsage:{instance_type}",
        "operation": "RunInstances",
    }


def sagemaker_attributes(instance_name: str) -> dict[str, str]:
    return {
        "servicecode": "AmazonSageMaker",
        "instanceName": instance_name,
        "regionCode": "us-east-1",
        "component": "Hosting",
        "usagetype": f"USE1-Host:{instance_name}",
        "operation": "RunInstance",
        "vCpu": "4",
        "memory": "16 GiB",
    }


@pytest.fixture
def pricing():
    client = boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber


def chunk_count(directory: Path, platform: str) -> int:
    names = {o.instance_type for o in load_catalog(directory).offers(platform)}
    return -(-len(names) // ANY_OF_CHUNK)


def stub_aws(stubber: Stubber, catalog_dir: Path, fail_second_page: bool = False) -> None:
    """EC2: first chunk answers in two pages (NextToken), later chunks empty; SageMaker one page."""
    g5 = price_list_document("AmazonEC2", ec2_attributes("g5.xlarge", "4", "16 GiB"), G5_PRICE, "SKUG5")
    m5 = price_list_document("AmazonEC2", ec2_attributes("m5.large", "2", "8 GiB"), M5_PRICE, "SKUM5")
    first = {"ServiceCode": "AmazonEC2", "Filters": ANY, "FormatVersion": "aws_v1"}
    stubber.add_response(
        "get_products",
        {"PriceList": [g5], "NextToken": "page-2", "FormatVersion": "aws_v1"},
        first,
    )
    if fail_second_page:
        stubber.add_client_error("get_products", "ThrottlingException", "Rate exceeded", 400)
        return
    stubber.add_response("get_products", {"PriceList": [m5]}, {**first, "NextToken": "page-2"})
    for _ in range(chunk_count(catalog_dir, "ec2") - 1):
        stubber.add_response("get_products", {"PriceList": []}, first)
    ml = price_list_document("AmazonSageMaker", sagemaker_attributes("ml.g5.xlarge"), SM_PRICE, "SKUML")
    sm = {"ServiceCode": "AmazonSageMaker", "Filters": ANY, "FormatVersion": "aws_v1"}
    stubber.add_response("get_products", {"PriceList": [ml]}, sm)
    for _ in range(chunk_count(catalog_dir, "sagemaker") - 1):
        stubber.add_response("get_products", {"PriceList": []}, sm)


def test_on_demand_price_is_parsed_from_the_price_list_document():
    document = json.loads(price_list_document("AmazonEC2", ec2_attributes("g5.xlarge", "4", "16 GiB"), G5_PRICE, "S"))
    assert on_demand_hourly(document) == Decimal(G5_PRICE)


def test_ec2_filters_ask_for_linux_shared_used_capacity():
    fields = {f["Field"]: f["Value"] for f in ec2_filters("eu-west-1", ["g5.xlarge", "g6.xlarge"])}
    assert fields["operatingSystem"] == "Linux" and fields["tenancy"] == "Shared"
    assert fields["capacitystatus"] == "Used" and fields["instanceType"] == "g5.xlarge,g6.xlarge"


def test_aws_refresh_reprices_known_shapes_and_keeps_other_regions(pricing, catalog_dir):
    client, stubber = pricing
    before = load_catalog(catalog_dir)
    stub_aws(stubber, catalog_dir)
    written = refresh(
        catalog_dir,
        clouds=["aws"],
        pricing_client=client,
        regions=["us-east-1"],
        today=TODAY,
    )
    stubber.assert_no_pending_responses()

    after = load_catalog(catalog_dir)
    g5 = after.find("ec2", "us-east-1", "g5.xlarge")
    assert (g5.ondemand_usd_hr, g5.as_of, g5.price_kind) == (
        Decimal("1.2345"),
        TODAY,
        "aws_price_list",
    )
    assert (g5.accelerator, g5.gpu_count, g5.gpu_memory_gib) == (
        "A10G",
        1,
        24,
    )  # hardware from the catalog
    m5 = after.find("ec2", "us-east-1", "m5.large")
    assert m5.spot_usd_hr == before.find("ec2", "us-east-1", "m5.large").spot_usd_hr and "carried" in m5.notes
    assert after.find("ec2", "us-east-1", "p5.48xlarge") is None  # us-east-1 was replaced wholesale
    assert after.find("ec2", "eu-west-1", "g5.xlarge") == before.find("ec2", "eu-west-1", "g5.xlarge")
    assert after.find("sagemaker", "us-east-1", "ml.g5.xlarge").ondemand_usd_hr == Decimal("2.5")
    assert written["ec2"] == len(after.offers("ec2"))
    assert (catalog_dir / "azure.csv").read_bytes() == (DATA_DIR / "azure.csv").read_bytes()


def test_aws_failure_on_a_later_page_leaves_the_catalog_untouched(pricing, catalog_dir):
    client, stubber = pricing
    stub_aws(stubber, catalog_dir, fail_second_page=True)
    before = snapshot(catalog_dir)
    with pytest.raises(CatalogError, match="To fix"):
        refresh(
            catalog_dir,
            clouds=["aws"],
            pricing_client=client,
            regions=["us-east-1"],
            today=TODAY,
        )
    assert snapshot(catalog_dir) == before


def azure_item(size: str, sku_name: str, price: float, product: str) -> dict[str, object]:
    return {
        "currencyCode": "USD",
        "retailPrice": price,
        "unitPrice": price,
        "armRegionName": "eastus",
        "location": "US East",
        "effectiveStartDate": "2029-11-01T00:00:00Z",
        "meterName": sku_name,
        "productName": product,
        "skuName": sku_name,
        "serviceName": "Virtual Machines",
        "armSkuName": size,
        "type": "Consumption",
        "isPrimaryMeterRegion": True,
        "unitOfMeasure": "1 Hour",
    }


A100_SERIES = "Virtual Machines NCads A100 v4 Series"
PAGE_1 = [
    azure_item("Standard_NC24ads_A100_v4", "NC24ads A100 v4", 3.3333, A100_SERIES),
    azure_item("Standard_NC24ads_A100_v4", "NC24ads A100 v4 Spot", 0.3333, A100_SERIES),
    azure_item("Standard_NC24ads_A100_v4", "NC24ads A100 v4", 9.9999, A100_SERIES + " Windows"),
]
PAGE_2 = [
    azure_item("Standard_D4s_v5", "D4s v5", 0.1717, "Virtual Machines Dsv5 Series"),
    azure_item("Standard_D4s_v5", "D4s v5 Low Priority", 0.0404, "Virtual Machines Dsv5 Series"),
]


@pytest.fixture
def retail_server():
    """Azure-format pages on 127.0.0.1: /prices -> page 1 with NextPageLink -> /page2."""
    state = {"fail_page_2": False, "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["paths"].append(self.path)
            if self.path.startswith("/page2") and state["fail_page_2"]:
                self.send_error(500, "boom")
                return
            host, port = self.server.server_address[:2]
            if self.path.startswith("/prices"):
                body = {
                    "Items": PAGE_1,
                    "NextPageLink": f"http://{host}:{port}/page2?$skip=100",
                    "Count": 3,
                }
            else:
                body = {"Items": PAGE_2, "NextPageLink": None, "Count": 2}
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}/prices", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_azure_refresh_follows_next_page_link_and_splits_spot(retail_server, catalog_dir):
    base_url, state = retail_server
    refresh(
        catalog_dir,
        clouds=["azure"],
        azure_base_url=base_url,
        regions=["eastus"],
        today=TODAY,
    )

    assert any("armRegionName+eq+%27eastus%27" in path for path in state["paths"])
    assert any(path.startswith("/page2") for path in state["paths"])
    after = load_catalog(catalog_dir)
    a100 = after.find("azure", "eastus", "Standard_NC24ads_A100_v4")
    assert (a100.ondemand_usd_hr, a100.spot_usd_hr, a100.as_of) == (
        Decimal("3.3333"),
        Decimal("0.3333"),
        TODAY,
    )
    assert a100.accelerator == "A100-80GB"
    d4 = after.find("azure", "eastus", "Standard_D4s_v5")
    assert (d4.ondemand_usd_hr, d4.spot_usd_hr) == (
        Decimal("0.1717"),
        None,
    )  # low priority is not spot
    ml = after.find("azureml", "eastus", "Standard_NC24ads_A100_v4")
    assert ml.ondemand_usd_hr == Decimal("3.3333") and ml.spot_usd_hr is None
    assert after.find("azureml", "eastus", "Standard_D4s_v5") is None  # not an Azure ML online SKU
    assert after.find("azure", "westus2", "Standard_D4s_v5") == load_catalog().find("azure", "westus2", "Standard_D4s_v5")


def test_azure_failing_second_page_leaves_old_files_byte_identical(retail_server, catalog_dir):
    base_url, state = retail_server
    state["fail_page_2"] = True
    before = snapshot(catalog_dir)
    with pytest.raises(CatalogError, match="left unchanged"):
        refresh(
            catalog_dir,
            clouds=["azure"],
            azure_base_url=base_url,
            regions=["eastus"],
            today=TODAY,
        )
    assert snapshot(catalog_dir) == before
    assert not list(catalog_dir.glob(".*.tmp"))


def test_refresh_rejects_an_unknown_cloud(catalog_dir):
    with pytest.raises(CatalogError, match="To fix"):
        refresh(catalog_dir, clouds=["gcp"])
