"""Azure Monitor autoscale rules for an Azure ML online deployment, from the spec's metric.

Mapping (managed online endpoints publish no in-flight-request or queue metric):
- cpu_utilization → deployment metric `CpuUtilizationPercentage`, threshold = target %.
- gpu_utilization → deployment metric `GpuUtilizationPercentage`, threshold = target %.
- rps → endpoint metric `RequestsPerMinute` filtered to this deployment (dimension
  `deployment`), divided per instance, threshold = target × 60.
- concurrency → endpoint metric `ConnectionsActive` (concurrent client connections, the
  closest published signal to in-flight requests), divided per instance. The metric has
  no per-deployment dimension, so the threshold is target ÷ this deployment's traffic
  share (a 10 % canary sees about a tenth of the connections).
- queue_depth → refused at placement (no such metric).
Each metric gets a scale-out rule (above the threshold for 5 minutes: +1, 5-minute
cooldown) and a scale-in rule (below 60 % of it for 10 minutes: -1, 10-minute cooldown);
the gap between the two keeps the deployment from flapping.

`max_concurrent_requests` is the deployment's per-instance request concurrency (its
request settings), shared with the alert thresholds in `components.azure.alerts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pulumi

if TYPE_CHECKING:
    from pulumi_azure_native import monitor

SCALE_IN_FRACTION = 0.6
DEFAULT_MAX_CONCURRENT = 16  # Azure ML's default of 1 would serialise requests that GPU servers batch


def max_concurrent_requests(metric: str, target: float) -> int:
    """Requests one instance accepts at once: twice the concurrency target, else DEFAULT_MAX_CONCURRENT."""
    return max(math.ceil(target * 2), 1) if metric == "concurrency" else DEFAULT_MAX_CONCURRENT


@dataclass(frozen=True)
class MetricRule:
    """What Azure Monitor watches: metric name, on which resource, the per-instance threshold."""

    metric: str
    on_endpoint: bool
    threshold: float
    divide_per_instance: bool
    dimension_deployment: bool = False


def metric_rule(metric: str, target: float, traffic_share: float) -> MetricRule:
    if metric == "cpu_utilization":
        return MetricRule("CpuUtilizationPercentage", False, target, False)
    if metric == "gpu_utilization":
        return MetricRule("GpuUtilizationPercentage", False, target, False)
    if metric == "rps":
        return MetricRule("RequestsPerMinute", True, target * 60, True, dimension_deployment=True)
    if metric == "concurrency":
        return MetricRule("ConnectionsActive", True, round(target / max(traffic_share, 0.01), 2), True)
    raise ValueError(f"no Azure Monitor metric for {metric!r}")  # placement refuses these first


def rules(rule: MetricRule, deployment_id: pulumi.Input[str], endpoint_id: pulumi.Input[str],
          deployment_name: str) -> list[dict[str, Any]]:
    """Scale-out and scale-in rules for one deployment."""
    source = endpoint_id if rule.on_endpoint else deployment_id
    dims = [{"dimension_name": "deployment", "operator": "Equals", "values": [deployment_name]}] if rule.dimension_deployment else None

    def trigger(operator: str, threshold: float, window: str) -> dict[str, Any]:
        return {"metric_name": rule.metric, "metric_resource_uri": source, "time_grain": "PT1M", "statistic": "Average",
                "time_window": window, "time_aggregation": "Average", "operator": operator, "threshold": threshold,
                "divide_per_instance": rule.divide_per_instance, "dimensions": dims}

    return [
        {"metric_trigger": trigger("GreaterThan", rule.threshold, "PT5M"),
         "scale_action": {"direction": "Increase", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"}},
        {"metric_trigger": trigger("LessThan", round(rule.threshold * SCALE_IN_FRACTION, 2), "PT10M"),
         "scale_action": {"direction": "Decrease", "type": "ChangeCount", "value": "1", "cooldown": "PT10M"}},
    ]


def profile(minimum: int, maximum: int, scale_rules: list[dict[str, Any]]) -> monitor.AutoscaleProfileArgsDict:
    # Azure Monitor takes capacities as strings
    plain = {"name": "default", "capacity": {"minimum": str(minimum), "maximum": str(maximum), "default": str(minimum)},
             "rules": scale_rules}
    return cast("monitor.AutoscaleProfileArgsDict", plain)
