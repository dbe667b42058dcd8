"""`modelfleet pr --base REF` on throwaway git repositories built from the bundled project:
the stacks a change affects, the resource diff, min/expected/max cost deltas, policy
verdicts (new ones marked), one Markdown comment, annotations and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import git as _git
from gitrepo import on_feature_branch
from typer.testing import CliRunner

from modelfleet.cli import app

pytestmark = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="git is not installed")
RUNNER = CliRunner()
RESNET = "model_specs/resnet50-vision.yaml"


@pytest.fixture()
def repo(project: Path) -> Path:
    return on_feature_branch(project)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def pr(repo: Path, *args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, ["pr", "--base", "main", "--jobs", "1", *args, "--project-dir", str(repo)])
    return result.exit_code, result.stdout, result.stderr


def by_stack(doc: dict) -> dict[str, dict]:
    return {s["stack"]: s for s in doc["stacks"]}


def test_raising_prod_min_replicas_shows_the_guaranteed_spend(repo: Path) -> None:
    _edit(repo / RESNET, "prod: {autoscaling: {min_replicas: 2,", "prod: {autoscaling: {min_replicas: 3,")
    _git(repo, "commit", "-qam", "more replicas")
    code, out, err = pr(repo, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    stacks = by_stack(doc)
    # dev stacks select the spec but their merged inputs are the same: not affected, not planned
    assert {"lab-dev", "eks-dev"} <= set(doc["unchanged"]) and not {"lab-dev", "eks-dev"} & stacks.keys()
    sagemaker = stacks["sagemaker-prod"]
    assert {"op": "~", "type": "aws:appautoscaling/target:Target", "name": "resnet50-vision-scaling-target",
            "model": "resnet50-vision", "changed": ["minCapacity"]} in sagemaker["resources"]
    cost = sagemaker["cost"]
    assert float(cost["delta_min"]) > 0 and float(cost["delta_expected"]) > 0 and cost["delta_max"] == "0.00"
    assert all(s["violations"] == [] or all(not v["new"] for v in s["violations"]) for s in doc["stacks"])
    assert doc["plans"] == 2 * len(stacks)  # one plan per stack and side, shared by diff, cost and policies

    code, md, _ = pr(repo)
    assert code == 0
    assert md.startswith("### modelfleet pr: ✅")
    assert "```diff\n~ aws:appautoscaling/target:Target resnet50-vision-scaling-target (minCapacity)" in md
    assert f"(+${float(cost['delta_min']):,.2f}, +" in md and "(±$0.00)" in md  # a min change is a change; max unchanged


def test_a_new_mandatory_violation_fails_with_annotations_and_is_marked_new(repo: Path) -> None:
    _edit(repo / RESNET, "prod: {autoscaling: {min_replicas: 2,", "prod: {autoscaling: {min_replicas: 1,")
    _git(repo, "commit", "-qam", "fewer replicas")
    code, out, _ = pr(repo, "-f", "json")
    assert code == 1
    new = [v for s in json.loads(out)["stacks"] for v in s["violations"] if v["new"]]
    assert new and {v["rule"] for v in new} == {"MF-GPU-008"} and all(v["level"] == "mandatory" for v in new)
    comment = repo / "comment.md"
    code, out, _ = pr(repo, "-f", "github", "--comment", str(comment))
    assert code == 1
    assert any(line.startswith("::error title=MF-GPU-008") for line in out.splitlines())
    assert out.splitlines()[-1].startswith("::notice title=modelfleet pr::❌")
    assert "MF-GPU-008 **new**" in comment.read_text()


def test_invalid_input_is_exit_2_with_located_annotations(repo: Path) -> None:
    _edit(repo / RESNET, "min_replicas:", "min_replica:")
    code, out, _ = pr(repo, "-f", "github")
    assert code == 2
    assert any(line.startswith("::error file=") and "resnet50-vision.yaml" in line and ",line=" in line for line in out.splitlines())


def test_added_spec_and_deleted_stack_are_creates_and_deletes(repo: Path) -> None:
    text = (repo / RESNET).read_text().replace("name: resnet50-vision", "name: resnet50-copy", 1)
    (repo / "model_specs" / "resnet50-copy.yaml").write_text(text)
    (repo / "stacks" / "Pulumi.eks-dev.yaml").unlink()
    code, out, err = pr(repo, "-f", "json")
    assert code == 0, err
    stacks = by_stack(json.loads(out))
    assert stacks["eks-dev"]["reason"] == "stack deleted"
    assert stacks["eks-dev"]["resources"] and {r["op"] for r in stacks["eks-dev"]["resources"]} == {"-"}
    assert float(stacks["eks-dev"]["cost"]["after_max"]) == 0 and float(stacks["eks-dev"]["cost"]["delta_max"]) < 0
    added = [r for r in stacks["lab-kserve"]["resources"] if r["model"] == "resnet50-copy"]
    assert added and {r["op"] for r in added} == {"+"}


def test_nothing_changed(repo: Path) -> None:
    code, out, _ = pr(repo)
    assert code == 0 and "no change affects" in out


def test_parallel_planning_gives_the_same_report(repo: Path) -> None:
    _edit(repo / RESNET, "prod: {autoscaling: {min_replicas: 2,", "prod: {autoscaling: {min_replicas: 3,")
    serial = json.loads(pr(repo, "-f", "json")[1])
    # forked workers from a fresh CLI process, as CI runs it
    done = subprocess.run([sys.executable, "-m", "modelfleet.cli", "pr", "--base", "main", "--jobs", "2", "-f", "json",
                           "--project-dir", str(repo)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert done.returncode == 0, done.stderr
    parallel = json.loads(done.stdout)
    assert parallel["jobs"] == 2
    for doc in (serial, parallel):
        doc.pop("jobs")
    assert parallel == serial
