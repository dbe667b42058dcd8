"""Azure Monitor metric alerts and data capture for one Azure ML online deployment, from `monitoring`.

Metrics (Azure Monitor's documented names for managed online endpoints):
- errors → endpoint metric `RequestsPerMinute` with dimensions `statusCodeClass = 5xx` and
  `deployment = <slot>`, Average over 5 minutes. Azure Monitor metric alerts cannot divide one
  metric by another, so `alerts.error_rate_percent` becomes a count: 5xx responses per minute
  ≥ that percent of the requests the slot is sized for at its minimum instance count
  (`sized_requests_per_minute`; never below 1/min). The alert's description states both
  numbers; the Azure ML target warns about the conversion (documented fallback).
- latency → endpoint metric `RequestLatency_P99` (milliseconds) with `deployment = <slot>`,
  Average over 10 minutes ≥ `alerts.latency_p99_ms`.
- saturation → deployment metric `GpuUtilizationPercentage` (GPU models) or
  `CpuUtilizationPercentage` (CPU-only models), Average over 15 minutes ≥
  `alerts.gpu_utilization_percent`.
Each alert is `Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria` with one static
criterion, location `global`, evaluated every minute, auto-resolving, notifying the stack's
action group (`modelfleet:alerts.action_group_id`; no action when the stack names none).

Data capture: `data_capture.sample_percent` > 0 turns on the deployment's data collector
with payload logging — the reserved `request` and `response` collections, which the
platform fills from the HTTP traffic with no code in the container. The `model_inputs` /
`model_outputs` collections are custom logging: only a scoring script calling the
`azureml-ai-monitoring` collector fills them, and modelfleet's serving images are custom
containers without one, so they are not declared. Sampling rate = sample_percent ÷ 100
(1.0 = every request); data rolls into hourly blob folders of the workspace storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.azure.autoscale import max_concurrent_requests
from modelfleet.spec import ModelSpec

CRITERIA_TYPE = "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
PAYLOAD_COLLECTIONS = ("request", "response")
MIN_ERRORS_PER_MINUTE = 1.0


@dataclass(frozen=True)
class AlertRule:
    """One metric alert: role (name suffix), metric, on the endpoint (True) or the deployment,
    threshold, window, severity (0 critical … 4 verbose), dimension filters, description."""

    role: str
    metric: str
    on_endpoint: bool
    threshold: float
    window: str
    severity: int
    dimensions: tuple[tuple[str, str], ...]
    description: str


def sized_requests_per_minute(spec: ModelSpec, instances: int) -> float:
    """Requests per minute a slot serves at its scale-out target with `instances` instances.

    rps: target × 60 per instance. Otherwise Little's law with the p99 latency as the time per
    request (a lower bound on throughput): the concurrency target (concurrency metric) or the
    deployment's request concurrency (utilization metrics) × 60000 ÷ latency_p99_ms."""
    a, p99 = spec.autoscaling, spec.monitoring.alerts.latency_p99_ms
    if a.metric == "rps":
        per_instance = a.target * 60
    elif a.metric == "concurrency":
        per_instance = a.target * 60_000 / p99
    else:
        per_instance = max_concurrent_requests(a.metric, a.target) * 60_000 / p99
    return per_instance * max(instances, 1)


def alert_rules(spec: ModelSpec, slot: str, instances: int, gpu: bool) -> list[AlertRule]:
    """The three alerts of one deployment slot (none when monitoring is disabled)."""
    if not spec.monitoring.enabled:
        return []
    a = spec.monitoring.alerts
    sized = sized_requests_per_minute(spec, instances)
    errors = max(round(sized * a.error_rate_percent / 100, 2), MIN_ERRORS_PER_MINUTE)
    here = f"{spec.name} ({slot})"
    saturation = "GpuUtilizationPercentage" if gpu else "CpuUtilizationPercentage"
    return [
        AlertRule("errors", "RequestsPerMinute", True, errors, "PT5M", 1,
                  (("statusCodeClass", "5xx"), ("deployment", slot)),
                  f"{here}: 5xx ≥ {errors:g}/min over 5 minutes = {a.error_rate_percent:g} % of the {sized:.0f} "
                  f"requests/min the slot is sized for at {max(instances, 1)} instance(s) (error_rate_percent "
                  f"{a.error_rate_percent:g})"),
        AlertRule("latency", "RequestLatency_P99", True, a.latency_p99_ms, "PT10M", 1, (("deployment", slot),),
                  f"{here}: p99 latency ≥ {a.latency_p99_ms:g} ms over 10 minutes"),
        AlertRule("saturation", saturation, False, a.gpu_utilization_percent, "PT15M", 2, (),
                  f"{here}: {'GPU' if gpu else 'CPU'} utilization ≥ {a.gpu_utilization_percent:g} % over 15 minutes"),
    ]


def metric_alert(name: str, rule_name: str, rule: AlertRule, scope: pulumi.Input[str], resource_group: pulumi.Input[str],
                 action_group_id: str | None, tags: dict[str, str],
                 opts: pulumi.ResourceOptions) -> azure_native.monitor.MetricAlert:
    mon = azure_native.monitor
    # `criteria` is a union: only the typed args classes get wire names (`odata.type`, `allOf`)
    criterion = mon.MetricCriteriaArgs(
        criterion_type="StaticThresholdCriterion", name=rule.role, metric_name=rule.metric,
        operator="GreaterThanOrEqual", threshold=rule.threshold, time_aggregation="Average",
        dimensions=[mon.MetricDimensionArgs(name=d, operator="Include", values=[v]) for d, v in rule.dimensions] or None)
    return mon.MetricAlert(
        name, rule_name=rule_name, resource_group_name=resource_group, location="global",
        description=rule.description, severity=rule.severity, enabled=True, auto_mitigate=True,
        scopes=[scope], evaluation_frequency="PT1M", window_size=rule.window,
        criteria=mon.MetricAlertSingleResourceMultipleMetricCriteriaArgs(odata_type=CRITERIA_TYPE, all_of=[criterion]),
        actions=[mon.MetricAlertActionArgs(action_group_id=action_group_id)] if action_group_id else [],
        tags=tags, opts=opts)


def data_collector(spec: ModelSpec) -> Any:
    """The deployment's `dataCollector` (payload logging at the spec's sampling rate), or None."""
    capture = spec.monitoring.data_capture
    if not spec.monitoring.enabled or capture.sample_percent <= 0:
        return None
    ml = azure_native.machinelearningservices
    rate = round(capture.sample_percent / 100, 4)
    return ml.DataCollectorArgs(
        collections={c: ml.CollectionArgs(data_collection_mode="Enabled", sampling_rate=rate) for c in PAYLOAD_COLLECTIONS},
        rolling_rate="Hour")
