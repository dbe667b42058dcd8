"""Spot on a shape the region sells no spot capacity for: passed over when another size fits,
a located error (exit 2) when none does; unknown spot data stays a warning."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from modelfleet.catalog import load_catalog
from modelfleet.cli import app
from modelfleet.targets.offers import spot_market


def test_spot_market_reads_the_catalog_rows_source():
    catalog = load_catalog()
    t4 = catalog.find("azure", "eastus", "Standard_NC8as_T4_v3")
    h100 = catalog.find("azure", "eastus", "Standard_NC40ads_H100_v5")
    g5 = catalog.find("ec2", "us-east-1", "g5.xlarge")
    assert spot_market(t4, catalog) is True, "a listed spot price"
    # the same table lists spot prices for other N-series sizes in eastus, none for this one
    assert spot_market(h100, catalog) is False
    assert spot_market(g5, catalog) is None, "the EC2 GPU snapshot carries no spot data: unknown, not absent"
    sku_table_only = catalog.find("azure", "eastus", "Standard_D16as_v4")
    assert spot_market(sku_table_only, catalog) is None, "rows priced from the Azure ML SKU table never carried spot"


def _project(project: Path, accelerator: str) -> Path:
    """The 70B spec with another accelerator, and spot: true in its prod override (aks-prod is prod, eastus)."""
    spec = project / "model_specs" / "llama3-70b-instruct.yaml"
    text = spec.read_text().replace("  accelerator: A100-80GB:4", f"  accelerator: {accelerator}")
    text = text.replace("  prod: {autoscaling:", "  prod: {spot: true, autoscaling:")
    assert "spot: true" in text and accelerator in text
    spec.write_text(text)
    return spec


def test_spot_where_no_fitting_size_has_a_spot_market_is_a_located_error(project: Path):
    spec = _project(project, "H100:1")
    result = CliRunner().invoke(app, ["validate", "--project-dir", str(project)])
    assert result.exit_code == 2, result.output
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if "spot: true" in t)
    assert f"llama3-70b-instruct.yaml:{line}: spot:" in result.output
    assert "has a spot market in eastus" in result.output and "Standard_NC80adis_H100_v5" in result.output and "aks-prod" in result.output
    assert "Sizes with a spot market there:" in result.output and "To fix: set spot: false" in result.output
    assert "Traceback" not in result.output


def test_spot_passes_over_a_size_without_spot_market_when_another_fits(project: Path):
    from modelfleet.environment import find_stack, load_stack_file
    from modelfleet.program import plan_stack
    from modelfleet.spec import load_specs, spec_paths

    _project(project, "{min_memory_gib: 80, count: 1}")
    sp = plan_stack(load_stack_file(find_stack(project / "stacks", "aks-prod")), load_specs(spec_paths(project / "model_specs")))
    placed = next(p for p in sp.placements if p.model == "llama3-70b-instruct")
    catalog = load_catalog()
    assert placed.shape is not None and placed.shape.spot
    assert spot_market(placed.offer, catalog) is True, f"{placed.offer.instance_type} is sold as spot in eastus"
