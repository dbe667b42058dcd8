"""Rollout policies over real plans: each model's RolloutState carries the rollout into the plan
(with the commit date that set its version), and MF-ROL-001/002/003 report a production rollout
without rollback conditions, a second slot left behind after promote, and two slots running longer
than the bake time — on Azure ML, KServe and SageMaker stacks of a scratch Git project whose
commit dates are fixed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from gitrepo import commit_at
from gitrepo import git as _git
from test_rollout_targets import BASES, URIS

from modelfleet import mocked_cloud, preview
from modelfleet.check import run_checks
from modelfleet.cost import estimate_plan
from modelfleet.plan import PlannedResource, ResourcePlan
from modelfleet.render import render_plan
from modelfleet.render_preview import rollout_line
from modelfleet.rollout import STATE_TYPE
from modelfleet.rollout_clock import rollout_started
from policies.rules import RULES_BY_ID

ROOT = Path(__file__).resolve().parent.parent
SPEC = "model_specs/llama3-8b-chat.yaml"
BASE_DATE, CHANGE_DATE, LATER_DATE = "2026-11-02T08:00:00+00:00", "2026-12-01T09:00:00+01:00", "2026-12-01T11:00:00+00:00"
STARTED = "2026-12-01T08:00:00Z"  # CHANGE_DATE in UTC
BAKE = 10  # llama3-8b-chat's rollout.bake_minutes
ROL = ("MF-ROL-001", "MF-ROL-002", "MF-ROL-003")


def _project(tmp: Path, git: bool) -> Path:
    """llama3-8b-chat at 1.3.2 (committed BASE_DATE), then 1.4.0 (CHANGE_DATE), then an unrelated
    edit (LATER_DATE); stacks per platform with a rollout in progress (stable 1.3.2) or promoted."""
    (tmp / "model_specs").mkdir(parents=True)
    (tmp / "stacks").mkdir()
    spec = tmp / SPEC
    text = (ROOT / SPEC).read_text()
    assert "version: 1.4.0" in text
    for base, stack in BASES.items():
        (tmp / "stacks" / f"Pulumi.{base}-progress.yaml").write_text(stack + "  modelfleet:stable: {llama3-8b-chat: 1.3.2}\n")
        (tmp / "stacks" / f"Pulumi.{base}-promoted.yaml").write_text(stack + "  modelfleet:stable: {llama3-8b-chat: 1.4.0}\n")
    spec.write_text(text.replace("version: 1.4.0", "version: 1.3.2"))
    if git:
        _git(tmp, "init", "-q", "-b", "main")
        commit_at(tmp, "base", BASE_DATE)
    spec.write_text(text)
    if git:
        commit_at(tmp, "llama3-8b-chat 1.4.0", CHANGE_DATE)
        spec.write_text(text.replace("description:", "# reviewed\ndescription:", 1))
        commit_at(tmp, "comment only", LATER_DATE)
    return tmp


def _preview(project: Path, stack: str, uri_base: str) -> ResourcePlan:
    spec = project / SPEC
    original = spec.read_text()
    spec.write_text(original.replace("s3://acme-models/", URIS[uri_base]))  # the working copy only; HEAD keeps 1.4.0
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(preview._Mocks, "call", lambda self, args: mocked_cloud.call_result(args.token, args.args, self.region))
            return preview.preview_stack(project, stack)
    finally:
        spec.write_text(original)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("rollout-git"), git=True)


@pytest.fixture(scope="module")
def plans(project: Path) -> dict[str, ResourcePlan]:
    return {f"{b}-{s}": _preview(project, f"{b}-{s}", b) for b in BASES for s in ("progress", "promoted")}


def state_of(plan: ResourcePlan) -> PlannedResource:
    [state] = plan.of_type(STATE_TYPE)
    return state


def config_dir(tmp: Path, now: str | None) -> Path:
    """The bundled policy config, with MF-ROL-003 evaluated at `now`."""
    out = tmp / f"config-{(now or 'clock').replace(':', '')}"
    shutil.copytree(ROOT / "policies" / "config", out)
    prod = json.loads((out / "prod.json").read_text())
    prod["MF-ROL-003"]["now"] = now or ""
    (out / "prod.json").write_text(json.dumps(prod))
    return out


def rol_violations(plans: list[ResourcePlan], config: Path) -> list[tuple[str, str, str, str]]:
    report = run_checks(plans, config)
    assert set(ROL) <= {rule for rule, _ in report.rules}, "every rollout rule is evaluated"
    return [(v.rule, v.level, v.stack, v.resource) for v in report.violations if v.rule in ROL]


def test_started_at_is_the_commit_that_set_the_version(project: Path, plans: dict[str, ResourcePlan]) -> None:
    for base in BASES:
        inputs = state_of(plans[f"{base}-progress"]).inputs
        assert (inputs["phase"], inputs["stableVersion"], inputs["version"]) == ("in_progress", "1.3.2", "1.4.0")
        assert inputs["startedAt"] == STARTED, "the 1.4.0 commit, in UTC; the later comment-only commit does not move it"
        [rollout] = plans[f"{base}-progress"].config["rollouts"]
        # (the check and preview lines show the cost engine's second slot in place of the wiring's words)
        assert rollout["started_at"] == STARTED and f"started {STARTED}" in rollout_line({**rollout, "second_slot": None})
        promoted = state_of(plans[f"{base}-promoted"]).inputs
        assert promoted["phase"] == "steady" and promoted.get("startedAt") is None


def test_rollout_state_is_free_and_not_rendered(plans: dict[str, ResourcePlan]) -> None:
    plan = plans["aml-progress"]
    state = state_of(plan)
    assert not state.custom and state.parent == "", "a stack-level component with no cloud resource behind it"
    free = {f.name: f.reason for f in estimate_plan(plan).free}
    assert "rollout state" in free[state.name], "listed as free with its own reason, never silently 0"
    rendered = render_plan(plans["ks-progress"])
    assert not any("RolloutState" in text or "rollout-state" in text for text in (*rendered.files.values(), *rendered.skipped,
                                                                                 *rendered.notes)), \
        "not a Kubernetes object: nothing to render for Argo CD / Flux, and not reported as left to `pulumi up`"


def test_two_slots_longer_than_the_bake_time_are_reported(tmp_path: Path, plans: dict[str, ResourcePlan]) -> None:
    progress = [plans[f"{b}-progress"] for b in BASES]
    within = config_dir(tmp_path, f"2026-12-01T08:{BAKE - 1:02d}:00Z")
    assert rol_violations(progress, within) == []
    over = config_dir(tmp_path, f"2026-12-01T08:{BAKE + 1:02d}:00Z")
    found = rol_violations(progress, over)
    # Azure ML runs two deployments and KServe two revisions; SageMaker removes the old fleet by itself
    assert found == [("MF-ROL-003", "advisory", "aml-progress", "llama3-8b-chat-rollout-state"),
                     ("MF-ROL-003", "advisory", "ks-progress", "llama3-8b-chat-rollout-state")]
    message = next(v.message for v in run_checks([plans["aml-progress"]], over).violations if v.rule == "MF-ROL-003")
    assert f"since {STARTED} (11 min)" in message and "modelfleet promote llama3-8b-chat --stack aml-progress" in message


def test_promoted_stacks_pass_and_a_slot_left_behind_is_reported(tmp_path: Path, plans: dict[str, ResourcePlan]) -> None:
    config = config_dir(tmp_path, "2027-01-01T00:00:00Z")
    promoted = [plans[f"{b}-promoted"] for b in BASES]
    assert rol_violations(promoted, config) == [], "after promote one slot runs on every target"

    aml = plans["aml-promoted"]
    [deployment] = aml.of_type("azure-native:machinelearningservices:OnlineDeployment")
    old = replace(deployment, urn=deployment.urn + "-old", name=deployment.name + "-old",
                  inputs={**deployment.inputs, "tags": {**deployment.inputs["tags"], "modelfleet:version": "1.3.2"}})
    ks = plans["ks-promoted"]
    [isvc] = ks.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    spec = isvc.inputs["spec"]
    canary = replace(isvc, inputs={**isvc.inputs, "spec": {**spec, "predictor": {**spec["predictor"], "canaryTrafficPercent": 10}}})
    planted = [replace(aml, resources=(*aml.resources, old)),
               replace(ks, resources=tuple(canary if r is isvc else r for r in ks.resources))]
    assert rol_violations(planted, config) == [("MF-ROL-002", "mandatory", "aml-promoted", old.name),
                                               ("MF-ROL-002", "mandatory", "ks-promoted", isvc.name)]


def test_a_production_rollout_without_rollback_on_is_advisory(tmp_path: Path, project: Path) -> None:
    scratch = tmp_path / "p"
    shutil.copytree(project, scratch)
    spec = scratch / SPEC
    spec.write_text(spec.read_text().replace("rollback_on: [error_rate, latency_p99]", "rollback_on: []"))
    plan = _preview(scratch, "aml-progress", "aml")
    assert state_of(plan).inputs["rollbackOn"] == []
    found = rol_violations([plan], config_dir(tmp_path, "2026-12-01T08:05:00Z"))
    assert found == [("MF-ROL-001", "advisory", "aml-progress", "llama3-8b-chat-rollout-state")]


def test_a_start_git_cannot_tell_is_said_and_skipped(tmp_path: Path) -> None:
    project = _project(tmp_path / "nogit", git=False)
    plan = _preview(project, "aml-progress", "aml")
    inputs = state_of(plan).inputs
    assert inputs.get("startedAt") is None and "not in a Git repository" in inputs["startedAtNote"]
    [rollout] = plan.config["rollouts"]
    assert "started: unknown (" in rollout_line(rollout) and "not in a Git repository" in rollout_line(rollout)
    assert rol_violations([plan], config_dir(tmp_path, "2030-01-01T00:00:00Z")) == [], "no start, no verdict"


def test_rollout_clock_edge_cases(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    (repo / "model_specs").mkdir(parents=True)
    spec = repo / "model_specs" / "m.yaml"
    spec.write_text("name: m\nversion: 1.4\nenvironments:\n  prod: {version: '2'}\n")
    _git(repo, "init", "-q", "-b", "main")
    commit_at(repo, "m", "2026-10-01T00:00:00Z")
    assert rollout_started(spec, "dev", "1.4").at == "2026-10-01T00:00:00Z", "a float-looking version is text"
    assert rollout_started(spec, "prod", "2").at == "2026-10-01T00:00:00Z", "the environment's override wins"
    spec.write_text("name: m\nversion: '1.5'\n")
    assert "not committed yet" in rollout_started(spec, "dev", "1.5").note
    commit_at(repo, "1.5", "2026-10-02T00:00:00Z")
    shallow = tmp_path / "shallow"
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    assert rollout_started(repo / "model_specs/m.yaml", "dev", "1.5").at == "2026-10-02T00:00:00Z"
    started = rollout_started(shallow / "model_specs/m.yaml", "dev", "1.5")
    assert started.at is None and "fetch-depth: 0" in started.note


def test_check_cli_lists_the_rules_and_shows_verdicts_of_a_rollout(tmp_path: Path, project: Path) -> None:
    scratch = tmp_path / "cli"
    shutil.copytree(project, scratch)
    shutil.copytree(config_dir(tmp_path, "2026-12-01T09:00:00Z"), scratch / "policies" / "config")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    listed = subprocess.run([sys.executable, "-m", "modelfleet.cli", "check", "--list-rules", "--format", "json",
                             "--project-dir", str(scratch)], capture_output=True, text=True, env=env, check=False)
    rules = {r["id"]: r for r in json.loads(listed.stdout)}
    for rule_id in ROL:
        assert rules[rule_id]["area"] == "rollout" and rules[rule_id]["level"] == RULES_BY_ID[rule_id].level
    ran = subprocess.run([sys.executable, "-m", "modelfleet.cli", "check", "--stack", "ks-progress", "--format", "json",
                          "--project-dir", str(scratch)], capture_output=True, text=True, env=env, check=False)
    report = json.loads(ran.stdout)
    assert ran.returncode in (0, 1), ran.stderr  # (the scratch stack lacks cost-center tags: other rules' verdicts)
    assert [(v["rule"], v["resource"]) for v in report["violations"] if v["rule"] in ROL] == [
        ("MF-ROL-003", "llama3-8b-chat-rollout-state")]
    [rollout] = report["rollouts"]
    assert rollout["started_at"] == STARTED and rollout["traffic"] == {"1.3.2": 90, "1.4.0": 10}


def test_a_bundled_prod_stack_mid_rollout_passes_every_mandatory_rule(tmp_path: Path) -> None:
    """lab-kserve (prod) with llama3-8b-chat rolling out 1.3.2 → 1.4.0: the rollout rules speak
    (MF-ROL-003, advisory, once the bake is over) and no mandatory rule fails."""
    project = tmp_path / "bundled"
    shutil.copytree(ROOT / "model_specs", project / "model_specs")
    (project / "stacks").mkdir()
    stack = (ROOT / "stacks" / "Pulumi.lab-kserve.yaml").read_text()
    (project / "stacks" / "Pulumi.lab-kserve.yaml").write_text(stack + "  modelfleet:stable: {llama3-8b-chat: 1.3.2}\n")
    spec = project / SPEC
    text = spec.read_text()
    spec.write_text(text.replace("version: 1.4.0", "version: 1.3.2"))
    _git(project, "init", "-q", "-b", "main")
    commit_at(project, "base", BASE_DATE)
    spec.write_text(text)
    commit_at(project, "llama3-8b-chat 1.4.0", CHANGE_DATE)
    plan = preview.preview_stack(project, "lab-kserve")
    report = run_checks([plan], config_dir(tmp_path, "2026-12-02T08:00:00Z"))
    assert [(v.rule, v.resource) for v in report.violations if v.level == "mandatory"] == []
    assert [(v.rule, v.resource) for v in report.violations if v.rule in ROL] == [("MF-ROL-003", "llama3-8b-chat-rollout-state")]
    assert {state.inputs["model"]: state.inputs["phase"] for state in plan.of_type(STATE_TYPE)}["llama3-8b-chat"] == "in_progress"


@pytest.mark.parametrize(("blue_green", "doubled"), [
    ({"autoPromotionEnabled": False}, True),                             # preview at full size, held until promote
    ({"autoPromotionEnabled": False, "previewReplicaCount": 2}, True),
    ({"autoPromotionEnabled": False, "previewReplicaCount": 0}, False),  # after an abort: no preview pods
    ({"autoPromotionEnabled": True}, False),                             # promoted: one version
])
def test_an_argo_blue_green_preview_is_a_second_slot(blue_green: dict, doubled: bool) -> None:
    labels = {"modelfleet.io/model": "m", "app.kubernetes.io/version": "2"}
    resources = [
        {"type": STATE_TYPE, "name": "m-rollout-state", "props": {"model": "m", "stack": "s", "phase": "in_progress",
                                                                  "version": "2", "stableVersion": "1", "bakeMinutes": 5,
                                                                  "startedAt": "2026-12-01T08:00:00Z"}},
        {"type": "kubernetes:argoproj.io/v1alpha1:Rollout", "name": "m", "props": {
            "metadata": {"labels": labels}, "spec": {"strategy": {"blueGreen": {"activeService": "m", **blue_green}}}}},
    ]
    found = RULES_BY_ID["MF-ROL-003"].check_stack(resources, {"environment": "prod", "now": "2026-12-01T08:06:00Z"})
    assert [name for name, _ in found] == (["m-rollout-state"] if doubled else [])
