"""Canary and blue/green on plain Deployments through Argo Rollouts, in the four rollout states.

Each state is a stack file in a scratch project (differing only in `modelfleet:stable`, as
`modelfleet promote` / `abort` leave it), previewed offline. Per state the plan must show what
a reviewer checks: how many versions run and with what split, the Rollout's steps or Services,
the AnalysisTemplate that aborts a failing rollout (queries on the new version's pods only), the
autoscaler on the Rollout, and the cost of both slots. The Rollout and AnalysisTemplate validate
against the upstream CRDs of the pinned controller (tests/fixtures/crds).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from crd_schemas import problems

from modelfleet import argo_rollouts, preview
from modelfleet.cost import estimate_plan
from modelfleet.plan import ResourcePlan, as_int
from modelfleet.render import render_plan, write_rendered
from modelfleet.rollout import STATE_TYPE
from policies.rules import RULES_BY_ID

ROOT = Path(__file__).resolve().parent.parent
ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
ANALYSIS = "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate"
STATES = {
    "none": "",
    "progress": "  modelfleet:stable: {llama3-8b-chat: 1.3.2}\n",
    "promoted": "  modelfleet:stable: {llama3-8b-chat: 1.4.0}\n",
    "aborted": "  modelfleet:stable: {llama3-8b-chat: {version: 1.3.2, aborted: 1.4.0}}\n",
}
STACK = """config:
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:serving: deployment
  modelfleet:cluster:
    kind: onprem
    gpu_nodes: [{{name: gpu-node-03, accelerator: L4, count: 8}}]
    gpu_hour_usd: {{L4: 0.35}}
  modelfleet:registry: {{kind: external, url: harbor.lab.local/ml}}
  modelfleet:addons: {{keda: present, {argo}monitor_labels: {{release: kps}}}}
  modelfleet:alerts: {{alertmanager_receiver: ml-oncall}}
  modelfleet:models: ["llama3-8b-chat"]
"""
# the bundled spec is a canary (10 %, bake 10 min, rollback_on error_rate + latency_p99), prod min 2 / max 8
BLUE_GREEN = ("strategy: canary\n  canary_percent: 10\n", "strategy: blue_green\n")


def _project(tmp: Path, blue_green: bool) -> Path:
    shutil.copytree(ROOT / "model_specs", tmp / "model_specs")
    shutil.copy(ROOT / "Pulumi.yaml", tmp / "Pulumi.yaml")
    if blue_green:
        spec = tmp / "model_specs" / "llama3-8b-chat.yaml"
        assert BLUE_GREEN[0] in spec.read_text()
        spec.write_text(spec.read_text().replace(*BLUE_GREEN))
    (tmp / "stacks").mkdir()
    for state, stable in STATES.items():
        (tmp / "stacks" / f"Pulumi.argo-{state}.yaml").write_text(STACK.format(argo="argo_rollouts: install, ") + stable)
    (tmp / "stacks" / "Pulumi.plain-progress.yaml").write_text(STACK.format(argo="") + STATES["progress"])
    (tmp / "stacks" / "Pulumi.present-progress.yaml").write_text(STACK.format(argo="argo_rollouts: present, ") + STATES["progress"])
    return tmp


@pytest.fixture(scope="module")
def canary_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("argo-canary"), blue_green=False)


@pytest.fixture(scope="module")
def canary(canary_dir: Path) -> dict[str, ResourcePlan]:
    return {p.stack: p for p in preview.preview_stacks(canary_dir)}


@pytest.fixture(scope="module")
def blue_green(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    project = _project(tmp_path_factory.mktemp("argo-bg"), blue_green=True)
    return {p.stack: p for p in preview.preview_stacks(project, ["argo-progress", "argo-promoted", "argo-aborted"])}


def one(plan: ResourcePlan, type_: str) -> dict:
    [r] = plan.of_type(type_)
    return as_int(r.inputs)


def rollouts(plan: ResourcePlan) -> list[dict]:
    return plan.config["rollouts"]


# --- canary ------------------------------------------------------------------------------

def test_no_rollout_is_one_slot_without_canary_fields(canary):
    for state in ("none", "promoted"):
        plan = canary[f"argo-{state}"]
        spec = one(plan, ROLLOUT)["spec"]
        assert spec["strategy"]["canary"]["steps"] == [], f"{state}: nothing to split, a template change goes straight to 100 %"
        assert "analysis" not in spec["strategy"]["canary"] and not plan.of_type(ANALYSIS), state
        assert rollouts(plan) == [], state


def test_canary_in_progress_splits_two_versions_and_analyses_the_new_one(canary):
    plan = canary["argo-progress"]
    [r] = rollouts(plan)
    assert (r["stable_version"], r["new_version"], r["traffic"]) == ("1.3.2", "1.4.0", {"1.3.2": 90, "1.4.0": 10})
    assert r["traffic_router"] == argo_rollouts.TRAFFIC_ROUTER and r["rollback"]["automatic"] is True
    assert r["analysis"]["conditions"] == ["error_rate", "latency_p99"]
    canary_spec = one(plan, ROLLOUT)["spec"]["strategy"]["canary"]
    assert canary_spec["steps"] == [{"setWeight": 10}, {"pause": {"duration": "10m"}}, {"pause": {}}], \
        "canary_percent, the bake, then held until `modelfleet promote`"
    assert canary_spec["analysis"] == {"templates": [{"templateName": "llama3-8b-chat-rollback"}], "startingStep": 1}
    metrics = {m["name"]: m for m in one(plan, ANALYSIS)["spec"]["metrics"]}
    assert set(metrics) == {"error-rate", "latency-p99"}
    for m in metrics.values():
        query = m["provider"]["prometheus"]["query"]
        assert 'model_version="1.4.0"' in query and 'namespace="llama3-8b-chat"' in query, "only the new version's pods"
        assert m["provider"]["prometheus"]["address"] == "http://prometheus-operated.monitoring.svc:9090"
    assert "vllm:e2e_request_latency_seconds_bucket" in metrics["latency-p99"]["provider"]["prometheus"]["query"], "vLLM's real series"
    assert metrics["error-rate"]["successCondition"].endswith("result[0] <= 5")
    assert metrics["latency-p99"]["successCondition"].endswith("result[0] <= 2000")
    assert "count" not in metrics["error-rate"], "background analysis runs until promote or abort"


def test_the_podmonitor_labels_series_with_the_version_the_analysis_selects(canary):
    endpoint = one(canary["argo-progress"], "kubernetes:monitoring.coreos.com/v1:PodMonitor")["spec"]["podMetricsEndpoints"][0]
    assert {"sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_version"], "targetLabel": "model_version",
            "action": "replace"} in endpoint["relabelings"]
    template = one(canary["argo-progress"], "kubernetes:apps/v1:Deployment")["spec"]["template"]
    assert template["metadata"]["labels"]["app.kubernetes.io/version"] == "1.4.0"


def test_the_rollout_drives_the_deployment_and_the_autoscaler_scales_the_rollout(canary):
    plan = canary["argo-progress"]
    rollout = one(plan, ROLLOUT)
    assert rollout["spec"]["workloadRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama3-8b-chat",
                                              "scaleDown": "progressively"}
    assert "template" not in rollout["spec"], "the pod template stays on the Deployment"
    [res] = plan.of_type(ROLLOUT)
    assert res.options["ignoreChanges"] == ["spec.replicas"], "KEDA owns the Rollout's replicas"
    [deployment], [analysis] = plan.of_type("kubernetes:apps/v1:Deployment"), plan.of_type(ANALYSIS)
    assert res.urn in deployment.options["dependsOn"], "the steps are in place before a new pod template reaches the Deployment"
    assert analysis.urn in res.options["dependsOn"], "the AnalysisTemplate exists before the Rollout names it"
    ref = one(plan, "kubernetes:keda.sh/v1alpha1:ScaledObject")["spec"]["scaleTargetRef"]
    assert ref == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "llama3-8b-chat"}
    pdb = one(plan, "kubernetes:policy/v1:PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert pdb == rollout["spec"]["selector"]["matchLabels"], "the PDB selects the Rollout's pods of both versions"


def test_replicas_at_max_counts_the_rollouts_pods(canary):
    rules = one(canary["argo-progress"], "kubernetes:monitoring.coreos.com/v1:PrometheusRule")["spec"]["groups"][0]["rules"]
    [at_max] = [r for r in rules if r["alert"] == "ModelReplicasAtMax"]
    assert at_max["expr"] == 'sum(kube_pod_status_ready{namespace="llama3-8b-chat",condition="true"}) >= 8', \
        "the Deployment sits at 0 under workloadRef: kube_deployment_status_replicas would never fire"


def test_abort_sends_the_new_version_to_zero(canary):
    plan = canary["argo-aborted"]
    [r] = rollouts(plan)
    assert r["phase"] == "aborted" and r["traffic"] == {"1.3.2": 100, "1.4.0": 0}
    assert one(plan, ROLLOUT)["spec"]["strategy"]["canary"]["steps"] == [{"setWeight": 0}, {"pause": {}}]
    assert not plan.of_type(ANALYSIS), "nothing left to analyse"


def test_replica_ratio_warns_when_it_cannot_give_the_percent(canary):
    [r] = rollouts(canary["argo-progress"])
    assert r["replicas_at_min"] == {"stable": 2, "new": 1, "effective_new_percent": 33.3}
    [warning] = [d for d in canary["argo-progress"].diagnostics if d.field == "rollout.canary_percent"]
    assert warning.level == "warning" and "about 33%" in warning.message and "not 10%" in warning.message


def test_argo_rollouts_is_installed_pinned(canary):
    [release] = [r for r in canary["argo-progress"].of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "argo-rollouts"]
    assert (release.inputs["version"], release.inputs["repositoryOpts"]["repo"]) == ("2.41.1", "https://argoproj.github.io/argo-helm")
    assert argo_rollouts.CONTROLLER_VERSION == "v1.9.1"
    assert "argo-rollouts-v1.9.1-rollouts.yaml" in (ROOT / "tests/fixtures/crds/PROVENANCE.md").read_text(), "CRDs of that controller"


def test_present_assumes_the_controller_and_still_drives_the_deployment(canary):
    plan = canary["present-progress"]
    assert not [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "argo-rollouts"]
    assert one(plan, ROLLOUT)["spec"]["strategy"]["canary"]["steps"][0] == {"setWeight": 10} and plan.of_type(ANALYSIS)


def test_without_the_addon_todays_warning_stays(canary):
    plan = canary["plain-progress"]
    assert not plan.of_type(ROLLOUT) and not plan.of_type(ANALYSIS)
    assert any(d.field == "rollout.strategy" and "falls back to a rolling update" in d.message for d in plan.diagnostics)
    [r] = rollouts(plan)
    assert r["rollback"]["automatic"] is False


def test_cost_of_a_canary_is_both_slots(canary):
    by_stack = {name: estimate_plan(canary[name]) for name in ("argo-progress", "argo-promoted")}
    [rc] = by_stack["argo-progress"].rollouts
    rate = 730 * 0.35
    # prod min 2: Argo runs 1 canary pod next to 2 stable ones (one surge pod), at max 8: 1 next to 8
    assert float(rc.extra_min) == pytest.approx(rate) and float(rc.extra_max) == pytest.approx(rate)
    progress, promoted = by_stack["argo-progress"].models[0], by_stack["argo-promoted"].models[0]
    assert float(progress.monthly_min) == pytest.approx(3 * rate) and float(promoted.monthly_min) == pytest.approx(2 * rate)
    assert float(progress.monthly_max) == pytest.approx(9 * rate) and float(promoted.monthly_max) == pytest.approx(8 * rate)


# --- blue/green --------------------------------------------------------------------------

def test_blue_green_in_progress_has_a_preview_and_waits_for_promote(blue_green):
    plan = blue_green["argo-progress"]
    bg = one(plan, ROLLOUT)["spec"]["strategy"]["blueGreen"]
    assert bg["activeService"] == "llama3-8b-chat" and bg["previewService"] == "llama3-8b-chat-preview"
    assert bg["autoPromotionEnabled"] is False
    assert bg["prePromotionAnalysis"] == {"templates": [{"templateName": "llama3-8b-chat-rollback"}]}
    services = {as_int(s.inputs)["metadata"]["name"] for s in plan.of_type("kubernetes:core/v1:Service")}
    assert services == {"llama3-8b-chat", "llama3-8b-chat-preview"}
    assert all(m["count"] == 10 for m in one(plan, ANALYSIS)["spec"]["metrics"]), "bounded: one measurement per bake minute"
    [r] = rollouts(plan)
    assert r["versions"] == ["1.3.2", "1.4.0"] and r["traffic"] == {"1.3.2": 100, "1.4.0": 0}
    [rc] = estimate_plan(plan).rollouts
    assert float(rc.extra_min) == pytest.approx(2 * 730 * 0.35), "the preview runs at full size next to the active version"


def test_blue_green_promote_and_abort(blue_green):
    promoted = one(blue_green["argo-promoted"], ROLLOUT)["spec"]["strategy"]["blueGreen"]
    assert promoted["autoPromotionEnabled"] is True and "prePromotionAnalysis" not in promoted
    aborted = one(blue_green["argo-aborted"], ROLLOUT)["spec"]["strategy"]["blueGreen"]
    assert aborted["autoPromotionEnabled"] is False and aborted["previewReplicaCount"] == 0


# --- schemas, queries, bad input ---------------------------------------------------------

def test_rollout_objects_validate_against_the_upstream_crds(canary, blue_green):
    seen = set()
    for plan in [*canary.values(), *blue_green.values()]:
        docs = [as_int(r.inputs) for r in plan.resources if r.type in (ROLLOUT, ANALYSIS)]
        docs += [d for d in (yaml.safe_load(t) for t in render_plan(plan).files.values()) if d.get("apiVersion") == "argoproj.io/v1alpha1"
                 and d.get("kind") in ("Rollout", "AnalysisTemplate")]
        for doc in docs:
            doc = {k: v for k, v in doc.items() if not k.startswith("__")}
            assert problems(doc) == [], f"{plan.stack} {doc['kind']}: {problems(doc)}"
            seen.add(doc["kind"])
    assert seen == {"Rollout", "AnalysisTemplate"}


def test_rendered_rollout_leaves_replicas_to_the_autoscaler(canary):
    files = render_plan(canary["argo-progress"]).files
    [doc] = [d for d in map(yaml.safe_load, files.values()) if d.get("kind") == "Rollout"]
    assert "replicas" not in doc["spec"], "Argo CD / Flux would fight KEDA"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)")
def test_analysis_queries_parse_in_promtool(canary, blue_green, tmp_path):
    queries = [m["provider"]["prometheus"]["query"] for plan in (canary["argo-progress"], blue_green["argo-progress"])
               for m in one(plan, ANALYSIS)["spec"]["metrics"]]
    rules = {"groups": [{"name": "analysis", "rules": [{"record": f"analysis:q{i}", "expr": q} for i, q in enumerate(queries)]}]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    done = subprocess.run(["promtool", "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_rollback_on_the_runtime_cannot_measure_is_a_located_error(canary_dir, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(canary_dir, project)
    spec = project / "model_specs" / "llama3-8b-chat.yaml"
    # TorchServe exports no latency histogram (runtime profile): latency_p99 cannot be analysed
    spec.write_text(spec.read_text().replace("runtime: vllm", "runtime: torchserve").replace("metric: concurrency", "metric: cpu_utilization"))
    done = subprocess.run([sys.executable, "-m", "modelfleet.cli", "preview", "--project-dir", str(project), "--stack", "argo-progress",
                           "--format", "json"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [error] = json.loads(done.stdout)["problems"]
    assert (error["file"], error["field"]) == (str(spec), "rollout.rollback_on") and isinstance(error["line"], int)
    assert error["message"].startswith("llama3-8b-chat on stack 'argo-progress': latency_p99 cannot be measured")
    assert "drop latency_p99 from rollout.rollback_on (allowed here: error_rate)" in error["fix"]


# the table of upstream's TestApproximateWeightedNewStableReplicaCounts (argoproj/argo-rollouts v1.9.1
# utils/replicaset/canary_test.go), rows with maxSurge 0 or 1: (replicas, weight, maxSurge, canary, stable)
UPSTREAM = [(0, 0, 0, 0, 0), (0, 50, 1, 0, 0), (1, 0, 0, 0, 1), (1, 1, 0, 0, 1), (1, 49, 0, 0, 1), (1, 50, 0, 1, 0),
            (1, 99, 0, 1, 0), (1, 100, 0, 1, 0), (1, 0, 1, 0, 1), (1, 1, 1, 1, 1), (1, 49, 1, 1, 1), (1, 50, 1, 1, 1),
            (1, 99, 1, 1, 1), (1, 100, 1, 1, 0), (2, 0, 0, 0, 2), (2, 1, 0, 1, 1), (2, 50, 0, 1, 1), (2, 99, 0, 1, 1),
            (2, 100, 0, 2, 0), (2, 0, 1, 0, 2), (2, 1, 1, 1, 2), (2, 50, 1, 1, 1), (2, 99, 1, 2, 1), (2, 100, 1, 2, 0),
            (3, 10, 0, 1, 2), (3, 25, 0, 1, 2), (3, 33, 0, 1, 2), (3, 34, 0, 1, 2), (3, 49, 0, 1, 2), (3, 50, 0, 2, 1),
            (3, 10, 1, 1, 3), (3, 25, 1, 1, 3), (3, 33, 1, 1, 2), (3, 34, 1, 1, 2), (3, 49, 1, 2, 2), (3, 50, 1, 2, 2),
            (10, 0, 1, 0, 10), (10, 1, 0, 1, 9), (10, 14, 0, 1, 9), (10, 15, 0, 2, 8), (10, 16, 0, 2, 8), (10, 99, 0, 9, 1),
            (10, 100, 1, 10, 0), (10, 1, 1, 1, 10), (10, 18, 1, 2, 9), (10, 19, 1, 2, 9), (10, 20, 1, 2, 8), (10, 23, 1, 2, 8),
            (10, 24, 1, 3, 8), (10, 25, 1, 3, 8), (10, 99, 1, 10, 1), (10, 100, 1, 10, 0)]


@pytest.mark.parametrize(("replicas", "weight", "surge", "canary_pods", "stable_pods"), UPSTREAM)
def test_replica_split_matches_argo_rollouts(replicas, weight, surge, canary_pods, stable_pods):
    assert argo_rollouts.canary_replicas(replicas, weight, surge) == (canary_pods, stable_pods)


GOLDEN = ROOT / "tests" / "golden" / "render" / "argo-canary"


def test_render_golden_for_a_canary_in_progress(canary):
    """What Argo CD / Flux apply for a canary in progress: review a change, then MODELFLEET_UPDATE_GOLDEN=1."""
    rendered = render_plan(canary["argo-progress"])
    if os.environ.get("MODELFLEET_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        GOLDEN.mkdir(parents=True)
        write_rendered(rendered, GOLDEN)
    expected = {p.relative_to(GOLDEN).as_posix(): p.read_text() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    assert sorted(rendered.files) == sorted(expected), "rendered file set changed: review, then MODELFLEET_UPDATE_GOLDEN=1"
    changed = [rel for rel, text in rendered.files.items() if text != expected[rel]]
    assert not changed, f"rendered YAML changed in {changed}: review, then MODELFLEET_UPDATE_GOLDEN=1"
    assert {"llama3-8b-chat/rollout-llama3-8b-chat.yaml", "llama3-8b-chat/analysistemplate-llama3-8b-chat-rollback.yaml"} <= set(expected)


def _counter(labels: str, per_minute: int) -> dict[str, str]:
    return {"series": f"http_requests_total{{{labels}}}", "values": f"0+{per_minute}x40"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)")
def test_error_rate_analysis_reads_only_the_new_versions_pods(canary, tmp_path):
    """vLLM's real series, both versions in one namespace: the stable one failing half its requests must
    not abort the canary, the canary failing must."""
    [metric] = [m for m in one(canary["argo-progress"], ANALYSIS)["spec"]["metrics"] if m["name"] == "error-rate"]
    query = metric["provider"]["prometheus"]["query"]
    ns = 'namespace="llama3-8b-chat"'

    def case(stable_5xx: int, new_5xx: int, expected: float) -> dict:
        series = [_counter(f'{ns},model_version="1.3.2",status="2xx"', 60), _counter(f'{ns},model_version="1.3.2",status="5xx"', stable_5xx),
                  _counter(f'{ns},model_version="1.4.0",status="2xx"', 60), _counter(f'{ns},model_version="1.4.0",status="5xx"', new_5xx)]
        return {"interval": "1m", "input_series": series,
                "promql_expr_test": [{"expr": query, "eval_time": "30m", "exp_samples": [{"labels": "{}", "value": expected}]}]}

    tests = {"tests": [case(stable_5xx=60, new_5xx=0, expected=0), case(stable_5xx=0, new_5xx=60, expected=50)]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": []}))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", **tests}))
    done = subprocess.run(["promtool", "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_preview_line_says_how_traffic_is_weighted(canary):
    from modelfleet.render_preview import rollout_line

    [r] = rollouts(canary["argo-progress"])
    line = rollout_line(r)
    assert "1.3.2 90%, 1.4.0 10%, weighted by replica ratio (no traffic router)" in line
    assert "about 33.3% to 1.4.0" in line and "automatic: Argo Rollouts AnalysisTemplate" in line


# --- rollout policies over the real Argo plans -------------------------------------------

def _stack_resources(plan: ResourcePlan, started_at: str) -> list[dict]:
    """The plan as the stack policies see it, with the rollout's start planted (no Git here)."""
    out = []
    for r in plan.resources:
        props = dict(r.inputs)
        if r.type == STATE_TYPE:
            props["startedAt"] = started_at
        out.append({"type": r.type, "name": r.name, "props": props})
    return out


@pytest.mark.parametrize(("plans", "state", "doubled"), [
    ("blue_green", "progress", True),    # the preview runs at full size next to the active version
    ("blue_green", "aborted", False),    # previewReplicaCount 0: no second set of pods
    ("blue_green", "promoted", False),
    ("canary", "progress", False),       # replica ratio splits the existing replicas
    ("canary", "promoted", False),
])
def test_rollout_policies_read_the_argo_plans(plans, state, doubled, request):
    plan = request.getfixturevalue(plans)[f"argo-{state}"]
    resources = _stack_resources(plan, "2026-12-01T08:00:00Z")
    config = {"environment": "prod", "now": "2026-12-01T08:11:00Z"}  # bake is 10 minutes
    assert RULES_BY_ID["MF-ROL-002"].check_stack(resources, config) == [], "no slot is left behind"
    over = [name for name, _ in RULES_BY_ID["MF-ROL-003"].check_stack(resources, config)]
    assert over == (["llama3-8b-chat-rollout-state"] if doubled else [])
    early = {**config, "now": "2026-12-01T08:09:00Z"}
    assert RULES_BY_ID["MF-ROL-003"].check_stack(resources, early) == [], "within the bake time"
