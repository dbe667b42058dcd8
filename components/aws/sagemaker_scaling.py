"""Autoscaling resources of one SageMaker endpoint, by capacity mode (`modelfleet.targets.sagemaker_capacity`).

- `instances`: an Application Auto Scaling target on the variant's instance count (min/max replicas)
  and a target-tracking policy on `autoscaling.metric` (`sagemaker_config.scaling_policy`).
- `components`: the model's `AWS::SageMaker::InferenceComponent` (pulumi-aws-native, imported only
  here and only for such endpoints), a target on its copy count (min 0), target tracking on the
  per-copy metric, and the NoCapacityInvocationFailures alarm driving a step policy that adds a copy
  (SageMaker then starts an instance for it).
- `async`: a target on the variant's instance count (min = the floor, 0 allowed for async endpoints),
  target tracking on ApproximateBacklogSizePerInstance and, when the floor is 0, the
  HasBacklogWithoutCapacity alarm driving a step policy that adds an instance.
All children are parented to the endpoint component and named `f"{name}-{role}"`.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws import sagemaker_capacity as cap
from components.aws.sagemaker_config import scaling_policy
from modelfleet.placement import Placement

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def scale_instances(name: str, p: Placement, endpoint: aws.sagemaker.Endpoint, child: pulumi.ResourceOptions) -> None:
    assert p.offer is not None
    target = _variant_target(name, p, endpoint, child)
    aws.appautoscaling.Policy(  # type: ignore[call-overload]
        f"{name}-scaling-policy", policy_type="TargetTrackingScaling", service_namespace=target.service_namespace,
        resource_id=target.resource_id, scalable_dimension=target.scalable_dimension,
        target_tracking_scaling_policy_configuration=scaling_policy(
            p.spec.autoscaling, p.names["endpoint"], p.names["variant"], p.offer.gpu_count if p.gpus_per_replica else 0,
            p.offer.vcpus),
        opts=child)


def scale_async(name: str, p: Placement, endpoint: aws.sagemaker.Endpoint, child: pulumi.ResourceOptions) -> None:
    target = _variant_target(name, p, endpoint, child)
    aws.appautoscaling.Policy(  # type: ignore[call-overload]
        f"{name}-scaling-policy", policy_type="TargetTrackingScaling", service_namespace=target.service_namespace,
        resource_id=target.resource_id, scalable_dimension=target.scalable_dimension,
        target_tracking_scaling_policy_configuration=cap.backlog_scaling(p.spec.autoscaling, p.names["endpoint"]),
        opts=child)
    if p.min_replicas == 0:
        # target tracking alone leaves zero only once the backlog passes the target; this wakes it on the first request
        _step_from_zero(name, p, target, cap.backlog_step_policy(), cap.backlog_alarm(p.names["endpoint"]), child)


def scale_components(name: str, p: Placement, endpoint: aws.sagemaker.Endpoint, model_name: Any,
                     alarm_names: list[Any], child: pulumi.ResourceOptions) -> Any:
    """Register the inference component and its copy scaling; return the component resource."""
    import pulumi_aws_native as aws_native  # lazy: only stacks with scale-to-zero SageMaker models load it

    component_name = p.names["inference_component"]
    component = aws_native.sagemaker.InferenceComponent(  # type: ignore[call-overload]
        f"{name}-component", inference_component_name=component_name, endpoint_name=endpoint.name,
        variant_name=p.names["variant"], specification=cap.component_specification(p, model_name),
        runtime_config={"copy_count": cap.INITIAL_COPIES},
        deployment_config=cap.component_deployment_config(p.spec.rollout, alarm_names),
        tags=[{"key": k, "value": v} for k, v in sorted(p.tags.items())],
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
            # Application Auto Scaling owns the copy count (0..max); IaC must not reset it on every update
            ignore_changes=["runtimeConfig.copyCount"])))
    target = aws.appautoscaling.Target(
        f"{name}-scaling-target", service_namespace="sagemaker",
        resource_id=component.inference_component_name.apply(lambda n: f"inference-component/{n}"),
        scalable_dimension=cap.COPY_DIMENSION, min_capacity=p.min_replicas, max_capacity=p.max_replicas,
        tags=p.tags, opts=child)
    aws.appautoscaling.Policy(  # type: ignore[call-overload]
        f"{name}-scaling-policy", policy_type="TargetTrackingScaling", service_namespace=target.service_namespace,
        resource_id=target.resource_id, scalable_dimension=target.scalable_dimension,
        target_tracking_scaling_policy_configuration=cap.copy_scaling(p.spec.autoscaling), opts=child)
    if p.min_replicas == 0:
        # target tracking cannot divide by zero copies: without this alarm the endpoint would never wake up
        _step_from_zero(name, p, target, cap.wake_step_policy(), cap.wake_alarm(component_name), child)
    return component


def _variant_target(name: str, p: Placement, endpoint: aws.sagemaker.Endpoint,
                    child: pulumi.ResourceOptions) -> aws.appautoscaling.Target:
    variant = p.names["variant"]
    return aws.appautoscaling.Target(
        f"{name}-scaling-target", service_namespace="sagemaker",
        resource_id=endpoint.name.apply(lambda n: f"endpoint/{n}/variant/{variant}"),
        scalable_dimension=VARIANT_DIMENSION, min_capacity=p.min_replicas, max_capacity=p.max_replicas,
        tags=p.tags, opts=child)


def _step_from_zero(name: str, p: Placement, target: aws.appautoscaling.Target, step: dict[str, Any],
                    alarm: dict[str, Any], child: pulumi.ResourceOptions) -> None:
    policy = aws.appautoscaling.Policy(  # type: ignore[call-overload]
        f"{name}-wake-policy", policy_type="StepScaling", service_namespace=target.service_namespace,
        resource_id=target.resource_id, scalable_dimension=target.scalable_dimension,
        step_scaling_policy_configuration=step, opts=child)
    aws.cloudwatch.MetricAlarm(f"{name}-wake-alarm", **alarm, alarm_actions=[policy.arn], tags=p.tags, opts=child)
