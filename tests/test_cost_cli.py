"""`modelfleet cost` end to end: golden JSON for the bundled on-prem stacks, budget verdict,
usage-file errors, --diff against a git ref, and --from-preview on Pulumi's JSON format."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from gitrepo import git as _git
from typer.testing import CliRunner

from modelfleet.catalog import load_catalog
from modelfleet.cli import app
from modelfleet.cost import HOURS_PER_MONTH
from modelfleet.cost.model import money
from modelfleet.environment import find_stack, load_stack_file

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "cost_onprem.json"
PREVIEW_FIXTURE = ROOT / "tests" / "fixtures" / "cost" / "pulumi_preview_eks.json"
ONPREM = ["--stack", "lab-dev", "--stack", "lab-kserve"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["cost", *args])
    return result.exit_code, result.stdout, result.stderr


def cost_json(*args: str) -> dict:
    code, out, err = run(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def by_stack(doc: dict) -> dict[str, dict]:
    return {s["stack"]: s for s in doc["stacks"]}


def model_row(stack: dict, name: str) -> dict:
    return next(m for m in stack["models"] if m["model"] == name)


def gpu_rate(project: Path, stack: str, accelerator: str) -> Decimal:
    return load_stack_file(find_stack(project / "stacks", stack)).cluster.gpu_hour_usd[accelerator]


def test_cost_json_matches_golden_for_bundled_onprem_stacks():
    actual = cost_json(*ONPREM, "--project-dir", str(ROOT))
    if os.environ.get("MODELFLEET_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert actual == json.loads(GOLDEN.read_text()), \
        "cost of lab-dev/lab-kserve changed: review, then MODELFLEET_UPDATE_GOLDEN=1 pytest tests/test_cost_cli.py"


def test_cost_json_contract_and_exact_onprem_figures():
    doc = cost_json(*ONPREM, "--project-dir", str(ROOT))
    assert doc["currency"] == "USD" and doc["diff"] is None
    kserve = by_stack(doc)["lab-kserve"]
    for key in ("stack", "monthly_min", "monthly_expected", "monthly_max", "budget", "models", "unpriced"):
        assert key in kserve
    llama = model_row(kserve, "llama3-8b-chat")
    gpu = next(c for c in llama["components"] if c["unit"] == "GPU-hours")
    # KServe predictor bounds × 1 L4 per replica × the stack's internal rate × 730 h
    assert Decimal(gpu["quantity_max"]) == HOURS_PER_MONTH * 8
    assert Decimal(llama["monthly_max"]) == money(gpu_rate(ROOT, "lab-kserve", "L4") * HOURS_PER_MONTH * 8)
    assert kserve["monthly_expected"] == kserve["monthly_min"] and kserve["expected_basis"] == "expected = min (no usage file)"
    assert all(isinstance(v, str) for v in (kserve["monthly_min"], kserve["monthly_max"], kserve["budget"]))
    fraud = model_row(kserve, "fraud-xgb")
    assert any("no internal CPU rate" in c["price_source"] for c in fraud["components"]), "CPU pods say why they are free"
    assert all(c["unit_price"] is None and c["monthly_max"] is None for c in fraud["components"] if c["usage_based"])


def test_table_and_markdown_render(tmp_path: Path):
    code, out, _ = run("--stack", "lab-dev", "--project-dir", str(ROOT))
    assert code == 0 and "llama3-8b-chat" in out and "expected = min (no usage file)" in out
    code, md, _ = run("--stack", "lab-dev", "--format", "markdown", "--project-dir", str(ROOT))
    assert code == 0 and md.startswith("### modelfleet cost estimate") and "<details>" in md


def test_budget_exceeded_exits_1_naming_the_stack(project: Path):
    path = project / "stacks" / "Pulumi.lab-dev.yaml"
    path.write_text(path.read_text().replace("monthly_usd: 3000", "monthly_usd: 100"))
    code, _, err = run("--stack", "lab-dev", "--project-dir", str(project))
    assert code == 1
    assert "lab-dev" in err and "exceeds its budget $100.00" in err


def test_usage_file_sets_expected(project: Path, tmp_path: Path):
    usage = tmp_path / "usage.yaml"
    usage.write_text("prod:\n  llama3-8b-chat: 5\n")
    kserve = by_stack(cost_json("--stack", "lab-kserve", "--usage", str(usage), "--project-dir", str(project)))["lab-kserve"]
    llama = model_row(kserve, "llama3-8b-chat")
    assert Decimal(llama["monthly_expected"]) == money(gpu_rate(project, "lab-kserve", "L4") * HOURS_PER_MONTH * 5)
    assert kserve["expected_basis"].startswith("expected from usage file")
    fraud = model_row(kserve, "fraud-xgb")
    assert "not in the usage file: expected = min" in fraud["notes"]


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("prod:\n  llama3-8b-chat: 2\n  no-such-model: 1\n", 3, "unknown model"),
    ("prod:\n  llama3-8b-chat: 2\nqa:\n  llama3-8b-chat: 1\n", 3, "unknown environment"),
    ("prod:\n  llama3-8b-chat: many\n", 2, "must be a number"),
])
def test_usage_file_errors_exit_2_with_file_and_line(project: Path, tmp_path: Path, text: str, line: int, needle: str):
    usage = tmp_path / "usage.yaml"
    usage.write_text(text)
    code, _, err = run("--stack", "lab-dev", "--usage", str(usage), "--project-dir", str(project))
    assert code == 2
    assert f"{usage}:{line}" in err and needle in err


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A scratch git repository holding the bundled project, committed as `main`."""
    root = tmp_path / "repo"
    for part in ("model_specs", "stacks"):
        shutil.copytree(ROOT / part, root / part)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "bundled project")
    return root


def test_diff_against_a_ref_shows_the_delta_per_stack_and_model(repo: Path):
    spec = repo / "model_specs" / "resnet50-vision.yaml"
    text = spec.read_text()
    old = "prod: {autoscaling: {min_replicas: 2, max_replicas: 8}}"
    assert old in text, "bundled resnet50-vision spec changed shape; update this test"
    spec.write_text(text.replace(old, "prod: {autoscaling: {min_replicas: 2, max_replicas: 12}}"))
    doc = cost_json(*ONPREM, "--diff", "main", "--project-dir", str(repo))
    diff = doc["diff"]
    assert diff["base_ref"] == "main"
    stacks = {s["stack"]: s for s in diff["stacks"]}
    expected = money(gpu_rate(repo, "lab-kserve", "T4") * HOURS_PER_MONTH * 4)
    assert Decimal(stacks["lab-kserve"]["delta_max"]) == expected
    assert Decimal(stacks["lab-dev"]["delta_max"]) == 0, "dev bounds did not change"
    resnet = next(m for m in stacks["lab-kserve"]["models"] if m["model"] == "resnet50-vision")
    assert Decimal(resnet["after_max"]) - Decimal(resnet["before_max"]) == expected
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout.strip() \
        == "M model_specs/resnet50-vision.yaml", "the working tree is untouched"
    code, md, _ = run(*ONPREM, "--diff", "main", "--format", "markdown", "--project-dir", str(repo))
    assert code == 0 and f"Monthly cost will increase: min ±$0.00, expected ±$0.00, max +${expected:,.2f}" in md
    assert "#### lab-kserve" in md and "#### lab-dev" not in md and "1 stack(s) unchanged: lab-dev." in md


def test_a_higher_floor_is_a_change_in_the_headline(repo: Path):
    """Raising a prod min_replicas leaves max alone but is guaranteed spend: the comment says so."""
    spec = repo / "model_specs" / "resnet50-vision.yaml"
    text = spec.read_text()
    old = "prod: {autoscaling: {min_replicas: 2, max_replicas: 8}}"
    spec.write_text(text.replace(old, "prod: {autoscaling: {min_replicas: 3, max_replicas: 8}}"))
    doc = cost_json(*ONPREM, "--diff", "main", "--project-dir", str(repo))
    kserve = {s["stack"]: s for s in doc["diff"]["stacks"]}["lab-kserve"]
    rise = Decimal(kserve["delta_min"])
    assert rise == money(gpu_rate(repo, "lab-kserve", "T4") * HOURS_PER_MONTH) and Decimal(kserve["delta_max"]) == 0
    code, md, _ = run(*ONPREM, "--diff", "main", "--format", "markdown", "--project-dir", str(repo))
    headline = md.splitlines()[2]
    assert code == 0 and "will not change" not in md
    assert headline.startswith(f"**Monthly cost will increase: min +${rise:,.2f}") and "max ±$0.00" in headline
    assert f"(+${rise:,.2f}, +" in md  # the stack row shows the min change


def test_diff_counts_a_stack_missing_at_the_ref_as_zero(repo: Path):
    (repo / "stacks" / "Pulumi.lab-dev.yaml").rename(repo / "stacks" / "Pulumi.lab-dev2.yaml")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "rename")
    doc = cost_json("--stack", "lab-dev2", "--diff", "HEAD~1", "--project-dir", str(repo))
    row = doc["diff"]["stacks"][0]
    assert row["stack"] == "lab-dev2" and row["status"] == "added" and row["before_max"] == "0.00"
    assert row["after_max"] == row["delta_max"]


def test_diff_with_unknown_ref_exits_2_naming_it(repo: Path):
    code, _, err = run("--stack", "lab-dev", "--diff", "no-such-branch", "--project-dir", str(repo))
    assert code == 2 and "no-such-branch" in err and "does not exist" in err


def test_from_preview_prices_pulumi_json_steps():
    doc = cost_json("--from-preview", str(PREVIEW_FIXTURE))
    (stack,) = doc["stacks"]
    assert stack["stack"] == "eks-prod" and stack["budget"] == "50000.00"
    hourly = load_catalog().find("ec2", "us-east-1", "g5.xlarge").ondemand_usd_hr  # type: ignore[union-attr]
    chat = model_row(stack, "chat")
    assert Decimal(chat["monthly_max"]) == money(hourly * HOURS_PER_MONTH * 3), "HPA max 3 on a dedicated-by-share pool of max 3 nodes"
    unpriced = {u["name"]: u["reason"] for u in stack["unpriced"]}
    assert "g9z.huge is not in the ec2 catalog" in unpriced["experimental-ng"]
    assert "old-ng" not in json.dumps(doc), "deleted resources are not priced"
    assert any(c["usage_based"] and c["name"] == "chat-repo" for c in chat["components"])


def test_from_preview_region_flag_and_bad_file(tmp_path: Path):
    data = json.loads(PREVIEW_FIXTURE.read_text())
    del data["config"]["aws:region"]
    data["steps"] = [s for s in data["steps"] if not s["urn"].endswith("default_7_0_0")]
    no_region = tmp_path / "preview.json"
    no_region.write_text(json.dumps(data))
    stack = cost_json("--from-preview", str(no_region))["stacks"][0]
    assert stack["monthly_max"] == "0.00" and any("region" in u["reason"] for u in stack["unpriced"])
    assert cost_json("--from-preview", str(no_region), "--region", "us-east-1")["stacks"][0]["monthly_max"] != "0.00"
    bad = tmp_path / "bad.json"
    bad.write_text('{"resources": []}')
    code, _, err = run("--from-preview", str(bad))
    assert code == 2 and "pulumi preview --json" in err


def test_preview_shows_monthly_range():
    result = CliRunner().invoke(app, ["preview", "--stack", "lab-dev", "--format", "json", "--project-dir", str(ROOT)])
    assert result.exit_code == 0
    cost = json.loads(result.stdout)["stacks"][0]["cost"]
    assert cost == {"monthly_min": by_stack(cost_json("--stack", "lab-dev", "--project-dir", str(ROOT)))["lab-dev"]["monthly_min"],
                    "monthly_max": by_stack(cost_json("--stack", "lab-dev", "--project-dir", str(ROOT)))["lab-dev"]["monthly_max"]}
