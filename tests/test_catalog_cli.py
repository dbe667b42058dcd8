"""`modelfleet catalog` as users run it: table, JSON with decimal-string money, exit codes."""

from __future__ import annotations

import json
from decimal import Decimal

from typer.testing import CliRunner

from modelfleet.catalog import load_catalog
from modelfleet.catalog.listing import list_offers, offers_as_json
from modelfleet.cli.catalog import app

runner = CliRunner()


def test_list_offers_filters_and_sorts_by_price():
    offers = list_offers(load_catalog(), accelerator="H100")
    assert {o.accelerator for o in offers} == {"H100"}
    assert {o.platform for o in offers} >= {"ec2", "sagemaker", "azure", "azureml"}
    prices = [o.ondemand_usd_hr for o in offers]
    assert prices == sorted(prices)


def test_json_money_is_decimal_strings():
    rows = offers_as_json(list_offers(load_catalog(), platform="azure", region="eastus"))
    assert rows and all(isinstance(r["ondemand_usd_hr"], str) for r in rows)
    assert all(r["spot_usd_hr"] is None or isinstance(r["spot_usd_hr"], str) for r in rows)
    assert Decimal(rows[0]["ondemand_usd_hr"]) > 0


def test_cli_json_lists_the_cheapest_a10g_first():
    result = runner.invoke(
        app,
        [
            "--accelerator",
            "a10g",
            "--platform",
            "ec2",
            "--region",
            "us-east-1",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["currency"] == "USD"
    assert payload["offers"][0]["instance_type"] == "g5.xlarge"
    assert isinstance(payload["offers"][0]["ondemand_usd_hr"], str)


def test_cli_table_shows_offers():
    result = runner.invoke(app, ["--platform", "sagemaker", "--accelerator", "L4", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "ml.g6.xlarge" in result.output


def test_cli_unknown_accelerator_exits_2_with_a_fix():
    result = runner.invoke(app, ["--accelerator", "A100-80"])
    assert result.exit_code == 2
    assert "A100-80GB" in result.output and "To fix:" in result.output


def test_cli_unknown_platform_exits_2():
    result = runner.invoke(app, ["--platform", "gke"])
    assert result.exit_code == 2 and "To fix:" in result.output


def test_cli_refresh_rejects_an_unknown_cloud():
    result = runner.invoke(app, ["refresh", "--platform", "gcp"])
    assert result.exit_code == 2
