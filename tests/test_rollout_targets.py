"""A rollout on every target, through its four states: no rollout (first deploy), in progress,
after promote, after abort — each a stack file in a scratch project previewed offline.

Per state the plan must show what a reviewer checks: how many versions run, the traffic split,
and what rolls the new version back (and whether automatically). The stack files differ only in
`modelfleet:stable`, exactly as `modelfleet promote` / `abort` leave them.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from modelfleet import mocked_cloud, preview
from modelfleet.plan import ResourcePlan
from modelfleet.targets.azureml import deployment_name

ROOT = Path(__file__).resolve().parent.parent
STATES = {
    "none": "",
    "progress": "  modelfleet:stable: {llama3-8b-chat: 1.3.2}\n",
    "promoted": "  modelfleet:stable: {llama3-8b-chat: 1.4.0}\n",
    "aborted": "  modelfleet:stable: {llama3-8b-chat: {version: 1.3.2, aborted: 1.4.0}}\n",
}
BASES = {
    "sm": """config:
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: sagemaker
  modelfleet:registry: {kind: ecr}
  modelfleet:alerts: {sns_topic_arn: "arn:aws:sns:us-east-1:123456789012:ml-oncall"}
  modelfleet:models: ["llama3-8b-chat"]
""",
    "aml": """config:
  azure-native:location: eastus
  modelfleet:environment: prod
  modelfleet:platform: azureml
  modelfleet:workspace: {name: ml-prod-ws, resource_group: ml-prod-rg}
  modelfleet:registry: {kind: acr}
  modelfleet:alerts: {action_group_id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/microsoft.insights/actionGroups/oncall"}
  modelfleet:models: ["llama3-8b-chat"]
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
""",
    "ks": """config:
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:serving: kserve
  modelfleet:cluster:
    kind: onprem
    gpu_nodes: [{name: gpu-node-03, accelerator: L4, count: 4}]
    gpu_hour_usd: {L4: 0.35}
  modelfleet:registry: {kind: external, url: harbor.lab.local/ml}
  modelfleet:addons: {keda: present, kserve: present}
  modelfleet:alerts: {alertmanager_receiver: ml-oncall}
  modelfleet:models: ["llama3-8b-chat"]
""",
}

# where each platform reads weights from (Azure ML registers Blob storage or its MLflow registry only)
URIS = {"sm": "s3://acme-models/", "aml": "az://acmemodels/models/", "ks": "s3://acme-models/"}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    plans: dict[str, ResourcePlan] = {}
    for base, text in BASES.items():
        project = tmp_path_factory.mktemp(f"rollout-{base}")
        shutil.copytree(ROOT / "model_specs", project / "model_specs")
        spec = project / "model_specs" / "llama3-8b-chat.yaml"
        spec.write_text(spec.read_text().replace("s3://acme-models/", URIS[base]))
        (project / "stacks").mkdir()
        for state, stable in STATES.items():
            (project / "stacks" / f"Pulumi.{base}-{state}.yaml").write_text(text + stable)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(preview._Mocks, "call", lambda self, args: mocked_cloud.call_result(args.token, args.args, self.region))
            plans.update({p.stack: p for p in preview.preview_stacks(project)})
    return plans


def rollouts(plan: ResourcePlan) -> list[dict]:
    return plan.config["rollouts"]


# --- SageMaker ---------------------------------------------------------------------------

SM_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SM_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def sm_endpoint(plan: ResourcePlan):
    [endpoint] = plan.of_type(SM_ENDPOINT)
    return endpoint.inputs


def test_sagemaker_in_progress_is_a_native_canary_with_alarm_rollback(plans):
    plan = plans["sm-progress"]
    [r] = rollouts(plan)
    assert (r["stable_version"], r["new_version"], r["traffic"]) == ("1.3.2", "1.4.0", {"1.3.2": 90, "1.4.0": 10})
    assert r["rollback"]["automatic"] is True and "CloudWatch" in r["rollback"]["by"]
    assert r["traffic_steps"] == [{"new_percent": 10, "bake_minutes": 10}, {"new_percent": 100, "bake_minutes": 10}]
    policy = sm_endpoint(plan)["deploymentConfig"]
    routing = policy["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]
    assert routing == {"type": "CANARY", "waitIntervalInSeconds": 600, "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}}
    alarms = {a.inputs["name"] for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    rollback = {a["alarmName"] for a in policy["autoRollbackConfiguration"]["alarms"]}
    assert len(rollback) == 2 and rollback <= alarms, "the rollback_on alarms (5xx, latency) stop the update"
    assert sm_endpoint(plan)["endpointConfigName"] == plan.of_type(SM_CONFIG)[0].name, "the new version's config"


def test_sagemaker_keeps_every_version_for_an_abort(plans):
    for state in ("none", "progress", "promoted"):
        [config] = plans[f"sm-{state}"].of_type(SM_CONFIG)
        [model] = plans[f"sm-{state}"].of_type("aws:sagemaker/model:Model")
        assert config.options["retainOnDelete"] and model.options["retainOnDelete"], config.urn
        assert config.inputs["tags"]["modelfleet:version"] == "1.4.0"


def test_sagemaker_states_without_a_rollout_list_none(plans):
    assert rollouts(plans["sm-none"]) == [] and rollouts(plans["sm-promoted"]) == []
    assert sm_endpoint(plans["sm-promoted"])["endpointConfigName"] == plans["sm-promoted"].of_type(SM_CONFIG)[0].name


def test_sagemaker_abort_points_the_endpoint_at_the_stable_configuration(plans):
    plan = plans["sm-aborted"]
    [r] = rollouts(plan)
    assert r["phase"] == "aborted" and r["traffic"] == {"1.3.2": 100, "1.4.0": 0}
    serving = sm_endpoint(plan)["endpointConfigName"]
    assert serving != plan.of_type(SM_CONFIG)[0].name
    assert "1-3-2" in serving, "found by its version tag (the preview's tagging API answers with the tag values)"
    assert any(d.level == "warning" and "aborted" in d.message for d in plan.diagnostics)


def test_stable_config_lookup_refuses_to_guess():
    from components.aws.sagemaker_rollout import config_name_of

    class P:
        model, stack = "m", "s"

    assert config_name_of(["arn:aws:sagemaker:us-east-1:1:endpoint-config/m-1"], P(), "1") == "m-1"  # type: ignore[arg-type]
    for arns in ([], ["arn:aws:sagemaker:us-east-1:1:endpoint-config/a", "arn:aws:sagemaker:us-east-1:1:endpoint-config/b"]):
        with pytest.raises(ValueError, match="To fix"):
            config_name_of(arns, P(), "1")  # type: ignore[arg-type]


# --- Azure ML ----------------------------------------------------------------------------

AML_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"


def aml_traffic(plan: ResourcePlan) -> dict:
    [step] = plan.of_type("azure-native:resources:Deployment")
    [endpoint] = step.inputs["properties"]["template"]["resources"]
    return endpoint["properties"]


def aml_versions(plan: ResourcePlan) -> set[str]:
    return {d.inputs["tags"]["modelfleet:version"] for d in plan.of_type(AML_DEPLOYMENT)}


def test_azureml_one_slot_outside_a_rollout(plans):
    for state in ("none", "promoted"):
        plan = plans[f"aml-{state}"]
        assert aml_versions(plan) == {"1.4.0"}, f"{state}: one deployment"
        assert aml_traffic(plan)["traffic"] == {deployment_name("1.4.0"): 100}
        assert "mirrorTraffic" not in aml_traffic(plan)
        assert rollouts(plan) == []


def test_azureml_rollout_runs_stable_and_new_with_the_canary_split(plans):
    plan = plans["aml-progress"]
    assert aml_versions(plan) == {"1.3.2", "1.4.0"}
    assert aml_traffic(plan)["traffic"] == {deployment_name("1.3.2"): 90, deployment_name("1.4.0"): 10}
    [r] = rollouts(plan)
    assert r["rollback"]["automatic"] is False and "modelfleet abort llama3-8b-chat --stack aml-progress" in r["rollback"]["by"]
    assert any(d.field == "rollout.rollback_on" and "no automatic rollback" in d.message for d in plan.diagnostics)


def test_azureml_promote_leaves_the_new_deployment_untouched(plans):
    [before] = [d for d in plans["aml-progress"].of_type(AML_DEPLOYMENT) if d.inputs["tags"]["modelfleet:version"] == "1.4.0"]
    [after] = plans["aml-promoted"].of_type(AML_DEPLOYMENT)
    assert after.urn.replace("aml-promoted", "aml-progress") == before.urn, "same logical deployment: not replaced"
    same_stack = {k: str(v).replace("aml-promoted", "aml-progress") for k, v in after.inputs["properties"].items()}
    assert same_stack == {k: str(v) for k, v in before.inputs["properties"].items()}, \
        "promote changes traffic only; the old deployment is dropped (Pulumi deletes it)"


def test_azureml_abort_sends_all_traffic_to_stable(plans):
    plan = plans["aml-aborted"]
    assert aml_versions(plan) == {"1.3.2", "1.4.0"}
    assert aml_traffic(plan)["traffic"] == {deployment_name("1.3.2"): 100, deployment_name("1.4.0"): 0}
    [new] = [d for d in plan.of_type(AML_DEPLOYMENT) if d.inputs["tags"]["modelfleet:version"] == "1.4.0"]
    assert new.inputs["sku"]["capacity"] == 1, "kept at Azure ML's minimum with no traffic"


# --- KServe (Serverless) -----------------------------------------------------------------

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def predictor(plan: ResourcePlan) -> dict:
    [isvc] = plan.of_type(ISVC)
    return isvc.inputs["spec"]["predictor"]


def rollback_rules(plan: ResourcePlan) -> list[dict]:
    found = [r for r in plan.resources if r.name.endswith("-rollback-alerts")]
    return [rule for r in found for group in r.inputs["spec"]["groups"] for rule in group["rules"]]


def test_kserve_canary_only_during_a_rollout(plans):
    for state in ("none", "promoted"):
        assert "canaryTrafficPercent" not in predictor(plans[f"ks-{state}"]), f"{state}: all traffic to the latest revision"
        assert rollback_rules(plans[f"ks-{state}"]) == []
    assert predictor(plans["ks-progress"])["canaryTrafficPercent"] == 10
    assert predictor(plans["ks-aborted"])["canaryTrafficPercent"] == 0, "abort: all traffic back to the previous revision"
    [isvc] = plans["ks-progress"].of_type(ISVC)
    assert isvc.inputs["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"


def test_kserve_rollout_says_there_is_no_automatic_rollback_and_pages(plans):
    plan = plans["ks-progress"]
    [r] = rollouts(plan)
    assert r["traffic"] == {"1.3.2": 90, "1.4.0": 10} and r["rollback"]["automatic"] is False
    rules = rollback_rules(plan)
    assert rules, "the rollback_on conditions are alert rules"
    for rule in rules:
        assert "modelfleet abort llama3-8b-chat --stack ks-progress" in rule["annotations"]["summary"]
        assert rule["labels"]["receiver"] == "ml-oncall" and "namespace=\"llama3-8b-chat\"" in rule["expr"]
    assert any(d.field == "rollout.rollback_on" and "no automatic rollback" in d.message for d in plan.diagnostics)
    assert rollback_rules(plans["ks-aborted"]) == [], "aborted: nothing left to roll back"


def test_kserve_standard_mode_canary_is_an_error_naming_what_works(tmp_path):
    from modelfleet.environment import parse_stack
    from modelfleet.placement import place_stack
    from modelfleet.spec import parse_spec

    text = (ROOT / "model_specs" / "llama3-8b-chat.yaml").read_text()
    spec = parse_spec(text.replace("metric: concurrency", "metric: cpu_utilization").replace("target: 8", "target: 60"),
                      "model_specs/llama3-8b-chat.yaml")
    stack = parse_stack(BASES["ks"] + STATES["progress"], "stacks/Pulumi.ks.yaml")
    [error] = [d for d in place_stack(stack, [spec]).errors if d.field == "rollout.strategy"]
    assert "Serverless" in error.message and "RawDeployment" in error.message and "To fix" in error.message


# --- cost: both slots while a rollout runs, one after promote ------------------------------

def model_cost(plan: ResourcePlan):
    from modelfleet.cost import estimate_plan

    estimate = estimate_plan(plan)
    return estimate.model("llama3-8b-chat"), estimate.rollouts


def test_azureml_rollout_costs_both_deployments_and_one_after_promote(plans):
    progress, [rollout] = model_cost(plans["aml-progress"])
    promoted, none = model_cost(plans["aml-promoted"])
    assert none == [], "after promote there is no rollout and no second slot"
    slots = {c.slot: c for c in progress.components if c.unit_price}
    assert set(slots) == {"stable", "new"}, "one priced deployment per version"
    assert progress.monthly_min == slots["stable"].monthly_min + slots["new"].monthly_min
    assert rollout.extra_min == slots["new"].monthly_min > 0 and rollout.extra_max == slots["new"].monthly_max
    assert (promoted.monthly_min, promoted.monthly_max) == (progress.monthly_min - rollout.extra_min,
                                                            progress.monthly_max - rollout.extra_max), "one slot remains"
    aborted, [kept] = model_cost(plans["aml-aborted"])
    assert kept.phase == "aborted" and kept.extra_min == kept.extra_max == aborted.monthly_min - promoted.monthly_min, \
        "an aborted version keeps one instance: that is its second slot"


def test_kserve_canary_costs_both_revisions_and_one_after_promote(plans):
    none, _ = model_cost(plans["ks-none"])
    progress, [rollout] = model_cost(plans["ks-progress"])
    promoted, after = model_cost(plans["ks-promoted"])
    revisions = sorted(c.slot for c in progress.components if c.unit_price)
    assert revisions == ["new", "stable"], "the last rolled-out revision and the canary revision each keep their replicas"
    assert progress.monthly_min == 2 * none.monthly_min and progress.monthly_max == 2 * none.monthly_max
    assert (rollout.extra_min, rollout.extra_max) == (none.monthly_min, none.monthly_max)
    assert after == [] and (promoted.monthly_min, promoted.monthly_max) == (none.monthly_min, none.monthly_max)


def test_sagemaker_second_fleet_is_a_one_off_overlap_not_a_monthly_cost(plans):
    from modelfleet.cost.model import HOURS_PER_MONTH, money

    progress, [rollout] = model_cost(plans["sm-progress"])
    promoted, after = model_cost(plans["sm-promoted"])
    assert after == [] and progress.monthly_max == promoted.monthly_max, \
        "SageMaker terminates the stable fleet when the update ends: one fleet a month either way"
    assert rollout.extra_min == rollout.extra_max == 0
    [steps] = [r["traffic_steps"] for r in rollouts(plans["sm-progress"])]
    hours = sum(s["bake_minutes"] for s in steps) / 60 + 10 / 60  # every bake plus the termination wait (one bake)
    assert rollout.overlap_hours == money(Decimal(str(hours)))
    assert rollout.overlap_max == money(progress.monthly_max * rollout.overlap_hours / HOURS_PER_MONTH) > 0


def test_a_second_slot_on_a_cloud_cluster_adds_the_nodes_its_min_replicas_need():
    from modelfleet.cost.attribution import _second_slot_nodes
    from modelfleet.cost.nodepools import NodePool
    from modelfleet.cost.workloads import Workload
    from modelfleet.plan import PlannedResource

    node = PlannedResource("urn:pool", "aws:eks/nodeGroup:NodeGroup", "pool", "", True, {})
    isvc = PlannedResource("urn:isvc", ISVC, "chat", "", True, {})
    pool = NodePool(node, "Node instance-hours (g6.xlarge, on-demand)", Decimal("0.8"), "catalog", Decimal(2), Decimal(6), 1,
                    None, "L4", None)
    stable = Workload(isvc, "chat", 1, "L4", None, Decimal(2), Decimal(4), "predictor", slot="stable")
    canary = Workload(isvc, "chat", 1, "L4", None, Decimal(2), Decimal(4), "predictor", slot="new")
    [extra] = _second_slot_nodes(pool, [stable, canary])
    assert (extra.slot, extra.quantity_min, extra.quantity_max) == ("new", 2 * Decimal(730), 0), \
        "two nodes beyond the pool's minimum at min; the pool's max already bounds both slots"
    assert _second_slot_nodes(pool, [stable]) == [], "no second slot, no extra nodes"


def test_preview_and_check_show_each_rollout_with_its_second_slot_cost(plans):
    from modelfleet.check import run_checks, with_rollout_costs
    from modelfleet.cli.preview import _cost_ranges
    from modelfleet.render_preview import preview_json, rollout_line

    chosen = [plans["aml-progress"], plans["ks-none"], plans["sm-progress"]]
    costs, slots = _cost_ranges(chosen)
    by_stack = {s["stack"]: s["rollouts"] for s in preview_json(chosen, costs, slots)["stacks"]}
    assert by_stack["ks-none"] == []
    [aml] = by_stack["aml-progress"]
    assert aml["versions"] == ["1.3.2", "1.4.0"] and aml["bake_minutes"] == 10 and aml["rollback_on"]
    assert aml["second_slot"]["monthly_min"] == "4672.00" and aml["second_slot"]["overlap_per_update"] is None
    [sm] = by_stack["sm-progress"]
    assert sm["second_slot"]["monthly_max"] == "0.00" and sm["second_slot"]["overlap_per_update"]["hours"] == "0.5"
    line = rollout_line(aml)
    assert "1.3.2 → 1.4.0" in line and "bake 10 min" in line and "second slot +$4672.00" in line
    assert "rollback on none" in rollout_line({**aml, "rollback_on": []})
    report = with_rollout_costs(run_checks(chosen, ROOT / "policies" / "config"), chosen)
    assert [(r["stack"], r["model"]) for r in report.as_dict()["rollouts"]] == [("aml-progress", "llama3-8b-chat"),
                                                                                ("sm-progress", "llama3-8b-chat")]
    assert "second slot" in report.to_markdown() and "rollout in progress" in report.to_github()
