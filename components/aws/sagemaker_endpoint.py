"""`SageMakerEndpoint`: one model as a SageMaker real-time endpoint with safe rollout and autoscaling.

Registers, under the component:
- an execution role scoped to THIS model (`sagemaker_config.execution_role_statements`; no
  managed FullAccess policy), which SageMaker may assume only for this account's SageMaker
  resources (`aws:SourceAccount` / `aws:SourceArn`, `common.service_trust_policy`);
- `Model` (`sagemaker_container.container_definition`: the image or its pull-through cache path,
  S3 model data or a Hub download, runtime environment and secrets; network isolation and the VPC
  config when the stack gives subnets — isolation off for a Hub download, which needs egress);
- `EndpointConfiguration` (placement instance type, initial count = min replicas, the stack's
  KMS key where the instance type accepts one, data capture when sampled);
- CloudWatch alarms from `sagemaker_monitoring.alarm_definitions` (5xx share, ModelLatency p99,
  GPU saturation on GPU instances) on the series SageMaker publishes for the model's capacity mode
  (the variant's, or the inference component's): ONE alarm per signal, which notifies `sns_topic_arn` when set
  AND, for the signals in `rollout.rollback_on`, rolls a deployment back. With
  `monitoring.enabled: false` there are no alarms, hence no automatic rollback (the SageMaker
  target warns);
- `Endpoint` with the blue/green deployment config of `rollout` (SageMaker's native traffic
  shifting and auto-rollback), protected in production. Its configuration is not: each version
  replaces it, which `protect` would block. The model and endpoint configuration of each version are kept when
  replaced, so an aborted rollout points the endpoint back at the stable version's configuration
  (`sagemaker_rollout`);
- autoscaling by capacity mode (`sagemaker_scaling`): instances of the variant; or, for scale-to-zero,
  managed instance scaling from 0 on the variant plus the model as an inference component whose copies
  scale to 0 and wake on NoCapacityInvocationFailures; or, for `queue_depth`, an asynchronous endpoint
  (results and failures in the stack bucket, KMS-encrypted, SNS notifications) scaling on its backlog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws import sagemaker_capacity as capacity
from components.aws.common import policy_json, service_trust_policy
from components.aws.sagemaker_config import (
    deployment_config,
    execution_role_statements,
)
from components.aws.sagemaker_container import container_definition, hub_download, secret_env_tags, weights_uri
from components.aws.sagemaker_monitoring import alarm_definitions
from components.aws.sagemaker_rollout import MODEL_RESOURCE_TYPE, stable_config_name
from components.aws.sagemaker_scaling import scale_async, scale_components, scale_instances
from modelfleet.placement import Placement
from modelfleet.targets.aws_offers import partition
from modelfleet.targets.sagemaker import accepts_volume_kms_key

# alarm resource names by signal (kept stable: renaming one would replace the alarm)
ALARM_ROLES = {"error_rate": "5xx", "latency_p99": "latency", "gpu_utilization": "gpu"}


@dataclass(frozen=True)
class SageMakerEndpointArgs:
    """placement: the model on this stack; environment: container variables; region;
    repository_arns: ECR repositories the role may pull from; subnet_ids / security_group_ids:
    VPC config + network isolation when given (default none); kms_key_arn: stack key (default
    None); sns_topic_arn: alarm notifications (default None); capture_bucket_arn /
    capture_s3_uri: where data capture goes (required when the spec samples); async_bucket_arn /
    async_bucket_uri: the stack bucket holding asynchronous requests and results (required for
    `queue_depth` models); account_id: the deploying account (trust-policy conditions); image: what
    SageMaker pulls (default the placement's image; the pull-through cache path for images outside
    ECR); cached_repository_arns: pull-through repositories the role may import into; production:
    protect the endpoint (default False)."""

    placement: Placement
    environment: dict[str, str]
    region: str
    repository_arns: list[Any] = field(default_factory=list)
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    kms_key_arn: str | None = None
    sns_topic_arn: str | None = None
    capture_bucket_arn: Any | None = None
    capture_s3_uri: Any | None = None
    async_bucket_arn: Any | None = None
    async_bucket_uri: Any | None = None
    account_id: Any = None
    image: Any = None
    cached_repository_arns: list[Any] = field(default_factory=list)
    production: bool = False


class SageMakerEndpoint(pulumi.ComponentResource):
    url: pulumi.Output[str]
    endpoint_name: pulumi.Output[str]

    def __init__(self, name: str, args: SageMakerEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:SageMakerEndpoint", name, None, opts)
        p = args.placement
        spec = p.spec
        assert p.offer is not None
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)  # versions stay for an abort (sagemaker_rollout)
        endpoint_name, variant = p.names["endpoint"], p.names["variant"]
        in_vpc = bool(args.subnet_ids)
        capturing = (spec.monitoring.enabled and spec.monitoring.data_capture.sample_percent > 0
                     and args.capture_s3_uri is not None)

        account = args.account_id if args.account_id is not None else \
            aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        source_arn = pulumi.Output.concat(f"arn:{partition(args.region)}:sagemaker:{args.region}:", account, ":*")
        role = aws.iam.Role(f"{name}-role", assume_role_policy=service_trust_policy("sagemaker.amazonaws.com", account, source_arn),
                            description=f"SageMaker execution role of {p.model} on {p.stack}", tags=p.tags, opts=child)
        aws.iam.RolePolicy(f"{name}-role-policy", role=role.id, policy=policy_json(execution_role_statements(
            partition=partition(args.region), region=args.region, endpoint=endpoint_name, model_uri=weights_uri(p),
            repository_arns=args.repository_arns, cached_repository_arns=args.cached_repository_arns, capture_bucket_arn=args.capture_bucket_arn if capturing else None,
            kms_key_arn=args.kms_key_arn, in_vpc=in_vpc)), opts=child)

        container = container_definition(p, args.environment, p.image if args.image is None else args.image, self)
        model = aws.sagemaker.Model(  # type: ignore[call-overload]
            f"{name}-model", execution_role_arn=role.arn, primary_container=container,
            # no outbound network from the container: weights come from S3 via SageMaker, not the internet;
            # a Hub model is downloaded by the container itself, so it keeps egress (preview says so)
            enable_network_isolation=in_vpc and not hub_download(p),
            vpc_config={"subnets": list(args.subnet_ids), "security_group_ids": list(args.security_group_ids)} if in_vpc else None,
            tags={**p.tags, **secret_env_tags(p)}, opts=kept)

        variant_args = {
            "variant_name": variant, "model_name": model.name, "instance_type": p.offer.instance_type,
            "initial_instance_count": max(p.min_replicas, 1),  # CreateEndpointConfig: ≥ 1 (an async endpoint scales to 0 later)
            # large weights take a while to download and load: bound both by the spec, not SageMaker's defaults
            "model_data_download_timeout_in_seconds": capacity.model_data_download_seconds(spec),
            "container_startup_health_check_timeout_in_seconds": capacity.startup_health_check_seconds(spec),
        }
        mode = p.names.get("capacity", "instances")
        if mode == "components":  # the model runs as an inference component; the variant only holds instances
            variant_args = capacity.component_variant(p)
        config_args: dict[str, Any] = {"production_variants": [variant_args], "tags": p.tags}
        if mode == "components":
            config_args["execution_role_arn"] = role.arn  # required when the variant names no model
        if mode == "async":
            config_args["async_inference_config"] = self._async(name, p, endpoint_name, args, role)
        if args.kms_key_arn and accepts_volume_kms_key(p.offer.instance_type):
            config_args["kms_key_arn"] = args.kms_key_arn
        if capturing:
            config_args["data_capture_config"] = {
                "enable_capture": True,
                "initial_sampling_percentage": max(1, round(spec.monitoring.data_capture.sample_percent)),
                "destination_s3_uri": args.capture_s3_uri,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "kms_key_id": args.kms_key_arn,
            }
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config", **config_args,
            opts=pulumi.ResourceOptions(
                parent=self, retain_on_delete=True,  # a later abort points the endpoint back at it (sagemaker_rollout)
                # the scalable target carries min_replicas; recreating the config (and a blue/green
                # deployment) only to change the start count would reset the fleet the autoscaler sized
                ignore_changes=["productionVariants[0].initialInstanceCount"]))

        rollback = self._alarms(name, p, args.sns_topic_arn)
        rollout = p.rollout
        # an aborted rollout sends all traffic back: the endpoint serves the stable version's configuration again
        serving_config = stable_config_name(p, rollout.stable_version) if rollout is not None and rollout.phase == "aborted" \
            and rollout.stable_version else config.name
        endpoint = aws.sagemaker.Endpoint(  # type: ignore[call-overload]
            f"{name}-endpoint", name=endpoint_name, endpoint_config_name=serving_config,
            deployment_config=deployment_config(spec.rollout, rollback), tags=p.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.production))  # production traffic: no accidental delete

        if mode == "components":
            aborted = rollout is not None and rollout.phase == "aborted" and rollout.stable_version
            # an aborted rollout: the component runs the stable version's Model again (kept, found by its tags)
            serving_model = stable_config_name(p, rollout.stable_version, resource_type=MODEL_RESOURCE_TYPE) \
                if aborted and rollout is not None and rollout.stable_version else model.name
            scale_components(name, p, endpoint, serving_model, rollback, child)
        elif mode == "async":
            scale_async(name, p, endpoint, child)
        else:
            scale_instances(name, p, endpoint, child)

        self.endpoint_name = endpoint.name
        self.url = endpoint.name.apply(lambda n: f"https://runtime.sagemaker.{args.region}.amazonaws.com/endpoints/{n}/invocations")
        self.register_outputs({"endpoint_name": self.endpoint_name, "url": self.url})

    def _async(self, name: str, p: Placement, endpoint: str, args: SageMakerEndpointArgs, role: aws.iam.Role) -> dict[str, Any]:
        """AsyncInferenceConfig in the stack bucket; with an alert topic, errors notify it and successes a
        per-endpoint topic that consumers subscribe to (not the on-call topic)."""
        assert args.async_bucket_arn is not None and args.async_bucket_uri is not None
        child = pulumi.ResourceOptions(parent=self)
        paths = args.async_bucket_uri.apply(lambda uri: capacity.async_paths(uri, endpoint))
        success = None
        if args.sns_topic_arn:
            success = aws.sns.Topic(f"{name}-async-success", kms_master_key_id=args.kms_key_arn, tags=p.tags, opts=child).arn
        aws.iam.RolePolicy(f"{name}-async-policy", role=role.id, policy=policy_json(capacity.async_role_statements(
            args.async_bucket_arn, endpoint, [t for t in (args.sns_topic_arn, success) if t is not None])), opts=child)
        return capacity.async_config(paths["output"], paths["failure"], args.kms_key_arn, success, args.sns_topic_arn)

    def _alarms(self, name: str, p: Placement, sns_topic_arn: str | None) -> list[Any]:
        """Create the model's alarms (one per signal); return the names of those in `rollout.rollback_on`.

        The same MetricAlarm resources page (`alarm_actions`) and stop a deployment
        (`autoRollbackConfiguration`); none exist when monitoring is disabled."""
        actions = [sns_topic_arn] if sns_topic_arn else []
        rollback: list[Any] = []
        for signal, definition in alarm_definitions(p).items():
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{ALARM_ROLES[signal]}-alarm", **definition, alarm_actions=actions, ok_actions=actions,
                tags=p.tags, opts=pulumi.ResourceOptions(parent=self))
            if signal in p.spec.rollout.rollback_on:
                rollback.append(alarm.name)
        return rollback
