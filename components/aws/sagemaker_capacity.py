"""Pure builders for SageMaker capacity beyond a fixed-floor variant (no Pulumi resources; unit-testable).

Scale-to-zero (`components` mode), after "Scale an endpoint to zero instances"
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html):
- `component_variant(p)`: the production variant WITHOUT a model, with managed instance scaling
  (Status ENABLED, MinInstanceCount 0, MaxInstanceCount = max replicas: one copy per instance) and
  least-outstanding-requests routing;
- `component_specification(p, model_name)`: the inference component's model, compute (the spec's
  GPUs, CPU, memory) and start-up limits;
- `copy_scaling(autoscaling)`: target tracking of copies on the predefined per-copy metric;
- `wake_alarm(component)` / `wake_step_policy()`: the NoCapacityInvocationFailures alarm and the
  step policy that adds one copy, exactly as the page above shows them.

Queue-driven (`async` mode), after "Autoscale an asynchronous endpoint"
(https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html):
- `async_config(...)`: AsyncInferenceConfig with S3OutputPath / S3FailurePath, KmsKeyId and SNS topics;
- `backlog_scaling(autoscaling, endpoint)`: target tracking on ApproximateBacklogSizePerInstance;
- `backlog_alarm(endpoint)` / `backlog_step_policy()`: HasBacklogWithoutCapacity → one instance from zero;
- `async_role_statements(...)`: what the execution role needs to read inputs, write results and notify.
"""

from __future__ import annotations

from typing import Any

from modelfleet.placement import Placement
from modelfleet.spec import Autoscaling, ModelSpec, Rollout
from modelfleet.targets.sagemaker_capacity import cold_start, facts

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
# RoutingConfig of the AWS scale-to-zero examples: send each request to the copy with the fewest in flight
ROUTING_STRATEGY = "LEAST_OUTSTANDING_REQUESTS"
# Application Auto Scaling predefined metrics per inference-component copy (botocore application-autoscaling MetricType)
COPY_METRIC = {"concurrency": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
               "rps": "SageMakerInferenceComponentInvocationsPerCopy"}
WAKE_METRIC = "NoCapacityInvocationFailures"  # emitted when a request finds no copy to serve it
BACKLOG_METRIC = "ApproximateBacklogSizePerInstance"
BACKLOG_WITHOUT_CAPACITY = "HasBacklogWithoutCapacity"
# the first deploy starts one copy, so `pulumi up` proves the model loads; the autoscaler owns the count after that
INITIAL_COPIES = 1
ASYNC_PREFIX = "async"  # s3://<stack bucket>/async/<endpoint>/{input,output,failure}/


def model_data_download_seconds(spec: ModelSpec) -> int:
    """Large weights take a while to download: bound it by the spec, within SageMaker's 60-3600 s."""
    return min(facts()["model_download_max_seconds"]["value"], max(600, int(spec.model.size_gib * 30)))


def startup_health_check_seconds(spec: ModelSpec, from_zero: bool = False) -> int:
    """Twice the spec's probe delay (≥ 600 s); a copy started from zero also gets the estimated load time."""
    wanted = max(600, spec.serving.health.initial_delay_s * 2)
    if from_zero:
        wanted = max(wanted, cold_start(spec, "components").startup_seconds)
    return int(min(facts()["startup_health_check_max_seconds"]["value"], wanted))


def component_variant(p: Placement) -> dict[str, Any]:
    assert p.offer is not None
    return {
        "variant_name": p.names["variant"], "instance_type": p.offer.instance_type,
        # CreateEndpointConfig requires InitialInstanceCount ≥ 1; managed scaling releases it when no copy runs
        "initial_instance_count": 1,
        "managed_instance_scaling": {"status": "ENABLED", "min_instance_count": 0, "max_instance_count": p.max_replicas},
        "routing_configs": [{"routing_strategy": ROUTING_STRATEGY}],
    }


def component_specification(p: Placement, model_name: Any) -> dict[str, Any]:
    spec = p.spec
    compute: dict[str, Any] = {"number_of_cpu_cores_required": spec.resources.cpu,
                               "min_memory_required_in_mb": int(spec.resources.memory_gib * 1024)}
    if p.gpus_per_replica:
        compute["number_of_accelerator_devices_required"] = p.gpus_per_replica
    return {"model_name": model_name, "compute_resource_requirements": compute,
            "startup_parameters": {"model_data_download_timeout_in_seconds": model_data_download_seconds(spec),
                                   "container_startup_health_check_timeout_in_seconds": startup_health_check_seconds(
                                       spec, from_zero=spec.autoscaling.floor == 0)}}


def copy_scaling(autoscaling: Autoscaling) -> dict[str, Any]:
    """rps → invocations per copy, which SageMaker counts per MINUTE (target = rps × 60)."""
    target = autoscaling.target * 60 if autoscaling.metric == "rps" else autoscaling.target
    return {"target_value": target, "scale_in_cooldown": 300, "scale_out_cooldown": 60,
            "predefined_metric_specification": {"predefined_metric_type": COPY_METRIC[autoscaling.metric]}}


def wake_alarm(component: str) -> dict[str, Any]:
    # AWS's example verbatim: Sum > 1 over one 60-second period. A single failed request in a minute
    # does not wake the endpoint; the second one (or a client retry) does.
    return {"name": f"{component}-no-capacity", "namespace": SAGEMAKER_NAMESPACE, "metric_name": WAKE_METRIC,
            "dimensions": {"InferenceComponentName": component}, "statistic": "Sum", "period": 60,
            "evaluation_periods": 1, "datapoints_to_alarm": 1, "threshold": 1, "comparison_operator": "GreaterThanThreshold",
            "alarm_description": "Scale out from zero: requests reached the endpoint while no copy was running"}


def wake_step_policy() -> dict[str, Any]:
    return {"adjustment_type": "ChangeInCapacity", "metric_aggregation_type": "Maximum", "cooldown": 60,
            "step_adjustments": [{"metric_interval_lower_bound": "0", "scaling_adjustment": 1}]}


def async_paths(bucket_uri: str, endpoint: str) -> dict[str, str]:
    base = f"{bucket_uri}/{ASYNC_PREFIX}/{endpoint}"
    return {"input": f"{base}/input/", "output": f"{base}/output/", "failure": f"{base}/failure/"}


def async_config(output: Any, failure: Any, kms_key_arn: str | None, success_topic: Any | None,
                 error_topic: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"s3_output_path": output, "s3_failure_path": failure}
    if kms_key_arn:
        out["kms_key_id"] = kms_key_arn
    if error_topic:
        out["notification_config"] = {"error_topic": error_topic, "success_topic": success_topic}
    return {"output_config": out}


def backlog_scaling(autoscaling: Autoscaling, endpoint: str) -> dict[str, Any]:
    """`target` queued requests per instance (AWS's example uses 5)."""
    return {"target_value": autoscaling.target, "scale_in_cooldown": 300, "scale_out_cooldown": 60,
            "customized_metric_specification": {"metric_name": BACKLOG_METRIC, "namespace": SAGEMAKER_NAMESPACE,
                                                "dimensions": [{"name": "EndpointName", "value": endpoint}],
                                                "statistic": "Average"}}


def backlog_alarm(endpoint: str) -> dict[str, Any]:
    return {"name": f"{endpoint}-backlog-without-capacity", "namespace": SAGEMAKER_NAMESPACE,
            "metric_name": BACKLOG_WITHOUT_CAPACITY, "dimensions": {"EndpointName": endpoint}, "statistic": "Average",
            "period": 60, "evaluation_periods": 2, "datapoints_to_alarm": 2, "threshold": 1,
            "comparison_operator": "GreaterThanOrEqualToThreshold", "treat_missing_data": "missing",
            "alarm_description": "Scale out from zero: requests are queued while the endpoint has no instance"}


def backlog_step_policy() -> dict[str, Any]:
    return {"adjustment_type": "ChangeInCapacity", "metric_aggregation_type": "Average", "cooldown": 300,
            "step_adjustments": [{"metric_interval_lower_bound": "0", "scaling_adjustment": 1}]}


def async_role_statements(bucket_arn: Any, endpoint: str, topics: list[Any]) -> list[dict[str, Any]]:
    """SageMaker reads each request from the input prefix and writes results with the model's role."""
    def under(suffix: str) -> Any:
        if isinstance(bucket_arn, str):
            return f"{bucket_arn}/{ASYNC_PREFIX}/{endpoint}/{suffix}"
        return bucket_arn.apply(lambda arn: f"{arn}/{ASYNC_PREFIX}/{endpoint}/{suffix}")

    statements: list[dict[str, Any]] = [
        {"Sid": "ReadAsyncInput", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [under("input/*")]},
        {"Sid": "WriteAsyncResults", "Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": [under("output/*"), under("failure/*")]},
    ]
    if topics:
        statements.append({"Sid": "NotifyAsync", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": topics})
    return statements


def component_deployment_config(rollout: Rollout, alarm_names: list[Any]) -> dict[str, Any]:
    """A new model version replaces the component's copies in batches (its own rolling update, not the
    endpoint's blue/green), baked `bake_minutes` (≤ 1 h) and rolled back on the rollback alarms.
    Batch size: the canary share for canary, everything for blue_green, 25 % steps for rolling."""
    wait = min(rollout.bake_minutes * 60, facts()["startup_health_check_max_seconds"]["value"])
    percent = {"canary": rollout.percent, "blue_green": 100}.get(rollout.strategy, 25)
    config: dict[str, Any] = {"rolling_update_policy": {
        "maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": percent}, "wait_interval_in_seconds": wait,
        "rollback_maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": 100},
        # SageMaker bounds: 600 s - 28800 s; room for copies starting from zero plus every bake
        "maximum_execution_timeout_in_seconds": max(600, min(28800, 3600 + wait * (100 // percent + 1)))}}
    if alarm_names:
        config["auto_rollback_configuration"] = {"alarms": [{"alarm_name": name} for name in alarm_names]}
    return config
