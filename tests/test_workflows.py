"""The GitHub workflows users copy: every `modelfleet` command they run exists with those
flags (checked against the Typer app), PR checks post one sticky cost comment, and
promotion runs dev → staging → prod with the policy pack and each environment's config."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from modelfleet.cli import app
from modelfleet.environment import load_stack_file, stack_paths

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ENVIRONMENTS = ("dev", "staging", "prod")


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _on(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow.get("on") or workflow[True]  # YAML 1.1 reads a bare `on` as true


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _commands(run: str, program: str) -> list[list[str]]:
    """Shell commands in a `run:` block starting with `program`, expressions replaced by a word."""
    text = re.sub(r"\$\{\{.*?\}\}", "EXPR", run).replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            words = words[: next((i for i, w in enumerate(words) if w.startswith(">")), len(words))]
            if words and Path(words[0]).name == program:
                found.append(words[1:])
    return found


def _all_runs() -> list[tuple[str, str]]:
    return [(path.name, step["run"]) for path in sorted(WORKFLOWS.glob("*.yml")) for step in _steps(yaml.safe_load(path.read_text())) if "run" in step]


def test_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS.glob("*.yml")} >= {"pr.yml", "deploy.yml", "drift.yml"}


def test_every_modelfleet_invocation_matches_the_cli() -> None:
    root = typer.main.get_command(app)
    seen = set()
    for workflow, run in _all_runs():
        for words in _commands(run, "modelfleet"):
            command: Any = root
            while hasattr(command, "commands") and words and words[0] in command.commands:
                command = command.commands[words.pop(0)]
            assert not hasattr(command, "commands"), f"{workflow}: `modelfleet {' '.join(words)}` names no command"
            seen.add(command.name)
            options = {opt for param in command.params for opt in param.opts}
            for word in words:
                flag = word.partition("=")[0]
                assert not flag.startswith("--") or flag in options, f"{workflow}: `modelfleet {command.name}` has no option {flag}"
            try:  # parse and convert (choices, types) exactly as the CLI would, without running the command
                command.make_context(command.name, list(words))
            except Exception as e:  # noqa: BLE001 - the vendored click's UsageError/BadParameter
                pytest.fail(f"{workflow}: `modelfleet {command.name} {' '.join(words)}` is rejected by the CLI: {e}")
    assert "pr" in seen, f"the PR workflow must run `modelfleet pr` (ran {sorted(seen)})"


def test_pr_workflow_runs_pr_once_posts_one_comment_and_fails_on_any_nonzero_exit() -> None:
    workflow = _load("pr.yml")
    assert set(_on(workflow)["pull_request"]["paths"]) == {"model_specs/**", "stacks/**", "policies/**"}
    steps = _steps(workflow)
    runs = [s for s in steps if "modelfleet pr" in s.get("run", "")]
    assert len(runs) == 1
    assert "--format github" in runs[0]["run"] and "--comment pr-comment.md" in runs[0]["run"] and "--base" in runs[0]["run"]
    assert not any(re.search(r"modelfleet (validate|check|cost)\b", s.get("run", "")) for s in steps), "one plan: pr does it all"
    comments = [s for s in steps if str(s.get("uses", "")).startswith("marocchino/sticky-pull-request-comment@")]
    assert len(comments) == 1 and comments[0]["with"]["path"] == "pr-comment.md" and comments[0]["with"]["header"]
    gate = steps[-1]
    assert f"steps.{runs[0]['id']}.outputs.exit != '0'" in gate["if"] and "exit 1" in gate["run"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "pr --base needs the base branch's history"
    assert workflow["permissions"]["pull-requests"] == "write"


def test_deploy_promotes_dev_staging_prod_with_policies() -> None:
    workflow = _load("deploy.yml")
    assert _on(workflow)["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    assert "dev" in jobs and "stacks" in jobs["dev"]["needs"]
    assert "dev" in jobs["staging"]["needs"] and "staging" in jobs["prod"]["needs"], "promotion order is dev → staging → prod"
    for env in ENVIRONMENTS:
        job = jobs[env]
        assert job["environment"] == env, f"job {env} must run in the GitHub environment {env} (prod: required reviewers)"
        assert any(str(s.get("uses", "")) == "pulumi/actions@v6" for s in job["steps"])
        pulumi = [words for s in job["steps"] if "run" in s for words in _commands(s["run"], "pulumi")]
        verbs = [w[0] for w in pulumi]
        assert verbs.index("preview") < verbs.index("up"), f"{env}: preview must run before up"
        for words in pulumi:
            if words[0] in ("preview", "up"):
                assert words[words.index("--policy-pack") + 1] == "policies"
                config = words[words.index("--policy-pack-config") + 1]
                assert config == f"policies/config/{env}.json" and (ROOT / config).is_file(), f"{env}: {config}"
    assert workflow["concurrency"]["cancel-in-progress"] is False, "a running `pulumi up` must never be cancelled"


def test_deploy_lists_stacks_per_environment_like_modelfleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = next(s["run"] for s in _load("deploy.yml")["jobs"]["stacks"]["steps"] if s.get("id") == "list")
    output = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.chdir(ROOT)
    exec(compile(script, "deploy.yml:stacks", "exec"), {})  # noqa: S102 - the workflow's own script, run as Actions would
    listed = {k: yaml.safe_load(v) for k, v in (line.split("=", 1) for line in output.read_text().splitlines())}
    stacks = [load_stack_file(p) for p in stack_paths(ROOT / "stacks")]
    for env in ENVIRONMENTS:
        assert listed[env] == [s.stack for s in stacks if s.environment == env]


def test_drift_refreshes_every_stack_read_only() -> None:
    workflow = _load("drift.yml")
    assert _on(workflow)["schedule"][0]["cron"]
    refresh = [w for _, run in _all_runs() for w in _commands(run, "pulumi") if w and w[0] == "refresh"]
    assert refresh and all("--preview-only" in w for w in refresh), "drift detection must never change state"
