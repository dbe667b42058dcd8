"""Why this instance: preview names the machine each managed model runs on, the reason it was
chosen (the platform reserve included, read from data with its source), and the cheaper offers
passed over with why — in the tree, the JSON and `--explain-placement`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from modelfleet.catalog import Requirement, load_catalog
from modelfleet.catalog.offers import PLATFORMS, fits, reserves, why_not
from modelfleet.cli import app

ROOT = Path(__file__).resolve().parent.parent
RUNNER = CliRunner()


def _preview(*args: str) -> str:
    result = RUNNER.invoke(app, ["preview", *args, "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def test_tree_lines_show_the_managed_instance_and_count() -> None:
    out = _preview("--stack", "sagemaker-prod,azureml-prod")
    assert re.search(r"EndpointConfiguration llama3-8b-chat-config  instanceType=ml\.g6\.4xlarge ×2", out), out
    assert re.search(r"OnlineDeployment azureml-prod-fraud-xgb-\S+  instanceType=Standard_\w+ ×\d", out), out


def test_preview_explains_the_choice_and_the_offers_passed_over() -> None:
    out = _preview("--stack", "sagemaker-prod")
    line = next(x for x in out.splitlines() if "placement llama3-8b-chat:" in x)
    assert "ml.g6.4xlarge at $" in line and "fit one replica (1×GPU ≥24 GiB, 4 vCPU, 32 GiB)" in line
    assert "host reserve" in line and "0.5 GiB on ml.g6.4xlarge" in line
    assert "passed over ml.g5.2xlarge ($1.515/h): 31.5 GiB memory left after the 0.5 GiB reserve < 32 GiB" in out

    [stack] = json.loads(_preview("--stack", "sagemaker-prod", "-f", "json"))["stacks"]
    chat = next(p for p in stack["placements"] if p["model"] == "llama3-8b-chat")
    assert chat["instance_type"] == "ml.g6.4xlarge" and chat["spot"] is False
    assert chat["reserve"] == {"what": reserves()["sagemaker"].label, "vcpus": 0.1, "memory_gib": 0.5,
                               "source": reserves()["sagemaker"].source}
    by_name = {c["instance_type"]: c for c in chat["candidates"]}
    assert by_name["ml.g6.4xlarge"]["chosen"] and by_name["ml.g6.4xlarge"]["why_not"] is None
    # the cheaper L4 size the reviewer asks about: rejected by the reserve, not by the GPU
    assert "31.5 GiB memory left after the 0.5 GiB reserve < 32 GiB" in by_name["ml.g6.2xlarge"]["why_not"]
    prices = [float(c["hourly_usd"]) for c in chat["candidates"]]
    assert prices == sorted(prices)
    chosen_at = [c["chosen"] for c in chat["candidates"]].index(True)
    assert all(c["why_not"] for c in chat["candidates"][:chosen_at])  # every cheaper offer says why not
    assert all(c["fits"] for c in chat["candidates"][chosen_at:])


def test_explain_placement_prints_the_candidate_table() -> None:
    out = _preview("--stack", "sagemaker-prod", "--explain-placement")
    table = out[out.index("sagemaker-prod · llama3-8b-chat"):]
    row = next(x for x in table.splitlines() if "ml.g6.2xlarge" in x)
    assert "1.222" in row and "31.5 GiB memory left" in row
    assert "✔" in next(x for x in table.splitlines() if "ml.g6.4xlarge" in x)
    assert "system_reserve.json" in table


def test_gpu_node_pools_on_eks_are_explained_too_and_on_prem_is_not() -> None:
    doc = json.loads(_preview("--stack", "eks-prod,lab-dev", "-f", "json"))
    placements = {s["stack"]: s["placements"] for s in doc["stacks"]}
    assert placements["lab-dev"] == []
    seventy = next(p for p in placements["eks-prod"] if p["model"] == "llama3-70b-instruct")
    assert seventy["instance_type"].startswith("p4de.") and "kube-reserved" in seventy["reason"]


def test_every_catalog_platform_has_a_sourced_reserve() -> None:
    for platform in PLATFORMS:
        assert reserves()[platform].source.strip(), platform
    offers_py = (ROOT / "modelfleet" / "catalog" / "offers.py").read_text(encoding="utf-8")
    assert "0.06" not in offers_py and "0.5\n" not in offers_py  # the numbers live in the data file only


REQUIREMENTS = st.builds(
    Requirement,
    accelerator=st.sampled_from([None, "T4", "A10G", "L4", "A100-80GB", "H100"]),
    gpu_count=st.integers(0, 8),
    min_gpu_memory_gib=st.sampled_from([None, 16.0, 24.0, 40.0, 80.0]),
    vcpus=st.sampled_from([0.5, 1.0, 2.0, 4.0, 7.9, 8.0, 16.0, 48.0]),
    memory_gib=st.sampled_from([1.0, 4.0, 15.5, 16.0, 31.5, 32.0, 64.0, 300.0]),
)


@settings(max_examples=60, deadline=None)
@given(REQUIREMENTS, st.sampled_from(["ec2", "sagemaker", "azure", "azureml"]))
def test_an_offer_fits_exactly_when_nothing_says_why_not(req: Requirement, platform: str) -> None:
    region = "eastus" if platform.startswith("azure") else "us-east-1"
    for offer in load_catalog().offers(platform, region):
        assert fits(offer, req) == (why_not(offer, req) == []), (offer.instance_type, why_not(offer, req))
