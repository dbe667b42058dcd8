"""Monitoring on AWS: SageMaker alarms (one set, paging AND rollback), the stack dashboard, the
data-capture bucket; EKS alert routing and DCGM; wrong alert destinations are exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modelfleet.alert_destinations import check_capture, check_destination, destination_problems
from modelfleet.environment import parse_stack
from modelfleet.plan import PlannedResource, ResourcePlan, as_int
from modelfleet.preview import preview_stack
from modelfleet.spec import Alerts

ROOT = Path(__file__).resolve().parents[1]
KMS = "arn:aws:kms:us-east-1:123456789012:key/k-1"
SNS = "arn:aws:sns:us-east-1:123456789012:ml-oncall"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"

STACKS = {
    "sm-mon": f"""
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: sagemaker
  modelfleet:registry: {{kind: ecr}}
  modelfleet:models: ["llama3-8b-*", "resnet50-*"]
  modelfleet:kms_key_arn: "{KMS}"
  modelfleet:alerts: {{sns_topic_arn: "{SNS}"}}
""",
    "sm-sse": """
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: sagemaker
  modelfleet:registry: {kind: ecr}
  modelfleet:models: ["llama3-8b-*"]
""",
    "eks-sns": f"""
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:cluster: {{kind: eks, name: ml-prod}}
  modelfleet:registry: {{kind: ecr}}
  modelfleet:models: ["llama3-8b-*"]
  modelfleet:alerts: {{sns_topic_arn: "{SNS}"}}
""",
    "eks-am": """
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:cluster: {kind: eks, name: ml-prod}
  modelfleet:registry: {kind: ecr}
  modelfleet:models: ["llama3-8b-*", "resnet50-vision"]
  modelfleet:alerts: {alertmanager_receiver: ml-oncall}
""",
}


def _scratch_specs(project: Path) -> None:
    """llama3-8b-chat with distinctive thresholds, 25 % capture and rollback on error rate only;
    resnet50-quiet: a copy of resnet50-vision (no monitoring section) that opts out."""
    specs = project / "model_specs"
    shutil.copytree(ROOT / "model_specs", specs)
    chat = specs / "llama3-8b-chat.yaml"
    text = chat.read_text()
    for old, new in (("error_rate_percent: 5", "error_rate_percent: 2.5"), ("latency_p99_ms: 2000", "latency_p99_ms: 1500"),
                     ("gpu_utilization_percent: 95", "gpu_utilization_percent: 90"), ("sample_percent: 10", "sample_percent: 25"),
                     ("rollback_on: [error_rate, latency_p99]", "rollback_on: [error_rate]")):
        assert old in text, old
        text = text.replace(old, new)
    chat.write_text(text)
    quiet = (specs / "resnet50-vision.yaml").read_text().replace("name: resnet50-vision", "name: resnet50-quiet")
    (specs / "resnet50-quiet.yaml").write_text(quiet + "\nmonitoring: {enabled: false, data_capture: {sample_percent: 5}}\n")


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    project = tmp_path_factory.mktemp("aws-monitoring")
    _scratch_specs(project)
    (project / "stacks").mkdir()
    for name, body in STACKS.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text("config:" + body)
    return {name: preview_stack(project, name) for name in STACKS}


def alarms_of(plan: ResourcePlan, model: str) -> dict[str, PlannedResource]:
    """Alarm resources of one model, keyed by the alarm's CloudWatch name."""
    found = [r for r in plan.of_type(ALARM) if r.model == model]
    names = [r.inputs["name"] for r in found]
    assert len(names) == len(set(names)), f"{plan.stack}: duplicate alarm names for {model}: {names}"
    return {r.inputs["name"]: r for r in found}


def endpoint_of(plan: ResourcePlan, model: str) -> PlannedResource:
    (endpoint,) = [r for r in plan.of_type("aws:sagemaker/endpoint:Endpoint") if r.model == model]
    return endpoint


def rollback_names(endpoint: PlannedResource) -> list[str]:
    config = endpoint.inputs["deploymentConfig"]
    return [a["alarmName"] for a in (config.get("autoRollbackConfiguration") or {}).get("alarms", [])]


# ---------------------------------------------------------------- SageMaker alarms


def test_spec_thresholds_reach_each_alarm(plans):
    alarms = alarms_of(plans["sm-mon"], "llama3-8b-chat")
    assert set(alarms) == {"llama3-8b-chat-sm-mon-5xx-rate", "llama3-8b-chat-sm-mon-latency-p99",
                           "llama3-8b-chat-sm-mon-gpu-saturated"}
    assert alarms["llama3-8b-chat-sm-mon-5xx-rate"].inputs["threshold"] == 2.5
    latency = alarms["llama3-8b-chat-sm-mon-latency-p99"].inputs
    assert latency["threshold"] == 1500 * 1000, "ModelLatency is reported in microseconds"
    assert (latency["metricName"], latency["extendedStatistic"]) == ("ModelLatency", "p99")
    gpu = alarms["llama3-8b-chat-sm-mon-gpu-saturated"].inputs
    assert gpu["metricName"] == "GPUUtilization" and gpu["threshold"] == 90, "1-GPU instance: 90 % × 1"
    assert all(a.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold" for a in alarms.values())


def test_a_variant_alarms_on_the_endpoint_and_variant_series(plans):
    """A real-time variant's series (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html):
    invocation metrics in AWS/SageMaker and instance utilization in /aws/sagemaker/Endpoints, both by
    `EndpointName, VariantName`."""
    alarms = alarms_of(plans["sm-mon"], "llama3-8b-chat")
    variant = {"EndpointName": "llama3-8b-chat-sm-mon", "VariantName": "AllTraffic"}
    queries = alarms["llama3-8b-chat-sm-mon-5xx-rate"].inputs["metricQueries"]
    assert [(m["namespace"], m["metricName"], m["dimensions"], m["stat"]) for m in (q["metric"] for q in queries if "metric" in q)] == [
        ("AWS/SageMaker", "Invocation5XXErrors", variant, "Sum"), ("AWS/SageMaker", "Invocations", variant, "Sum")]
    for name, namespace, metric in (("latency-p99", "AWS/SageMaker", "ModelLatency"),
                                    ("gpu-saturated", "/aws/sagemaker/Endpoints", "GPUUtilization")):
        inputs = alarms[f"llama3-8b-chat-sm-mon-{name}"].inputs
        assert (inputs["namespace"], inputs["metricName"], inputs["dimensions"]) == (namespace, metric, variant), name


def test_defaults_apply_when_the_monitoring_section_is_absent(plans):
    defaults = Alerts()
    alarms = alarms_of(plans["sm-mon"], "resnet50-vision")  # resnet50-vision has no monitoring section
    assert alarms["resnet50-vision-sm-mon-5xx-rate"].inputs["threshold"] == defaults.error_rate_percent
    assert alarms["resnet50-vision-sm-mon-latency-p99"].inputs["threshold"] == defaults.latency_p99_ms * 1000
    assert alarms["resnet50-vision-sm-mon-gpu-saturated"].inputs["threshold"] == defaults.gpu_utilization_percent
    config = [r for r in plans["sm-mon"].of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
              if r.model == "resnet50-vision"][0]
    assert "dataCaptureConfig" not in config.inputs, "default sample_percent is 0: no capture"


def test_the_sns_topic_is_wired_into_every_alarm(plans):
    alarms = plans["sm-mon"].of_type(ALARM)
    assert alarms
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [SNS], alarm.urn
        assert alarm.inputs["okActions"] == [SNS], alarm.urn
    assert all(not a.inputs.get("alarmActions") for a in plans["sm-sse"].of_type(ALARM)), "no topic, no actions"


def test_rollback_watches_the_same_alarms_that_page(plans):
    plan = plans["sm-mon"]
    for model, signals in (("llama3-8b-chat", {"5xx-rate"}), ("resnet50-vision", {"5xx-rate", "latency-p99"})):
        alarms = alarms_of(plan, model)
        rollback = rollback_names(endpoint_of(plan, model))
        assert len(rollback) == len(set(rollback))
        # every rollback alarm IS one of the paging MetricAlarm resources: no second copy exists
        assert set(rollback) <= set(alarms), f"{model}: rollback alarms {rollback} not among {sorted(alarms)}"
        assert {name.removeprefix(f"{model}-sm-mon-") for name in rollback} == signals, model
        per_signal = [name.removeprefix(f"{model}-sm-mon-") for name in alarms]
        assert sorted(per_signal) == ["5xx-rate", "gpu-saturated", "latency-p99"], "exactly one alarm per signal"


def test_nothing_is_created_when_monitoring_is_disabled(plans):
    plan = plans["sm-mon"]
    assert not alarms_of(plan, "resnet50-quiet")
    assert rollback_names(endpoint_of(plan, "resnet50-quiet")) == []
    config = [r for r in plan.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration") if r.model == "resnet50-quiet"][0]
    assert "dataCaptureConfig" not in config.inputs, "opted out: no capture even though the spec samples"
    body = json.loads(plan.of_type(DASHBOARD)[0].inputs["dashboardBody"])
    assert not [w for w in body["widgets"] if "resnet50-quiet" in json.dumps(w)], "no dashboard row"
    warnings = {d.field: d.message for d in plan.diagnostics if d.model == "resnet50-quiet" and d.level == "warning"}
    assert "no automatic rollback" in warnings["monitoring.enabled"] and "To fix:" in warnings["monitoring.enabled"]
    assert "no data capture" in warnings["monitoring.data_capture.sample_percent"]


# ---------------------------------------------------------------- dashboard


def test_one_dashboard_per_stack_with_a_row_per_model(plans):
    for stack, models in (("sm-mon", {"llama3-8b-chat", "resnet50-vision"}), ("sm-sse", {"llama3-8b-chat"})):
        (dashboard,) = plans[stack].of_type(DASHBOARD)
        assert dashboard.inputs["dashboardName"] == f"modelfleet-{stack}"
        widgets = [w for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"] if w["type"] == "metric"]
        by_model: dict[str, list[dict]] = {}
        for w in widgets:
            by_model.setdefault(w["properties"]["title"].split(" · ")[0], []).append(w)
        assert set(by_model) == models, stack
        for model, row in by_model.items():
            assert len({w["y"] for w in row}) == 1, f"{model}: one row"
            metrics = json.dumps([w["properties"]["metrics"] for w in row])
            for metric in ("Invocations", "Invocation5XXErrors", "ModelLatency", "GPUUtilization", "InvocationsPerInstance"):
                assert f'"{metric}"' in metrics, f"{stack}/{model}: no {metric} widget"
            assert all(w["properties"]["region"] == "us-east-1" for w in row)
        rows = sorted({w["y"] for w in widgets})
        assert len(rows) == len(models), "rows do not overlap"


# ---------------------------------------------------------------- data capture


def _capture(plan: ResourcePlan, token: str) -> PlannedResource:
    (found,) = [r for r in plan.of_type(token) if r.name.startswith(f"{plan.stack}-capture")]
    return found


def test_capture_bucket_is_private_encrypted_and_expires(plans):
    for stack, encryption in (("sm-mon", {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KMS}), ("sm-sse", {"sseAlgorithm": "AES256"})):
        plan = plans[stack]
        sse = _capture(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == encryption, stack
        block = _capture(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        (rule,) = _capture(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
        assert rule["status"] == "Enabled" and as_int(rule["expiration"]["days"]) == 90, stack


def test_endpoint_config_samples_the_spec_percent(plans):
    config = [r for r in plans["sm-mon"].of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
              if r.model == "llama3-8b-chat"][0]
    capture = config.inputs["dataCaptureConfig"]
    assert capture["enableCapture"] is True and as_int(capture["initialSamplingPercentage"]) == 25
    assert capture["destinationS3Uri"].startswith("s3://") and capture["destinationS3Uri"].endswith("/llama3-8b-chat-sm-mon")
    assert capture["kmsKeyId"] == KMS
    assert {o["captureMode"] for o in capture["captureOptions"]} == {"Input", "Output"}


# ---------------------------------------------------------------- preview text


def test_preview_lists_each_alarm_threshold(plans):
    from modelfleet.render_preview import _summary

    alarms = alarms_of(plans["sm-mon"], "llama3-8b-chat")
    assert _summary(alarms["llama3-8b-chat-sm-mon-5xx-rate"]) == "alarm: 5xx percent ≥ 2.5"
    assert _summary(alarms["llama3-8b-chat-sm-mon-latency-p99"]) == "alarm: ModelLatency p99 ≥ 1500000 µs (1500 ms)"
    assert _summary(alarms["llama3-8b-chat-sm-mon-gpu-saturated"]) == "alarm: GPUUtilization Average ≥ 90"


# ---------------------------------------------------------------- EKS


def test_eks_rules_route_to_the_alertmanager_receiver_and_dcgm_tolerates_the_taint(plans):
    plan = plans["eks-am"]
    rules = [r for r in plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule") if r.model == "llama3-8b-chat"]
    assert rules and all(rule["labels"]["receiver"] == "ml-oncall" for rule in rules[0].inputs["spec"]["groups"][0]["rules"])
    (dcgm,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "dcgm-exporter"]
    taints = {(t["key"], t["value"]) for g in plan.of_type("aws:eks/nodeGroup:NodeGroup") for t in g.inputs.get("taints") or []}
    assert taints == {("nvidia.com/gpu", "true")}
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in dcgm.inputs["values"]["tolerations"]
    assert not [d for d in plan.diagnostics if d.field.startswith("modelfleet:alerts")]


def test_eks_with_only_an_sns_topic_warns_that_it_is_not_wired(plans):
    plan = plans["eks-sns"]
    (warning,) = [d for d in plan.diagnostics if d.field == "modelfleet:alerts.sns_topic_arn"]
    assert warning.level == "warning" and "not wired" in warning.message and "alertmanager_receiver" in warning.message
    assert "Pulumi.eks-sns.yaml:" in warning.message and "To fix:" in warning.message
    rules = plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    assert rules and all("receiver" not in rule["labels"] for r in rules for rule in r.inputs["spec"]["groups"][0]["rules"])


def test_kubernetes_capture_is_a_warning_naming_an_alternative(plans):
    (warning,) = [d for d in plans["eks-am"].diagnostics if d.field == "monitoring.data_capture.sample_percent"]
    assert warning.level == "warning" and warning.model == "llama3-8b-chat" and "To fix:" in warning.message


# ---------------------------------------------------------------- wrong destinations


def _stack(platform: str, alerts: str, file: str = "Pulumi.x.yaml") -> object:
    body = {
        "sagemaker": "  aws:region: us-east-1\n  modelfleet:platform: sagemaker\n  modelfleet:registry: {kind: ecr}\n",
        "eks": "  aws:region: us-east-1\n  modelfleet:platform: kubernetes\n  modelfleet:cluster: {kind: eks, name: c}\n"
               "  modelfleet:registry: {kind: ecr}\n",
        "aks": "  azure-native:location: eastus\n  modelfleet:platform: kubernetes\n  modelfleet:cluster: {kind: aks, name: c}\n"
               "  modelfleet:registry: {kind: acr}\n",
        "onprem": "  modelfleet:platform: kubernetes\n  modelfleet:cluster: {kind: onprem}\n"
                  "  modelfleet:registry: {kind: external, url: r.local/ml}\n",
        "azureml": "  azure-native:location: eastus\n  modelfleet:platform: azureml\n  modelfleet:workspace: {name: w}\n"
                   "  modelfleet:registry: {kind: acr}\n",
    }[platform]
    return parse_stack(f"config:\n  modelfleet:environment: prod\n{body}  modelfleet:alerts: {{{alerts}}}\n", file)


ARN = f'sns_topic_arn: "{SNS}"'
GROUP = "action_group_id: /subscriptions/0/resourceGroups/rg/providers/microsoft.insights/actionGroups/oncall"
RECEIVER = "alertmanager_receiver: oncall"


@pytest.mark.parametrize(("platform", "alerts", "level"), [
    ("sagemaker", ARN, None), ("sagemaker", GROUP, "error"), ("sagemaker", RECEIVER, "error"),
    ("sagemaker", 'sns_topic_arn: "arn:aws:sns:eu-west-1:123456789012:t"', "error"),
    ("azureml", GROUP, None), ("azureml", ARN, "error"), ("azureml", RECEIVER, "error"),
    ("onprem", RECEIVER, None), ("onprem", ARN, "error"), ("onprem", GROUP, "error"),
    ("eks", RECEIVER, None), ("eks", ARN, "warning"), ("eks", GROUP, "error"),
    ("aks", RECEIVER, None), ("aks", GROUP, "warning"), ("aks", ARN, "error"),
])
def test_check_destination_per_platform(platform: str, alerts: str, level: str | None) -> None:
    found = check_destination(_stack(platform, alerts))
    assert [d.level for d in found] == ([level] if level else []), [d.message for d in found]
    for d in found:
        assert "Allowed:" in d.message and "To fix:" in d.message and d.field.startswith("modelfleet:alerts.")
    assert len(destination_problems(_stack(platform, alerts))) == (1 if level == "error" else 0)


def test_no_destination_is_allowed_everywhere() -> None:
    for platform in ("sagemaker", "azureml", "onprem", "eks", "aks"):
        assert check_destination(_stack(platform, "")) == [], platform


def test_destination_problems_are_located(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.sm.yaml"
    stack = _stack("sagemaker", GROUP, str(path))
    path.write_text(f"config:\n  modelfleet:environment: prod\n  modelfleet:platform: sagemaker\n  modelfleet:registry: {{kind: ecr}}\n"
                    f"  modelfleet:alerts: {{{GROUP}}}\n")
    (problem,) = destination_problems(stack)
    assert (problem.file, problem.line, problem.field) == (str(path), 5, "config.modelfleet:alerts.action_group_id")
    assert "sns_topic_arn" in problem.allowed and problem.fix


def test_capture_warning_only_on_kubernetes() -> None:
    assert check_capture(_stack("sagemaker", ARN), []) == []


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_wrong_destination_on_sagemaker_is_exit_2(project: Path, cli, command: str) -> None:
    from modelfleet.cli import app

    stack = project / "stacks" / "Pulumi.sagemaker-prod.yaml"
    text = stack.read_text()
    old = 'modelfleet:alerts: {sns_topic_arn: "arn:aws:sns:us-east-1:123456789012:ml-oncall"}'
    assert old in text
    stack.write_text(text.replace(old, f"modelfleet:alerts: {{{GROUP}}}"))
    line = next(i for i, row in enumerate(stack.read_text().splitlines(), 1) if "modelfleet:alerts" in row)
    args = [command, "--project-dir", str(project)] + (["--stack", "sagemaker-prod"] if command == "preview" else [])
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert f"Pulumi.sagemaker-prod.yaml:{line}" in output
    assert "modelfleet:alerts.action_group_id" in output and "Allowed: sns_topic_arn" in output and "To fix:" in output
