"""GitHub annotations land on the file in the pull request: paths relative to the checkout,
parameters and messages escaped as the runner decodes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.github_commands import annotation, escape, repository_path


def test_escaping_matches_the_runner() -> None:
    assert escape("50%\r\nnext: a, b") == "50%25%0D%0Anext: a, b"
    assert escape("a:b,c", prop=True) == "a%3Ab%2Cc"


def test_paths_are_relative_to_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    assert repository_path(str(tmp_path / "ml" / "model_specs" / "a.yaml")) == "ml/model_specs/a.yaml"
    assert repository_path("./model_specs/a.yaml") == "model_specs/a.yaml"
    assert repository_path("/elsewhere/a.yaml") == "/elsewhere/a.yaml", "outside the checkout: kept as written"
    monkeypatch.delenv("GITHUB_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    assert repository_path(str(tmp_path / "stacks" / "Pulumi.x.yaml")) == "stacks/Pulumi.x.yaml"


def test_annotation_without_a_file_has_no_file_parameter() -> None:
    assert annotation("notice", "all good", title="modelfleet pr") == "::notice title=modelfleet pr::all good"
    assert annotation("error", "x", file="a.yaml", line=None) == "::error file=a.yaml,line=1::x"


@pytest.mark.parametrize("command", [["validate"], ["check", "--stack", "lab-kserve"]])
def test_cli_annotations_name_the_file_as_the_pull_request_shows_it(command: list[str], project: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec error in a project inside a checkout is annotated at `model_specs/<spec>.yaml`, not at
    the runner's absolute path, so GitHub shows it on the changed file."""
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project.parent))
    spec = project / "model_specs" / "fraud-xgb.yaml"
    spec.write_text(spec.read_text().replace("  strategy: rolling\n", "  strategy: canary\n"))
    result = CliRunner().invoke(app, [*command, "-f", "github", "--project-dir", str(project)])
    assert result.exit_code == 2
    lines = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert lines and all(f"file={project.name}/model_specs/fraud-xgb.yaml,line=" in line for line in lines), lines


def test_validate_warnings_are_annotated_on_the_line_to_change(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warning about a spec field lands on that field's line of the spec; JSON carries the same file and line."""
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project.parent))
    runner = CliRunner()
    doc = json.loads(runner.invoke(app, ["validate", "-f", "json", "--project-dir", str(project)]).stdout)
    spot = next(w for w in doc["warnings"] if w["field"] == "spot" and w["stack"] == "lab-dev")  # on-prem has no spot market
    spec = project / "model_specs" / f"{spot['model']}.yaml"
    assert spot["file"] == str(spec) and isinstance(spot["line"], int)
    assert "spot: true" in spec.read_text().splitlines()[spot["line"] - 1], "the line that sets it (here the dev override)"
    result = runner.invoke(app, ["validate", "-f", "github", "--project-dir", str(project)])
    assert result.exit_code == 0
    expected = f"::warning file={project.name}/model_specs/{spot['model']}.yaml,line={spot['line']},title=spot::"
    assert any(line.startswith(expected) for line in result.stdout.splitlines()), result.stdout
