"""`--changed-since REF`: a changed spec selects the stacks that serve it, a changed stack itself.

Each test builds a throwaway git repository from the bundled specs and stacks, commits it as
the base, then changes files the way a pull request would.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from gitrepo import git as _git
from gitrepo import on_feature_branch

from modelfleet.changed import ChangedError, changed_paths, select_changed
from modelfleet.cli import app
from modelfleet.environment import load_stack_file, stack_paths

pytestmark = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="git is not installed")


@pytest.fixture()
def repo(project: Path) -> Path:
    return on_feature_branch(project)


def _serving(repo: Path, model: str) -> set[str]:
    return {s.stack for s in map(load_stack_file, stack_paths(repo / "stacks")) if s.selects(model)}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_nothing_changed_selects_nothing(repo: Path) -> None:
    selection = select_changed(repo, "main")
    assert selection.empty and selection.stacks == ()


def test_committed_spec_change_selects_every_stack_serving_it(repo: Path) -> None:
    _edit(repo / "model_specs" / "llama3-70b-instruct.yaml", "owner:", "owner: ")
    _git(repo, "commit", "-qam", "bump")
    selection = select_changed(repo, "main")
    assert set(selection.stacks) == _serving(repo, "llama3-70b-instruct") and selection.stacks
    assert "lab-dev" not in selection.stacks, "lab-dev's globs leave llama3-70b-instruct out"
    assert [p.name for p in selection.spec_paths] == ["llama3-70b-instruct.yaml"]
    assert all("serves changed llama3-70b-instruct" == r for r in selection.reasons.values())


def test_uncommitted_stack_change_selects_itself_and_its_specs(repo: Path) -> None:
    _edit(repo / "stacks" / "Pulumi.lab-dev.yaml", "monthly_usd: 3000", "monthly_usd: 3500")
    selection = select_changed(repo, "main")
    assert selection.stacks == ("lab-dev",) and selection.reasons == {"lab-dev": "stack changed"}
    assert {p.stem for p in selection.spec_paths} == {"llama3-8b-chat", "resnet50-vision", "fraud-xgb"}


def test_untracked_and_deleted_files_count(repo: Path) -> None:
    (repo / "stacks" / "Pulumi.lab-new.yaml").write_text((repo / "stacks" / "Pulumi.lab-dev.yaml").read_text())
    (repo / "model_specs" / "fraud-xgb.yaml").unlink()
    assert (repo / "stacks" / "Pulumi.lab-new.yaml").resolve() in changed_paths(repo, "main")
    selection = select_changed(repo, "main")
    assert "lab-new" in selection.stacks
    assert _serving(repo, "fraud-xgb") <= set(selection.stacks), "stacks that served a deleted spec are selected by its old name"


def test_project_wide_paths_select_every_stack(repo: Path) -> None:
    config = next((repo / "policies" / "config").glob("*.json"))
    config.write_text(config.read_text() + "\n")
    assert select_changed(repo, "main").empty, "policies do not matter to validate"
    selection = select_changed(repo, "main", project_wide=("policies",))
    assert set(selection.stacks) == {p.name.split(".")[1] for p in stack_paths(repo / "stacks")}


def test_unknown_ref_is_exit_2_with_a_fix(repo: Path, cli) -> None:
    with pytest.raises(ChangedError, match="fetch-depth: 0"):
        select_changed(repo, "origin/nope")
    result = cli.invoke(app, ["validate", "--changed-since", "origin/nope", "--project-dir", str(repo)])
    assert result.exit_code == 2


def test_validate_changed_since_checks_only_the_selection(repo: Path, cli) -> None:
    result = cli.invoke(app, ["validate", "--changed-since", "main", "--format", "json", "--project-dir", str(repo)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stacks"] == 0
    _edit(repo / "model_specs" / "fraud-xgb.yaml", "owner:", "owner: Not A Label!\nx_owner:")
    result = cli.invoke(app, ["validate", "--changed-since", "main", "--format", "json", "--project-dir", str(repo)])
    assert result.exit_code == 2 and "fraud-xgb.yaml" in result.stdout
    _git(repo, "checkout", "-q", "--", "model_specs/fraud-xgb.yaml")
    _edit(repo / "stacks" / "Pulumi.lab-dev.yaml", "monthly_usd: 3000", "monthly_usd: 3500")
    result = cli.invoke(app, ["validate", "--changed-since", "main", "--format", "json", "--project-dir", str(repo)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["stacks"] == 1 and body["selected_stacks"] == {"lab-dev": "stack changed"}


def test_check_and_cost_limit_work_to_changed_stacks(repo: Path, cli) -> None:
    for command in ("check", "cost"):
        result = cli.invoke(app, [command, "--changed-since", "main", "--project-dir", str(repo)])
        assert result.exit_code == 0 and "nothing to" in result.output, result.output
    _edit(repo / "stacks" / "Pulumi.lab-dev.yaml", "monthly_usd: 3000", "monthly_usd: 3500")
    cost = cli.invoke(app, ["cost", "--changed-since", "main", "--format", "json", "--project-dir", str(repo)])
    assert cost.exit_code == 0, cost.output
    assert [s["stack"] for s in json.loads(cost.output)["stacks"]] == ["lab-dev"]
    check = cli.invoke(app, ["check", "--changed-since", "main", "--format", "json", "--project-dir", str(repo)])
    assert {v["stack"] for v in json.loads(check.output)["violations"]} <= {"lab-dev"}, check.output


def test_a_policy_change_rechecks_every_stack(repo: Path) -> None:
    from modelfleet.changed import changed_stacks

    config = repo / "policies" / "config" / "dev.json"
    config.write_text(config.read_text().replace("{", "{ ", 1))
    assert set(changed_stacks(repo, "main", None, project_wide=("policies",))) == {p.stack for p in map(load_stack_file, stack_paths(repo / "stacks"))}
    assert changed_stacks(repo, "main", None) == [], "cost ignores policy changes"
