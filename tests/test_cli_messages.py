"""Messages speak the file's words: an unknown platform or cluster kind, a value of the wrong
type or outside a choice is reported at its key, without the validation library's wording
(`Input tag … found using …`, `Value error, …`, Python class names)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelfleet.cli import app

RUNNER = CliRunner()
LIBRARY_WORDING = ("Input tag", "found using", "Value error", "Unable to extract tag", "Input should be", "should match",
                   "String should", "should have",
                   "instance of", "AcceleratorRequest", "validation error")


@pytest.mark.parametrize(("file", "old", "new", "field", "line"), [
    ("stacks/Pulumi.lab-dev.yaml", "modelfleet:platform: kubernetes", "modelfleet:platform: kubernets",
     "config.modelfleet:platform", 4),
    ("stacks/Pulumi.lab-dev.yaml", "kind: onprem", "kind: gke", "config.modelfleet:cluster.kind", 7),
    ("stacks/Pulumi.lab-dev.yaml", "    kind: onprem\n", "", "config.modelfleet:cluster.kind", 6),
    ("model_specs/fraud-xgb.yaml", "accelerator: none", "accelerator: [1]", "resources.accelerator", 20),
    ("model_specs/fraud-xgb.yaml", "strategy: rolling", "strategy: fancy", "rollout.strategy", 31),
    ("stacks/Pulumi.lab-dev.yaml", "{keda: install,", "{prometheus_url: 'not a url', keda: install,",
     "config.modelfleet:addons.prometheus_url", 14),
    ("stacks/Pulumi.lab-dev.yaml", "  modelfleet:models:", "  modelfleet:stable: {fraud-xgb: 'a b'}\n  modelfleet:models:",
     "config.modelfleet:stable.fraud-xgb.version", 15),
])
def test_no_validation_library_wording(project: Path, file: str, old: str, new: str, field: str, line: int) -> None:
    path = project / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    result = RUNNER.invoke(app, ["validate", "--project-dir", str(project)])
    assert result.exit_code == 2
    for phrase in LIBRARY_WORDING:
        assert phrase not in result.stderr, result.stderr
    assert f"{path}:{line}:" in result.stderr and field in result.stderr, result.stderr
    problems = json.loads(RUNNER.invoke(app, ["validate", "-f", "json", "--project-dir", str(project)]).stdout)["problems"]
    assert any(p["field"] == field and p["line"] == line for p in problems), problems


def test_an_unknown_platform_suggests_the_closest(project: Path) -> None:
    path = project / "stacks/Pulumi.lab-dev.yaml"
    path.write_text(path.read_text().replace("modelfleet:platform: kubernetes", "modelfleet:platform: kubernets"))
    [problem] = json.loads(RUNNER.invoke(app, ["validate", "-f", "json", "--project-dir", str(project)]).stdout)["problems"]
    assert problem["value"] == "kubernets" and problem["allowed"] == "kubernetes, sagemaker, azureml"
    assert problem["fix"] == "did you mean 'kubernetes'?"


def test_money_reads_the_same_in_preview_and_cost() -> None:
    """Thousands separators and cents everywhere a person reads a monthly figure ($23,066.14)."""
    [stack] = json.loads(RUNNER.invoke(app, ["cost", "--stack", "eks-prod", "-f", "json"]).stdout)["stacks"]
    low, high = (f"${float(stack[k]):,.2f}" for k in ("monthly_min", "monthly_max"))
    assert "," in high
    preview = RUNNER.invoke(app, ["preview", "--stack", "eks-prod"]).stdout.splitlines()[0]
    assert f"monthly {low}–{high}" in preview, preview
    cost = RUNNER.invoke(app, ["cost", "--stack", "eks-prod"]).stdout
    assert low in cost and high in cost


def test_readme_walks_through_adding_a_model() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Adding a model"):readme.index("## Commands")]
    for step in ("modelfleet validate", "joins", "modelfleet preview", "modelfleet cost --diff", "modelfleet pr --base",
                 "modelfleet promote", "prod stacks included", "!fraud-lgbm", "min_replicas` ≥ 2", ".venv/bin"):
        assert step in section, step
