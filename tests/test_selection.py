"""Stack model globs: `!` exclusions that win wherever they are written, a warning (located, with
close names) for a glob that matches no spec, and `validate` showing which stacks each spec joins."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.selection import glob_problem, membership, selects

RUNNER = CliRunner()
NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
PATTERNS = st.from_regex(r"[a-z0-9*?-]{1,8}", fullmatch=True)
GLOBS = st.lists(st.tuples(st.booleans(), PATTERNS).map(lambda t: ("!" if t[0] else "") + t[1]), max_size=6)


@given(GLOBS, NAMES, st.randoms())
def test_order_does_not_matter(globs: list[str], name: str, rnd: random.Random) -> None:
    shuffled = list(globs)
    rnd.shuffle(shuffled)
    assert selects(globs, name) == selects(shuffled, name)


@given(GLOBS, NAMES)
def test_a_spec_joins_through_an_include_unless_an_exclusion_matches(globs: list[str], name: str) -> None:
    from fnmatch import fnmatchcase

    included = any(fnmatchcase(name, g) for g in globs if not g.startswith("!"))
    excluded = any(fnmatchcase(name, g[1:]) for g in globs if g.startswith("!"))
    assert selects(globs, name) == (included and not excluded)
    m = membership(globs, name)
    assert (m.via is not None) == included and (m.excluded_by is not None) == excluded


@given(NAMES)
def test_star_selects_every_name_and_its_own_exclusion_none(name: str) -> None:
    assert selects(["*"], name)
    assert not selects(["*", f"!{name}"], name) and not selects([f"!{name}", "*"], name)


@pytest.mark.parametrize("globs", [["!sdxl-*"], ["*", "!"], ["*", "!!sdxl-*"], ["", "*"]])
def test_lists_that_cannot_mean_what_they_say_are_refused(globs: list[str]) -> None:
    assert glob_problem(globs) is not None


@pytest.mark.parametrize("globs", [[], ["*"], ["*", "!sdxl-*"], ["!sdxl-*", "llama3-*"], ["[!x]*"]])
def test_ordinary_lists_pass(globs: list[str]) -> None:
    assert glob_problem(globs) is None


def _set_models(project: Path, stack: str, models: str) -> Path:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    lines = path.read_text().splitlines(keepends=True)
    [index] = [i for i, line in enumerate(lines) if line.startswith("  modelfleet:models:")]
    lines[index] = f"  modelfleet:models: {models}\n"
    path.write_text("".join(lines))
    return path


def _new_spec(project: Path, name: str) -> None:
    source = (project / "model_specs" / "fraud-xgb.yaml").read_text()
    (project / "model_specs" / f"{name}.yaml").write_text(source.replace("name: fraud-xgb", f"name: {name}", 1))


def _validate_json(project: Path) -> dict:
    result = RUNNER.invoke(app, ["validate", "-f", "json", "--project-dir", str(project)])
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_an_exclusion_keeps_a_new_spec_out_of_a_prod_stack(project: Path) -> None:
    _new_spec(project, "sdxl-turbo")
    _set_models(project, "eks-prod", '["!sdxl-*", "*"]')  # the exclusion wins though written first
    doc = _validate_json(project)
    [entry] = [j for j in doc["joins"] if j["spec"] == "sdxl-turbo"]
    joined = {s["stack"]: s["via"] for s in entry["stacks"]}
    assert "eks-prod" not in joined and joined["aks-prod"] == "*"
    assert entry["excluded_from"] == [{"stack": "eks-prod", "by": "!sdxl-*"}]
    assert next(s for s in entry["stacks"] if s["stack"] == "aks-prod")["production"] is True
    text = RUNNER.invoke(app, ["validate", "--project-dir", str(project)]).stdout
    assert "joins sdxl-turbo → aks-prod, lab-kserve (via '*'); not eks-prod (excluded by '!sdxl-*')" in text


def test_validate_shows_which_stacks_a_new_spec_joins_and_through_which_glob(project: Path) -> None:
    _new_spec(project, "fraud-lgbm")
    doc = _validate_json(project)
    [entry] = [j for j in doc["joins"] if j["spec"] == "fraud-lgbm"]
    assert {s["stack"]: s["via"] for s in entry["stacks"]} == {
        "aks-prod": "*", "eks-prod": "*", "lab-kserve": "*", "azureml-prod": "fraud-*", "eks-dev": "fraud-*", "lab-dev": "fraud-*"}
    text = RUNNER.invoke(app, ["validate", "--project-dir", str(project)]).stdout
    assert "joins fraud-lgbm → aks-prod, eks-prod, lab-kserve (via '*'); azureml-prod, eks-dev, lab-dev (via 'fraud-*')" in text


def test_a_glob_matching_no_spec_is_a_located_warning_with_the_close_name(project: Path) -> None:
    path = _set_models(project, "sagemaker-prod", '["llama3-8b-*", "resnt50-*"]')
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "modelfleet:models" in text)
    for command in (["validate", "-f", "json"], ["preview", "-f", "json", "--stack", "sagemaker-prod"]):
        result = RUNNER.invoke(app, [*command, "--project-dir", str(project)])
        assert result.exit_code == 0, result.stdout
        doc = json.loads(result.stdout)
        warnings = doc["warnings"] if "warnings" in doc else doc["stacks"][0]["diagnostics"]
        [warning] = [w for w in warnings if w["field"] == "modelfleet:models"]
        assert warning["level"] == "warning" and warning["model"] == ""
        assert f"{path}:{line}: 'resnt50-*' matches no spec" in warning["message"]
        assert "did you mean 'resnet50-vision'?" in warning["message"]
    # specs validated alone still see every spec of the project: no false alarm for the other globs
    result = RUNNER.invoke(app, ["validate", "-f", "json", "--project-dir", str(project),
                                 str(project / "model_specs" / "fraud-xgb.yaml")])
    messages = [w["message"] for w in json.loads(result.stdout)["warnings"] if w["field"] == "modelfleet:models"]
    assert len(messages) == 1 and "'resnt50-*'" in messages[0]


def test_a_list_of_only_exclusions_is_exit_2_at_its_line(project: Path) -> None:
    path = _set_models(project, "eks-prod", '["!sdxl-*"]')
    result = RUNNER.invoke(app, ["validate", "-f", "json", "--project-dir", str(project)])
    assert result.exit_code == 2
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["file"] == str(path) and problem["field"] == "config.modelfleet:models"
    assert "only exclusions" in problem["message"] and "'*'" in problem["fix"]
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "modelfleet:models" in text)
    assert problem["line"] == line
