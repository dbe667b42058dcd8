"""SageMaker capacity beyond a fixed floor: a scale-to-zero model (inference component on an endpoint
with managed instance scaling from 0, copy scaling, the NoCapacityInvocationFailures wake-up) and a
queue-driven model (asynchronous endpoint scaling on its backlog, to zero) on one stack. What a
reviewer checks: the shapes AWS documents, exactly; requests botocore's service models accept; a $0
floor in cost; bad inputs refused at their spec line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from modelfleet import preview
from modelfleet.plan import PlannedResource, ResourcePlan
from modelfleet.targets.sagemaker_capacity import facts

ROOT = Path(__file__).resolve().parents[1]
KMS = "arn:aws:kms:us-east-1:123456789012:key/k-1"
SNS = "arn:aws:sns:us-east-1:123456789012:ml-oncall"
STACK = f"""config:
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: sagemaker
  modelfleet:registry: {{kind: ecr}}
  modelfleet:models: ["*"]
  modelfleet:kms_key_arn: "{KMS}"
  modelfleet:alerts: {{sns_topic_arn: "{SNS}"}}
  modelfleet:tags: {{cost-center: ml-platform}}
"""
CHAT = """name: chat-zero
version: "1.0.0"
owner: nlp
model: {uri: "s3://acme-models/chat/1.0.0/", framework: huggingface, size_gib: SIZE}
serving: {runtime: vllm, health: {path: /health, initial_delay_s: 120}}
resources: {accelerator: A10G:1, cpu: 4, memory_gib: 16}
autoscaling: {min_replicas: 0, max_replicas: 3, metric: METRIC, target: 4, scale_to_zero: true}
"""
QUEUE = """name: batch-queue
version: "2.0.0"
owner: vision
model: {uri: "s3://acme-models/batch/2.0.0/", framework: pytorch, size_gib: 2}
serving: SERVING
resources: {accelerator: T4:1, cpu: 4, memory_gib: 16}
autoscaling: {min_replicas: 0, max_replicas: 4, metric: queue_depth, target: 5}
"""
GOOD = {"chat-zero": CHAT.replace("SIZE", "16").replace("METRIC", "concurrency"),
        "batch-queue": QUEUE.replace("SERVING", "{runtime: torchserve}")}
CHAT_ENDPOINT, QUEUE_ENDPOINT = "chat-zero-sm-dev", "batch-queue-sm-dev"


def write_project(root: Path, specs: dict[str, str], stacks: dict[str, str] | None = None) -> Path:
    (root / "model_specs").mkdir(parents=True)
    (root / "stacks").mkdir()
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    for stack, body in (stacks or {"sm-dev": STACK}).items():
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(body)
    for name, body in specs.items():
        (root / "model_specs" / f"{name}.yaml").write_text(body)
    return root


def cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelfleet.cli", *args, "--project-dir", str(project)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("smcap"), GOOD)


@pytest.fixture(scope="module")
def plan(project: Path) -> ResourcePlan:
    return preview.preview_stack(project, "sm-dev")


def one(plan: ResourcePlan, token: str, name: str) -> PlannedResource:
    found = [r for r in plan.resources if r.type == token and r.name == name]
    assert len(found) == 1, f"expected one {token} named {name}, found {[r.urn for r in found]}"
    return found[0]


# scale-to-zero ---------------------------------------------------------------------------------

def test_scale_to_zero_endpoint_has_managed_instance_scaling_from_zero_and_no_model(plan):
    config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "chat-zero-config")
    [variant] = config.inputs["productionVariants"]
    assert variant["managedInstanceScaling"] == {"status": "ENABLED", "minInstanceCount": 0, "maxInstanceCount": 3}, config.urn
    assert variant["routingConfigs"] == [{"routingStrategy": "LEAST_OUTSTANDING_REQUESTS"}], config.urn
    assert "modelName" not in variant, "an inference-component endpoint's variant names no model"
    assert config.inputs["executionRoleArn"].endswith("chat-zero-role"), "required when the variant names no model"


def test_one_inference_component_per_model_starting_one_copy_owned_by_the_autoscaler(plan):
    component = one(plan, "aws-native:sagemaker:InferenceComponent", "chat-zero-component")
    inputs = component.inputs
    assert inputs["endpointName"] == CHAT_ENDPOINT and inputs["variantName"] == "AllTraffic"
    assert inputs["specification"]["modelName"] == "chat-zero-model", "the component runs the isolated SageMaker Model"
    assert inputs["specification"]["computeResourceRequirements"] == {
        "numberOfAcceleratorDevicesRequired": 1, "numberOfCpuCoresRequired": 4, "minMemoryRequiredInMb": 16384}
    assert inputs["runtimeConfig"] == {"copyCount": 1}
    assert "runtimeConfig.copyCount" in component.options["ignoreChanges"], "IaC must not reset the autoscaled copy count"
    alarms = [a["alarmName"] for a in inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]]
    assert alarms == [f"{CHAT_ENDPOINT}-5xx-rate", f"{CHAT_ENDPOINT}-latency-p99"], "a new version rolls back on the alarms"
    assert len([r for r in plan.resources if r.type == component.type]) == 1, "only the scale-to-zero model is a component"


def test_copies_scale_to_zero_on_the_per_copy_metric(plan):
    target = one(plan, "aws:appautoscaling/target:Target", "chat-zero-scaling-target")
    assert {k: target.inputs[k] for k in ("resourceId", "scalableDimension", "minCapacity", "maxCapacity")} == {
        "resourceId": f"inference-component/{CHAT_ENDPOINT}",
        "scalableDimension": "sagemaker:inference-component:DesiredCopyCount", "minCapacity": 0, "maxCapacity": 3}
    policy = one(plan, "aws:appautoscaling/policy:Policy", "chat-zero-scaling-policy")
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["predefinedMetricSpecification"] == {
        "predefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"}
    assert tracking["targetValue"] == 4


def test_scale_out_from_zero_is_the_alarm_and_step_policy_aws_documents(plan):
    # https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html
    step = one(plan, "aws:appautoscaling/policy:Policy", "chat-zero-wake-policy")
    assert step.inputs["policyType"] == "StepScaling"
    assert step.inputs["resourceId"] == f"inference-component/{CHAT_ENDPOINT}"
    assert step.inputs["scalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    assert step.inputs["stepScalingPolicyConfiguration"] == {
        "adjustmentType": "ChangeInCapacity", "metricAggregationType": "Maximum", "cooldown": 60,
        "stepAdjustments": [{"metricIntervalLowerBound": "0", "scalingAdjustment": 1}]}
    alarm = one(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "chat-zero-wake-alarm")
    assert {k: alarm.inputs[k] for k in ("namespace", "metricName", "dimensions", "statistic", "period",
                                         "evaluationPeriods", "datapointsToAlarm", "threshold", "comparisonOperator")} == {
        "namespace": "AWS/SageMaker", "metricName": "NoCapacityInvocationFailures",
        "dimensions": {"InferenceComponentName": CHAT_ENDPOINT}, "statistic": "Sum", "period": 60,
        "evaluationPeriods": 1, "datapointsToAlarm": 1, "threshold": 1, "comparisonOperator": "GreaterThanThreshold"}
    # the mocks' ARN of the step policy: the alarm's only action is that policy
    assert alarm.inputs["alarmActions"] == ["arn:aws:appautoscaling:us-east-1:123456789012:appautoscaling/chat-zero-wake-policy"]


# asynchronous ----------------------------------------------------------------------------------

def test_queue_model_is_an_async_endpoint_writing_to_the_stack_bucket_encrypted_and_notified(plan):
    config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "batch-queue-config")
    bucket = one(plan, "aws:s3/bucket:Bucket", "sm-dev-capture-bucket")
    out = config.inputs["asyncInferenceConfig"]["outputConfig"]
    base = f"s3://{bucket.name}-id/async/{QUEUE_ENDPOINT}"  # the mocks' bucket id; a bucket's id is its name
    assert out["s3OutputPath"] == f"{base}/output/" and out["s3FailurePath"] == f"{base}/failure/"
    assert out["kmsKeyId"] == KMS
    success = one(plan, "aws:sns/topic:Topic", "batch-queue-async-success")
    assert out["notificationConfig"] == {"errorTopic": SNS, "successTopic": out["notificationConfig"]["successTopic"]}
    assert out["notificationConfig"]["successTopic"].endswith("batch-queue-async-success"), "successes go to their own topic"
    assert success.inputs["kmsMasterKeyId"] == KMS
    assert config.inputs["productionVariants"][0]["initialInstanceCount"] == 1, "CreateEndpointConfig needs ≥ 1 to start"
    role = json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", "batch-queue-async-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in role["Statement"]}
    assert by_sid["ReadAsyncInput"]["Resource"][0].endswith(f"/async/{QUEUE_ENDPOINT}/input/*")
    assert [r.rsplit("/", 2)[-2] for r in by_sid["WriteAsyncResults"]["Resource"]] == ["output", "failure"]
    assert by_sid["NotifyAsync"]["Action"] == ["sns:Publish"] and SNS in by_sid["NotifyAsync"]["Resource"]


def test_async_scales_on_backlog_per_instance_and_wakes_from_zero_as_aws_documents(plan):
    # https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html
    target = one(plan, "aws:appautoscaling/target:Target", "batch-queue-scaling-target")
    assert target.inputs["resourceId"] == f"endpoint/{QUEUE_ENDPOINT}/variant/AllTraffic"
    assert (target.inputs["scalableDimension"], target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (
        "sagemaker:variant:DesiredInstanceCount", 0, 4)
    tracking = one(plan, "aws:appautoscaling/policy:Policy", "batch-queue-scaling-policy").inputs[
        "targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 5
    assert tracking["customizedMetricSpecification"] == {
        "metricName": "ApproximateBacklogSizePerInstance", "namespace": "AWS/SageMaker", "statistic": "Average",
        "dimensions": [{"name": "EndpointName", "value": QUEUE_ENDPOINT}]}
    step = one(plan, "aws:appautoscaling/policy:Policy", "batch-queue-wake-policy")
    assert step.inputs["stepScalingPolicyConfiguration"] == {
        "adjustmentType": "ChangeInCapacity", "metricAggregationType": "Average", "cooldown": 300,
        "stepAdjustments": [{"metricIntervalLowerBound": "0", "scalingAdjustment": 1}]}
    alarm = one(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "batch-queue-wake-alarm")
    assert {k: alarm.inputs[k] for k in ("namespace", "metricName", "dimensions", "statistic", "period", "evaluationPeriods",
                                         "datapointsToAlarm", "threshold", "comparisonOperator", "treatMissingData")} == {
        "namespace": "AWS/SageMaker", "metricName": "HasBacklogWithoutCapacity",
        "dimensions": {"EndpointName": QUEUE_ENDPOINT}, "statistic": "Average", "period": 60, "evaluationPeriods": 2,
        "datapointsToAlarm": 2, "threshold": 1, "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "treatMissingData": "missing"}


# what the model's alarms and dashboard read ----------------------------------------------------
# Amazon SageMaker AI metrics in CloudWatch (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html):
# invocation metrics in AWS/SageMaker by `EndpointName, VariantName` or `InferenceComponentName`; a component's
# utilization in /aws/sagemaker/InferenceComponents by `InferenceComponentName`, normalized 0-100.
# Asynchronous endpoints (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html) publish
# Invocation5XXErrors and ModelLatency per variant, no Invocations, and their backlog by `EndpointName` alone.
COMPONENT = (("InferenceComponentName", CHAT_ENDPOINT),)
QUEUE_VARIANT = (("EndpointName", QUEUE_ENDPOINT), ("VariantName", "AllTraffic"))
QUEUE_ONLY = (("EndpointName", QUEUE_ENDPOINT),)
READS = {  # alarm → {(namespace, metric, dimensions, statistic)}
    f"{CHAT_ENDPOINT}-5xx-rate": {("AWS/SageMaker", "Invocation5XXErrors", COMPONENT, "Sum"),
                                  ("AWS/SageMaker", "Invocations", COMPONENT, "Sum")},
    f"{CHAT_ENDPOINT}-latency-p99": {("AWS/SageMaker", "ModelLatency", COMPONENT, "p99")},
    f"{CHAT_ENDPOINT}-gpu-saturated": {("/aws/sagemaker/InferenceComponents", "GPUUtilizationNormalized", COMPONENT, "Average")},
    # Invocations is not published for an asynchronous endpoint: the share is the Average of the 1-or-0 5xx metric
    f"{QUEUE_ENDPOINT}-5xx-rate": {("AWS/SageMaker", "Invocation5XXErrors", QUEUE_VARIANT, "Average")},
    f"{QUEUE_ENDPOINT}-latency-p99": {("AWS/SageMaker", "ModelLatency", QUEUE_VARIANT, "p99")},
    f"{QUEUE_ENDPOINT}-gpu-saturated": {("/aws/sagemaker/Endpoints", "GPUUtilization", QUEUE_VARIANT, "Average")},
}


def alarm_reads(inputs: dict[str, Any]) -> set[tuple[str, str, tuple[tuple[str, str], ...], str]]:
    """(namespace, metric, dimensions, statistic) of every series an alarm's inputs read."""
    if "metricQueries" in inputs:
        metrics = [q["metric"] for q in inputs["metricQueries"] if "metric" in q]
        return {(m["namespace"], m["metricName"], tuple(sorted(m["dimensions"].items())), m["stat"]) for m in metrics}
    return {(inputs["namespace"], inputs["metricName"], tuple(sorted(inputs["dimensions"].items())),
             inputs.get("extendedStatistic") or inputs["statistic"])}


def dashboard_reads(plan: ResourcePlan, model: str) -> set[tuple[str, str, tuple[tuple[str, str], ...], str]]:
    (dashboard,) = [r for r in plan.resources if r.type == "aws:cloudwatch/dashboard:Dashboard"]
    out = set()
    for widget in json.loads(dashboard.inputs["dashboardBody"])["widgets"]:
        if widget["type"] != "metric" or not widget["properties"]["title"].startswith(f"{model} · "):
            continue
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                continue  # metric math over the lines below
            namespace, metric, *rest = line
            dims, options = rest[:-1], rest[-1]
            out.add((namespace, metric, tuple(sorted(zip(dims[::2], dims[1::2], strict=True))), options["stat"]))
    return out


def test_alarms_read_the_series_sagemaker_publishes_for_each_capacity_mode(plan):
    alarms = {r.inputs["name"]: r for r in plan.resources
              if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and not r.name.endswith("-wake-alarm")}
    assert set(alarms) == set(READS), "one alarm per signal for each model, no more"
    for name, reads in READS.items():
        assert alarm_reads(alarms[name].inputs) == reads, f"{alarms[name].urn} reads a series SageMaker does not publish"
    component = one(plan, "aws-native:sagemaker:InferenceComponent", "chat-zero-component")
    assert dict(COMPONENT)["InferenceComponentName"] == component.inputs["inferenceComponentName"], \
        "the alarms name the component the stack registers"
    assert alarms[f"{CHAT_ENDPOINT}-gpu-saturated"].inputs["threshold"] == 95, "normalized: the spec's percent as is"
    rate = {q["id"]: q for q in alarms[f"{QUEUE_ENDPOINT}-5xx-rate"].inputs["metricQueries"]}
    assert rate["rate"]["expression"] == "100 * errors" and rate["rate"]["returnData"], "Average of a 1-or-0 metric × 100"


def test_the_rollback_alarms_of_a_component_watch_the_component(plan):
    component = one(plan, "aws-native:sagemaker:InferenceComponent", "chat-zero-component")
    watched = [a["alarmName"] for a in component.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]]
    alarms = {r.inputs["name"]: r for r in plan.resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"}
    for name in watched:
        for _, _, dims, _ in alarm_reads(alarms[name].inputs):
            assert dims == COMPONENT, f"rollback alarm {name} watches {dims}, not the component being updated"


def test_an_async_endpoint_says_its_p99_latency_alarm_may_have_no_data(plan):
    """AWS documents no percentile of an asynchronous endpoint's ModelLatency: preview says the p99 alarm
    may stay without data (and so never fires, missing data not breaching), for the async model only."""
    [warning] = [d for d in plan.diagnostics if d.field == "monitoring.alerts.latency_p99_ms"]
    assert (warning.level, warning.model) == ("warning", "batch-queue")
    assert "no percentiles" in warning.message and "does not fire" in warning.message
    alarms = {r.inputs["name"]: r.inputs for r in plan.resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"}
    latency = alarms[f"{QUEUE_ENDPOINT}-latency-p99"]
    assert latency["extendedStatistic"] == "p99" and latency["treatMissingData"] == "notBreaching"


def test_dashboard_rows_read_only_published_series(plan):
    assert dashboard_reads(plan, "chat-zero") == {
        ("AWS/SageMaker", "Invocations", COMPONENT, "Sum"), ("AWS/SageMaker", "Invocation5XXErrors", COMPONENT, "Sum"),
        ("AWS/SageMaker", "ModelLatency", COMPONENT, "p99"), ("AWS/SageMaker", "InvocationsPerCopy", COMPONENT, "Sum"),
        ("/aws/sagemaker/InferenceComponents", "GPUUtilizationNormalized", COMPONENT, "Average")}
    assert dashboard_reads(plan, "batch-queue") == {
        ("AWS/SageMaker", "Invocation5XXErrors", QUEUE_VARIANT, "Sum"),
        ("AWS/SageMaker", "Invocation5XXErrors", QUEUE_VARIANT, "Average"),
        ("AWS/SageMaker", "ModelLatency", QUEUE_VARIANT, "p99"),
        ("AWS/SageMaker", "ApproximateBacklogSize", QUEUE_ONLY, "Average"),
        ("AWS/SageMaker", "ApproximateBacklogSizePerInstance", QUEUE_ONLY, "Average"),
        ("/aws/sagemaker/Endpoints", "GPUUtilization", QUEUE_VARIANT, "Average")}


def test_a_components_gpu_threshold_is_not_multiplied_by_the_instances_gpus():
    """GPUUtilization of a variant is summed over the instance's GPUs; a component's GPUUtilizationNormalized
    is 0-100 over the GPUs it reserves. Same 4-GPU model, both ways."""
    from components.aws.sagemaker_monitoring import alarm_definitions
    from modelfleet.environment import parse_stack
    from modelfleet.placement import place_stack
    from modelfleet.spec import parse_spec

    stack = parse_stack(STACK, "stacks/Pulumi.sm-dev.yaml")
    big = CHAT.replace("SIZE", "16").replace("METRIC", "concurrency").replace("A10G:1", "A10G:4")
    specs = [parse_spec(big, "model_specs/chat-zero.yaml"),
             parse_spec(big.replace("chat-zero", "chat-warm").replace("min_replicas: 0", "min_replicas: 1")
                        .replace("scale_to_zero: true", "scale_to_zero: false"), "model_specs/chat-warm.yaml")]
    placed = {p.model: p for p in place_stack(stack, specs).placements}
    assert placed["chat-zero"].offer.gpu_count == placed["chat-warm"].offer.gpu_count == 4
    zero, warm = (alarm_definitions(placed[m])["gpu_utilization"] for m in ("chat-zero", "chat-warm"))
    assert (zero["metric_name"], zero["threshold"]) == ("GPUUtilizationNormalized", 95)
    assert (warm["metric_name"], warm["threshold"]) == ("GPUUtilization", 95 * 4)
    assert warm["dimensions"] == {"EndpointName": "chat-warm-sm-dev", "VariantName": "AllTraffic"}


# preview and cost ------------------------------------------------------------------------------

def test_preview_states_the_cold_start_and_what_it_is_made_of(plan):
    capacity = {c["model"]: c for c in plan.config["capacity"]}
    assert capacity["chat-zero"]["mode"] == "components" and capacity["batch-queue"]["mode"] == "async"
    words = capacity["chat-zero"]["cold_start"]
    for part in ("wake-up alarm 60 s", "instance start", "image pull", "model download (16 GiB)", "load + engine start"):
        assert part in words, f"cold start {words!r} does not say it includes {part}"
    seconds = [int(s) for s in re.findall(r"(\d+) s\b", words)]
    assert f"about {round(sum(seconds) / 60)} min" in words, "the total is the sum of its parts"
    assert "wake-up alarm 120 s" in capacity["batch-queue"]["cold_start"], "async wakes after two 60-second periods"


def test_cost_prices_both_floors_at_zero_says_so_and_lists_async_storage(project):
    result = cli(project, "cost", "--stack", "sm-dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    stack = json.loads(result.stdout)["stacks"][0]
    models = {m["model"]: m for m in stack["models"]}
    assert stack["monthly_min"] == "0.00" and Decimal(stack["monthly_max"]) > 0
    for name in ("chat-zero", "batch-queue"):
        assert models[name]["monthly_min"] == "0.00", name
        assert any("scales to zero" in note for note in models[name]["notes"]), models[name]["notes"]
    storage = [c for c in models["batch-queue"]["components"] if "asynchronous requests and results" in c["description"]]
    assert len(storage) == 1 and storage[0]["usage_based"] and storage[0]["monthly_max"] is None, \
        "async S3 usage is listed as usage-dependent, never priced at 0"
    assert not [u for u in stack["unpriced"] if u["type"] == "aws-native:sagemaker:InferenceComponent"]


# botocore: the generated shapes are requests the AWS APIs accept ------------------------------

RENAMES = {"kmsKeyArn": "KmsKeyId", "routingConfigs": "RoutingConfig", "name": "AlarmName"}


def pascal(value: Any, renames: dict[str, str] | None = None) -> Any:
    """Pulumi's camelCase wire inputs → the API's PascalCase; whole floats back to ints."""
    renames = renames or {}
    if isinstance(value, dict):
        return {renames.get(k, k[:1].upper() + k[1:]): pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def valid(service: str, operation: str, params: dict[str, Any]) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    report = ParamValidator().validate(params, model.input_shape)
    assert not report.has_errors(), f"{service} {operation}: {report.generate_report()}"
    problems = list(bounds_and_enums(params, model.input_shape, operation))
    assert not problems, f"{service} {operation}: {problems}"


def bounds_and_enums(value: Any, shape: Any, where: str) -> Any:
    """What botocore's ParamValidator leaves to the service: enum membership and maximum values."""
    if shape.type_name == "structure":
        for key, member in shape.members.items():
            if key in value:
                yield from bounds_and_enums(value[key], member, f"{where}.{key}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            yield from bounds_and_enums(item, shape.member, f"{where}[{i}]")
    elif getattr(shape, "enum", None) and value not in shape.enum:
        yield f"{where}: {value!r} is not one of {shape.enum}"
    elif shape.type_name in ("integer", "long", "double", "float") and "max" in shape.metadata and value > shape.metadata["max"]:
        yield f"{where}: {value} > {shape.metadata['max']}"


def test_generated_shapes_validate_against_botocore(plan):
    for name in ("chat-zero-config", "batch-queue-config"):
        inputs = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration", name).inputs
        variants = []
        for v in inputs["productionVariants"]:
            v = pascal(v)
            if "RoutingConfigs" in v:  # pulumi-aws lists it; the API takes one object
                [v["RoutingConfig"]] = v.pop("RoutingConfigs")
            variants.append(v)
        params = {"EndpointConfigName": name, "ProductionVariants": variants}
        for key in ("executionRoleArn", "asyncInferenceConfig"):
            if key in inputs:
                params[key[:1].upper() + key[1:]] = pascal(inputs[key])
        if "ExecutionRoleArn" in params:
            params["ExecutionRoleArn"] = "arn:aws:iam::123456789012:role/chat-zero-role"  # the mocks' ARN has no account field
        valid("sagemaker", "CreateEndpointConfig", params)
    component = one(plan, "aws-native:sagemaker:InferenceComponent", "chat-zero-component").inputs
    valid("sagemaker", "CreateInferenceComponent", {
        "InferenceComponentName": component["inferenceComponentName"], "EndpointName": component["endpointName"],
        "VariantName": component["variantName"], "Specification": pascal(component["specification"]),
        "RuntimeConfig": pascal(component["runtimeConfig"])})
    valid("sagemaker", "UpdateInferenceComponent", {
        "InferenceComponentName": component["inferenceComponentName"],
        "DeploymentConfig": pascal(component["deploymentConfig"])})
    for prefix in ("chat-zero", "batch-queue"):
        target = pascal(one(plan, "aws:appautoscaling/target:Target", f"{prefix}-scaling-target").inputs)
        target.pop("Tags")
        valid("application-autoscaling", "RegisterScalableTarget", target)
        for role in ("scaling-policy", "wake-policy"):
            policy = pascal(one(plan, "aws:appautoscaling/policy:Policy", f"{prefix}-{role}").inputs)
            for step in (policy.get("StepScalingPolicyConfiguration") or {}).get("StepAdjustments", []):
                step["MetricIntervalLowerBound"] = float(step["MetricIntervalLowerBound"])  # pulumi-aws passes a string
            valid("application-autoscaling", "PutScalingPolicy", {"PolicyName": f"{prefix}-{role}", **policy})
        alarm = pascal(one(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", f"{prefix}-wake-alarm").inputs, RENAMES)
        alarm.pop("Tags")
        alarm["Dimensions"] = [{"Name": k, "Value": v} for k, v in alarm["Dimensions"].items()]
        valid("cloudwatch", "PutMetricAlarm", alarm)


def test_the_start_limits_in_data_are_botocores():
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    startup = model.shape_for("InferenceComponentStartupParameters").members
    assert startup["ContainerStartupHealthCheckTimeoutInSeconds"].metadata["max"] == facts()["startup_health_check_max_seconds"]["value"]
    assert startup["ModelDataDownloadTimeoutInSeconds"].metadata["max"] == facts()["model_download_max_seconds"]["value"]


# bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("specs", "file", "line", "field", "says"), [
    ({"chat-zero": CHAT.replace("SIZE", "1800").replace("METRIC", "concurrency")}, "chat-zero.yaml", 7,
     "autoscaling.scale_to_zero", "at most 3600 s to pass its start health check"),
    ({"chat-zero": CHAT.replace("SIZE", "16").replace("METRIC", "gpu_utilization")}, "chat-zero.yaml", 7,
     "autoscaling.metric", "per-copy metrics only for invocations and concurrent requests"),
    ({"batch-queue": QUEUE.replace("SERVING", '{runtime: custom, image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/b:1", '
                                              "port: 8000}")}, "batch-queue.yaml", 7,
     "autoscaling.metric", "must answer POST /invocations and GET /ping on port 8080"),
], ids=["too-big-to-start-from-zero", "utilization-has-no-per-copy-metric", "custom-image-without-async-handler"])
def test_bad_capacity_inputs_exit_2_at_the_spec_line(tmp_path, specs, file, line, field, says):
    project = write_project(tmp_path, specs)
    result = cli(project, "validate")
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert f"{file}:{line}: {field}:" in out and says in out and "To fix:" in out, out
    assert "Traceback" not in out
    previewed = cli(project, "preview", "--stack", "sm-dev")
    assert previewed.returncode == 2 and "Traceback" not in previewed.stderr, previewed.stderr


def test_custom_image_that_declares_sagemakers_contract_may_scale_on_its_queue(tmp_path):
    serving = '{runtime: custom, image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/b:1", port: 8080, health: {path: /ping}}'
    project = write_project(tmp_path, {"batch-queue": QUEUE.replace("SERVING", serving)})
    result = cli(project, "validate")
    assert result.returncode == 0, result.stdout + result.stderr


# rollouts of a scale-to-zero model ---------------------------------------------------------------

@pytest.fixture(scope="module")
def rollout_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    """llama3-8b-chat 1.4.0 scales to zero in dev (canary 10 %, bake 10 min); stable 1.3.2."""
    states = {"progress": "  modelfleet:stable: {llama3-8b-chat: 1.3.2}\n",
              "aborted": "  modelfleet:stable: {llama3-8b-chat: {version: 1.3.2, aborted: 1.4.0}}\n"}
    root = write_project(tmp_path_factory.mktemp("smcap-rollout"),
                         {"llama3-8b-chat": (ROOT / "model_specs" / "llama3-8b-chat.yaml").read_text()},
                         {f"sm-{state}": STACK + line for state, line in states.items()})
    return {state: preview.preview_stack(root, f"sm-{state}") for state in states}


def test_a_new_version_of_a_scale_to_zero_model_is_a_rolling_update_of_its_component(rollout_plans):
    plan = rollout_plans["progress"]
    [r] = plan.config["rollouts"]
    assert "rolling update of inference component" in r["rollback"]["by"] and r["rollback"]["automatic"] is True
    assert r["traffic_steps"][0] == {"new_percent": 10, "bake_minutes": 10} and r["traffic_steps"][-1]["new_percent"] == 100
    [component] = [c for c in plan.resources if c.type == "aws-native:sagemaker:InferenceComponent"]
    policy = component.inputs["deploymentConfig"]["rollingUpdatePolicy"]
    assert policy["maximumBatchSize"] == {"type": "CAPACITY_PERCENT", "value": 10} and policy["waitIntervalInSeconds"] == 600
    [model] = [m for m in plan.resources if m.type == "aws:sagemaker/model:Model"]
    assert component.inputs["specification"]["modelName"] == model.name, "the new version's Model"


def test_abort_points_the_component_back_at_the_stable_model(rollout_plans):
    plan = rollout_plans["aborted"]
    [component] = [c for c in plan.resources if c.type == "aws-native:sagemaker:InferenceComponent"]
    serving = component.inputs["specification"]["modelName"]
    assert not serving.startswith("arn:") and "1-3-2" in serving, \
        "found by its version tag (the preview's tagging API answers with the tag values)"
    [r] = plan.config["rollouts"]
    assert "pointed back at the SageMaker Model of 1.3.2" in r["abort"]


def test_smoke_addresses_a_scale_to_zero_model_through_its_inference_component():
    import io

    import boto3
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    from modelfleet.smoke.sagemaker import invoke

    client = boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        # InvokeEndpoint on an endpoint with inference components must name the component
        stub.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(b'{"ok": 1}'), 9),
                                              "ResponseMetadata": {"HTTPStatusCode": 200}},
                          {"EndpointName": CHAT_ENDPOINT, "Body": b"{}", "ContentType": "application/json",
                           "Accept": "application/json", "InferenceComponentName": CHAT_ENDPOINT})
        result = invoke(client, CHAT_ENDPOINT, b"{}", component=CHAT_ENDPOINT)
        stub.assert_no_pending_responses()
    assert result.ok and result.body == '{"ok": 1}'
