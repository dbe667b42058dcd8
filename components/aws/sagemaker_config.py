"""Pure builders for a SageMaker endpoint's settings (no Pulumi resources; unit-testable).

- `execution_role_statements(...)`: least-privilege statements for ONE model — ECR pull on its
  image repositories (and import into its pull-through cache repository), S3 read on its
  `model.uri` prefix only (none for a Hub download), S3 write on its capture prefix,
  its own log group, metrics in the SageMaker namespaces, its KMS key, VPC ENIs when in a VPC.
- `deployment_config(rollout, alarm_names)`: blue/green traffic shifting that follows
  `rollout` (canary → CANARY of `canary_percent` %, blue_green → ALL_AT_ONCE, rolling →
  LINEAR in 25 % steps), each step baked `bake_minutes` (≤ 1 h, SageMaker's bound), rolled
  back automatically on the given CloudWatch alarms.
- `scaling_policy(spec, endpoint, variant, gpus, vcpus)`: the target-tracking configuration for
  `autoscaling.metric`.
- `model_data(uri)`: S3 prefix (uncompressed) or a `.tar.gz` ModelDataUrl.
"""

from __future__ import annotations

from typing import Any

from modelfleet.pull_through import facts as pull_through_facts
from modelfleet.spec import Autoscaling, Rollout

ENDPOINT_NAMESPACE = "/aws/sagemaker/Endpoints"  # per-instance metrics (GPU/CPU utilization)
MAX_WAIT_SECONDS = 3600
LINEAR_STEP_PERCENT = 25
# predefined Application Auto Scaling metric for in-flight requests per model copy (high resolution)
CONCURRENCY_METRIC = "SageMakerVariantConcurrentRequestsPerModelHighResolution"


def split_s3(uri: str) -> tuple[str, str]:
    """s3://bucket/some/prefix/ → ("bucket", "some/prefix/")."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def model_data(uri: str) -> dict[str, Any]:
    if uri.endswith((".tar.gz", ".tgz")):
        return {"model_data_url": uri}
    prefix = uri if uri.endswith("/") else uri + "/"
    return {"model_data_source": {"s3_data_sources": [
        {"s3_uri": prefix, "s3_data_type": "S3Prefix", "compression_type": "None"}]}}


def execution_role_statements(*, partition: str, region: str, endpoint: str, model_uri: str | None,
                              repository_arns: list[Any], capture_bucket_arn: Any | None,
                              kms_key_arn: str | None, in_vpc: bool,
                              cached_repository_arns: list[Any] | None = None) -> list[dict[str, Any]]:
    """IAM statements of the model's execution role; ARNs may be Outputs. `model_uri` None: the container
    downloads its weights itself (Hub), no S3 read. `cached_repository_arns`: pull-through cache repositories."""
    log_group = f"arn:{partition}:logs:{region}:*:log-group:{ENDPOINT_NAMESPACE}/{endpoint}"
    statements: list[dict[str, Any]] = [
        {"Sid": "PullImage", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": [*repository_arns, *(cached_repository_arns or [])]},
        # GetAuthorizationToken has no resource-level permissions: AWS documents Resource "*"
        {"Sid": "EcrToken", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
         "Resource": [log_group, f"{log_group}:log-stream:*"]},
        # PutMetricData has no resource-level permissions; the namespace condition scopes it
        {"Sid": "Metrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "AWS/SageMaker"]}}},
    ]
    if model_uri is not None:
        statements[2:2] = _read_model(partition, model_uri)
    if cached_repository_arns:
        # the first pull through a cache rule imports the upstream image into a repository it creates
        # (ECR user guide, "IAM permissions required to sync an upstream registry"): only these repositories
        statements.append({"Sid": "PullThroughCache", "Effect": "Allow", "Action": list(pull_through_facts()["pull_actions"]),
                           "Resource": list(cached_repository_arns)})
    if capture_bucket_arn is not None:
        statements.append({"Sid": "WriteCapture", "Effect": "Allow", "Action": ["s3:PutObject"],
                           "Resource": [_concat(capture_bucket_arn, f"/{endpoint}/*")]})
    if kms_key_arn:
        statements.append({"Sid": "UseKey", "Effect": "Allow",
                           "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                           "Resource": [kms_key_arn]})
    if in_vpc:
        # ENI management for the VPC config: EC2 offers no resource-level scoping for Describe*
        statements.append({"Sid": "VpcInterfaces", "Effect": "Allow", "Resource": "*", "Action": [
            "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
            "ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]})
    return statements


def _read_model(partition: str, model_uri: str) -> list[dict[str, Any]]:
    bucket, key = split_s3(model_uri)
    if key.endswith((".tar.gz", ".tgz")):
        s3_object, list_prefix = f"arn:{partition}:s3:::{bucket}/{key}", key  # one archive: exactly that object
    else:
        prefix = key if not key or key.endswith("/") else key + "/"
        s3_object, list_prefix = f"arn:{partition}:s3:::{bucket}/{prefix}*", f"{prefix}*"
    return [{"Sid": "ReadModel", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [s3_object]},
            {"Sid": "ListModel", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:{partition}:s3:::{bucket}"],
             "Condition": {"StringLike": {"s3:prefix": [list_prefix]}}}]


def _concat(arn: Any, suffix: str) -> Any:
    if isinstance(arn, str):
        return arn + suffix
    return arn.apply(lambda value: value + suffix)


def deployment_config(rollout: Rollout, alarm_names: list[Any]) -> dict[str, Any]:
    wait = min(rollout.bake_minutes * 60, MAX_WAIT_SECONDS)
    if rollout.strategy == "canary":
        routing = {"type": "CANARY", "wait_interval_in_seconds": wait,
                   "canary_size": {"type": "CAPACITY_PERCENT", "value": rollout.percent}}
    elif rollout.strategy == "blue_green":
        routing = {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": wait}
    else:
        routing = {"type": "LINEAR", "wait_interval_in_seconds": wait,
                   "linear_step_size": {"type": "CAPACITY_PERCENT", "value": LINEAR_STEP_PERCENT}}
    steps = 100 // LINEAR_STEP_PERCENT if rollout.strategy == "rolling" else 1
    config: dict[str, Any] = {"blue_green_update_policy": {
        "traffic_routing_configuration": routing,
        # keep the old fleet for one bake period after the switch, so a late alarm can still roll back
        "termination_wait_in_seconds": wait,
        # SageMaker bounds: 600 s - 28800 s; room for instance start-up plus every bake step
        "maximum_execution_timeout_in_seconds": max(600, min(28800, 1800 + wait * (steps + 1))),
    }}
    if alarm_names:
        config["auto_rollback_configuration"] = {"alarms": [{"alarm_name": name} for name in alarm_names]}
    return config


def scaling_policy(autoscaling: Autoscaling, endpoint: str, variant: str, gpus: int, vcpus: float) -> dict[str, Any]:
    """Target tracking for `autoscaling.metric` (queue_depth is rejected at placement).

    rps → SageMakerVariantInvocationsPerInstance, which counts per MINUTE: target = rps × 60.
    concurrency → predefined in-flight requests per model (high resolution).
    gpu/cpu utilization → the per-instance metric, which SageMaker sums over devices
    (0-100 % × GPUs or vCPUs): target = percent × device count."""
    metric = autoscaling.metric
    common = {"scale_in_cooldown": 300, "scale_out_cooldown": 60}
    if metric == "rps":
        return {**common, "target_value": autoscaling.target * 60,
                "predefined_metric_specification": {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"}}
    if metric == "concurrency":
        return {**common, "target_value": autoscaling.target,
                "predefined_metric_specification": {"predefined_metric_type": CONCURRENCY_METRIC}}
    name, devices = ("GPUUtilization", max(gpus, 1)) if metric == "gpu_utilization" else ("CPUUtilization", max(vcpus, 1))
    return {**common, "target_value": autoscaling.target * devices, "customized_metric_specification": {
        "metric_name": name, "namespace": ENDPOINT_NAMESPACE, "statistic": "Average",
        "dimensions": [{"name": "EndpointName", "value": endpoint}, {"name": "VariantName", "value": variant}]}}
