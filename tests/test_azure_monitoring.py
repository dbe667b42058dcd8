"""Monitoring on Azure: metric alerts, Application Insights and data capture on Azure ML
deployments; the DCGM exporter on AKS GPU pools.

The stacks are previewed once per module (azure-native registrations are slow under mocks)
in a scratch project: the bundled specs plus probes, and stack files written here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from components.azure.alerts import CRITERIA_TYPE, sized_requests_per_minute
from modelfleet import mocked_cloud, preview
from modelfleet.plan import PlannedResource, ResourcePlan
from modelfleet.spec import Alerts, ModelSpec
from modelfleet.targets.azureml import deployment_name as slot

STORAGE_ACCOUNTS = '  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}\n'
ROOT = Path(__file__).resolve().parent.parent
ALERT = "azure-native:monitor:MetricAlert"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ACTION_GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-prod-rg/providers/microsoft.insights/actionGroups/ml-oncall"
SPOT_TOLERATION = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}

PROBES = {
    "tuned-probe": """name: tuned-probe
version: "1"
owner: t
model: {uri: "az://acmemodels/weights/tuned/1/", framework: onnx}
serving: {runtime: triton, port: 8000}
resources: {accelerator: T4:1, cpu: 4, memory_gib: 16}
autoscaling: {min_replicas: 2, max_replicas: 4, metric: rps, target: 10}
monitoring:
  alerts: {error_rate_percent: 2, latency_p99_ms: 1500, gpu_utilization_percent: 80}
  data_capture: {sample_percent: 25}
""",
    "quiet-probe": """name: quiet-probe
version: "1"
owner: t
model: {uri: "az://acmemodels/weights/quiet/1/", framework: onnx}
serving: {runtime: triton, port: 8000}
resources: {accelerator: none, cpu: 2, memory_gib: 4}
monitoring: {enabled: false, data_capture: {sample_percent: 50}}
""",
    "spot-probe": """name: spot-probe
version: "1"
owner: t
model: {uri: "s3://b/m/", framework: onnx}
serving: {runtime: triton, port: 8000}
resources: {accelerator: T4:1, cpu: 4, memory_gib: 16}
autoscaling: {min_replicas: 1, max_replicas: 3, metric: rps, target: 50}
spot: true
""",
}

STACKS = {
    "azureml-stg": """config:
  azure-native:location: eastus
  modelfleet:environment: staging
  modelfleet:platform: azureml
  modelfleet:workspace: {name: ml-stg-ws, resource_group: ml-stg-rg}
  modelfleet:registry: {kind: acr}
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
  modelfleet:models: ["fraud-*"]
""",
    "aks-spot": """config:
  azure-native:location: eastus
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:serving: deployment
  modelfleet:cluster: {kind: aks, name: ml-aks-dev, resource_group: ml-dev-rg}
  modelfleet:registry: {kind: acr}
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
  modelfleet:addons: {dcgm_exporter: install}
  modelfleet:models: ["spot-probe"]
""",
}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    project = tmp_path_factory.mktemp("azure-monitoring")
    shutil.copytree(ROOT / "model_specs", project / "model_specs")
    for bundled_spec in (project / "model_specs").glob("*.yaml"):
        # Azure ML registers models from Blob storage only: the bundled weights, copied there
        bundled_spec.write_text(bundled_spec.read_text().replace("s3://acme-models/", "az://acmemodels/models/"))
    for name, text in PROBES.items():
        (project / "model_specs" / f"{name}.yaml").write_text(text)
    (project / "stacks").mkdir()
    text = (ROOT / "stacks" / "Pulumi.azureml-prod.yaml").read_text()
    text = re.sub(r"modelfleet:models: \[.*", 'modelfleet:models: ["llama3-*", "resnet50-*", "tuned-*", "quiet-*"]', text)
    text += "  modelfleet:stable: {llama3-8b-chat: 1.3.2, llama3-70b-instruct: 2.0.1}\n"  # a canary in progress
    text += STORAGE_ACCOUNTS
    (project / "stacks" / "Pulumi.azureml-prod.yaml").write_text(text)
    for name, text in STACKS.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        # answer invokes with a bare dict (see tests/test_azure_components.py)
        mp.setattr(preview._Mocks, "call", lambda self, args: mocked_cloud.call_result(args.token, args.args, self.region))
        return {name: preview.preview_stack(project, name) for name in ("azureml-prod", "azureml-stg", "aks-spot")}


def alerts_of(plan: ResourcePlan, model: str) -> dict[str, PlannedResource]:
    """`<version>-<role>` → MetricAlert for one model."""
    def key(r: PlannedResource) -> str:
        deployment, _, role = r.name.removeprefix(f"{plan.stack}-{model}-").removesuffix("-alert").rpartition("-")
        return f"{r.inputs['tags']['modelfleet:version']}-{role}" if deployment else role

    found = {key(r): r for r in plan.of_type(ALERT) if r.model == model}
    assert len(found) == len([r for r in plan.of_type(ALERT) if r.model == model]), f"{plan.stack}/{model}: alert names unique"
    return found


def criterion(alert: PlannedResource) -> dict:
    [only] = alert.inputs["criteria"]["allOf"]
    return only


def deployments_of(plan: ResourcePlan, model: str) -> list[PlannedResource]:
    found = [r for r in plan.of_type(DEPLOYMENT) if r.model == model]
    assert found, f"{plan.stack}: {model} has deployments"
    return found


# --- metric alerts -----------------------------------------------------------------------

def test_spec_thresholds_reach_each_metric_alert(plans):
    alerts = alerts_of(plans["azureml-prod"], "tuned-probe")
    assert set(alerts) == {"1-errors", "1-latency", "1-saturation"}, "rolling: one slot, three alerts"
    latency, saturation, errors = (criterion(alerts[f"1-{r}"]) for r in ("latency", "saturation", "errors"))
    assert (latency["metricName"], latency["threshold"]) == ("RequestLatency_P99", 1500)
    assert (saturation["metricName"], saturation["threshold"]) == ("GpuUtilizationPercentage", 80)
    # rps target 10/s × 60 × 2 instances = 1200 requests/min; 2 % of that
    assert (errors["metricName"], errors["threshold"]) == ("RequestsPerMinute", 24)
    assert {"name": "statusCodeClass", "operator": "Include", "values": ["5xx"]} in errors["dimensions"]
    assert {"name": "deployment", "operator": "Include", "values": [slot("1")]} in errors["dimensions"]
    for role, text in (("errors", "2 %"), ("latency", "1500 ms"), ("saturation", "80 %")):
        assert text in alerts[f"1-{role}"].inputs["description"], f"{alerts[f'1-{role}'].urn}: threshold readable in preview"
    assert alerts_of(plans["azureml-prod"], "llama3-70b-instruct")["2.0.1-latency"].inputs["description"].count("8000 ms") == 1


def test_every_slot_of_a_canary_is_watched_and_the_new_one_names_the_abort(plans):
    alerts = alerts_of(plans["azureml-prod"], "llama3-8b-chat")
    assert set(alerts) == {f"{version}-{role}" for version in ("1.3.2", "1.4.0") for role in ("errors", "latency", "saturation")}
    new = criterion(alerts["1.4.0-latency"])
    assert {"name": "deployment", "operator": "Include", "values": [slot("1.4.0")]} in new["dimensions"]
    for signal in ("errors", "latency"):  # rollback_on: [error_rate, latency_p99]
        rollback = alerts[f"1.4.0-{signal}"].inputs
        assert rollback["severity"] == 0, "a rollback condition is critical"
        assert "modelfleet abort llama3-8b-chat --stack azureml-prod" in rollback["description"]
        assert "does not roll back by itself" in rollback["description"], "no automatic rollback is implied"
        assert "abort" not in alerts[f"1.3.2-{signal}"].inputs["description"], "the stable slot's alerts only page"
    assert "abort" not in alerts["1.4.0-saturation"].inputs["description"], "saturation is not a rollback_on signal"


def test_alerts_are_wired_to_the_action_group_scope_and_tags(plans):
    plan = plans["azureml-prod"]
    endpoints = {r.model: r for r in plan.of_type("azure-native:machinelearningservices:OnlineEndpoint")}
    assert plan.of_type(ALERT)
    for alert in plan.of_type(ALERT):
        inputs = alert.inputs
        assert inputs["actions"] == [{"actionGroupId": ACTION_GROUP}], f"{alert.urn}: notifies the stack's action group"
        assert inputs["criteria"]["odataType"] == CRITERIA_TYPE, alert.urn
        assert inputs["location"] == "global" and inputs["enabled"] and inputs["autoMitigate"], alert.urn
        version = inputs["tags"]["modelfleet:version"]
        assert inputs["tags"] == {**endpoints[alert.model].inputs["tags"], "modelfleet:version": version}, f"{alert.urn}: placement tags"
        assert inputs["tags"]["cost-center"] == "ml-platform", alert.urn
        deployment = alert.name.removeprefix(f"{plan.stack}-{alert.model}-").removesuffix("-alert").rpartition("-")[0]
        on_deployment = criterion(alert)["metricName"].endswith("UtilizationPercentage")
        scope = f"{plan.stack}-{alert.model}-{deployment}-id" if on_deployment else f"{plan.stack}-{alert.model}-endpoint-id"
        assert inputs["scopes"] == [scope], f"{alert.urn}: scoped to the {'deployment' if on_deployment else 'endpoint'}"
        assert alert.parent.endswith(f"::{plan.stack}-{alert.model}"), f"{alert.urn}: child of the endpoint component"


def test_defaults_apply_when_the_section_is_absent(plans):
    defaults = Alerts()
    alerts = alerts_of(plans["azureml-prod"], "resnet50-vision")  # resnet50-vision has no monitoring section
    assert criterion(alerts["3.2-latency"])["threshold"] == defaults.latency_p99_ms
    assert criterion(alerts["3.2-saturation"])["threshold"] == defaults.gpu_utilization_percent
    assert f"{defaults.error_rate_percent:g} %" in alerts["3.2-errors"].inputs["description"]
    for deployment in deployments_of(plans["azureml-prod"], "resnet50-vision"):
        assert "dataCollector" not in deployment.inputs["properties"], f"{deployment.urn}: capture is off by default"


def test_cpu_only_models_alert_on_cpu_saturation(plans):
    alerts = alerts_of(plans["azureml-stg"], "fraud-xgb")
    assert criterion(alerts["5.1.0-saturation"])["metricName"] == "CpuUtilizationPercentage"


def test_sized_rate_follows_littles_law_for_concurrency_targets():
    spec = ModelSpec.model_validate({
        "name": "m", "version": "1", "owner": "t", "model": {"uri": "az://acmemodels/models/b/", "framework": "onnx", "size_gib": 1},
        "serving": {"runtime": "triton"}, "resources": {"accelerator": "none", "cpu": 2, "memory_gib": 4},
        "autoscaling": {"metric": "concurrency", "target": 8}, "monitoring": {"alerts": {"latency_p99_ms": 2000}}})
    # 8 requests in flight for at most 2 s each → ≥ 4 requests/s = 240/min per instance
    assert sized_requests_per_minute(spec, 2) == 480


# --- Application Insights and data capture -----------------------------------------------

def test_app_insights_on_every_monitored_deployment(plans):
    for deployment in plans["azureml-prod"].of_type(DEPLOYMENT):
        if deployment.model == "quiet-probe":
            continue
        assert deployment.inputs["properties"]["appInsightsEnabled"] is True, deployment.urn


def test_data_capture_samples_at_the_spec_percent(plans):
    for model, rate in (("tuned-probe", 0.25), ("llama3-8b-chat", 0.1)):
        for deployment in deployments_of(plans["azureml-prod"], model):
            collector = deployment.inputs["properties"]["dataCollector"]
            assert set(collector["collections"]) == {"request", "response"}, f"{deployment.urn}: payload logging"
            for name, collection in collector["collections"].items():
                assert collection == {"dataCollectionMode": "Enabled", "samplingRate": rate}, f"{deployment.urn}: {name}"
            assert collector["rollingRate"] == "Hour", deployment.urn


# --- opting out, and stacks without a destination ----------------------------------------

def test_nothing_is_created_when_monitoring_is_disabled(plans):
    plan = plans["azureml-prod"]
    assert not [r for r in plan.of_type(ALERT) if r.model == "quiet-probe"]
    for deployment in deployments_of(plan, "quiet-probe"):
        props = deployment.inputs["properties"]
        assert props["appInsightsEnabled"] is False, deployment.urn
        assert "dataCollector" not in props, f"{deployment.urn}: sample_percent ignored when monitoring is off"
    assert not [d for d in plan.diagnostics if d.model == "quiet-probe" and d.field.startswith("monitoring")]


def test_error_rate_conversion_is_a_warning(plans):
    warnings = {(d.model, d.field): d.message for d in plans["azureml-prod"].diagnostics if d.level == "warning"}
    message = warnings[("tuned-probe", "monitoring.alerts.error_rate_percent")]
    assert "cannot divide" in message and "2 %" in message


def test_stack_without_action_group_still_alerts_without_an_action(plans):
    plan = plans["azureml-stg"]  # no modelfleet:alerts: allowed (MF-OBS-002 flags it in production)
    assert plan.of_type(ALERT)
    assert all(a.inputs.get("actions", []) == [] for a in plan.of_type(ALERT))


# --- AKS ---------------------------------------------------------------------------------

def _dcgm_tolerations(plan: ResourcePlan) -> list[dict]:
    [dcgm] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "dcgm-exporter"]
    return dcgm.inputs["values"]["tolerations"]


def test_aks_dcgm_exporter_tolerates_the_gpu_taint(plans):
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in _dcgm_tolerations(plans["aks-spot"])


def test_aks_dcgm_exporter_tolerates_the_spot_taint(plans):
    pools = plans["aks-spot"].of_type("azure-native:containerservice:AgentPool")
    assert any("kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in p.inputs["nodeTaints"] for p in pools), "a spot GPU pool"
    assert SPOT_TOLERATION in _dcgm_tolerations(plans["aks-spot"])
