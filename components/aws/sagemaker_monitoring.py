"""Pure builders for a SageMaker model's CloudWatch monitoring (no Pulumi resources; unit-testable).

- `alarm_definitions(p, endpoint, variant)` → `{signal: MetricAlarm arguments}` for the model's
  alarms, thresholds from `monitoring.alerts` (the spec's defaults when the section is absent):
  `error_rate` (5xx share of invocations over 5 minutes, metric math), `latency_p99` (ModelLatency
  p99, which SageMaker reports in MICROseconds) and, on GPU instances, `gpu_utilization`
  (GPUUtilization, which SageMaker sums over the instance's GPUs: threshold = percent × GPUs).
  The signal keys match `rollout.rollback_on`, so one set of alarms serves paging and rollback.
  Empty when `monitoring.enabled` is false.
- `dashboard_body(rows, region)` → the JSON of one CloudWatch dashboard for a stack: a title
  and one row per model — invocations, 5xx count, 5xx share (with the alert threshold),
  ModelLatency p99 in ms (with the threshold), GPU or CPU utilization, instances in service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modelfleet.placement import Placement

SAGEMAKER_NAMESPACE = "AWS/SageMaker"  # invocation metrics
ENDPOINT_NAMESPACE = "/aws/sagemaker/Endpoints"  # per-instance utilization metrics
ALARM_PERIOD_S = 300  # "5xx share over 5 minutes", and p99 over the same window
GPU_EVALUATION_PERIODS = 3  # saturation pages after 15 minutes, not on a burst
WIDGET_HEIGHT = 6
WIDGET_WIDTH = 4  # six widgets fill the dashboard's 24 columns
TITLE_HEIGHT = 1


def alarm_definitions(p: Placement, endpoint: str, variant: str) -> dict[str, dict[str, Any]]:
    """MetricAlarm keyword arguments per signal, without actions, tags and options."""
    monitoring = p.spec.monitoring
    if not monitoring.enabled:
        return {}
    alerts = monitoring.alerts
    dims = {"EndpointName": endpoint, "VariantName": variant}
    common = {"treat_missing_data": "notBreaching", "comparison_operator": "GreaterThanOrEqualToThreshold",
              "evaluation_periods": 1}
    alarms: dict[str, dict[str, Any]] = {
        "error_rate": {
            **common, "name": f"{endpoint}-5xx-rate", "threshold": alerts.error_rate_percent,
            "alarm_description": f"{p.model}: 5xx share of invocations ≥ {alerts.error_rate_percent:g} % over 5 minutes",
            "metric_queries": [
                _metric_query("errors", "Invocation5XXErrors", dims),
                _metric_query("invocations", "Invocations", dims),
                {"id": "rate", "expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
                 "label": "5xx percent", "return_data": True},
            ]},
        "latency_p99": {
            **common, "name": f"{endpoint}-latency-p99",
            "alarm_description": f"{p.model}: ModelLatency p99 ≥ {alerts.latency_p99_ms:g} ms",
            "namespace": SAGEMAKER_NAMESPACE, "metric_name": "ModelLatency", "dimensions": dims,
            "extended_statistic": "p99", "period": ALARM_PERIOD_S,
            "threshold": alerts.latency_p99_ms * 1000},  # ModelLatency is reported in microseconds
    }
    if p.gpus_per_replica and p.offer is not None:
        gpus = p.offer.gpu_count
        alarms["gpu_utilization"] = {
            **common, "name": f"{endpoint}-gpu-saturated", "evaluation_periods": GPU_EVALUATION_PERIODS,
            "alarm_description": (f"{p.model}: GPU utilization ≥ {alerts.gpu_utilization_percent:g} % "
                                  f"(× {gpus} GPUs) for {GPU_EVALUATION_PERIODS * ALARM_PERIOD_S // 60} minutes"),
            "namespace": ENDPOINT_NAMESPACE, "metric_name": "GPUUtilization", "dimensions": dims,
            "statistic": "Average", "period": ALARM_PERIOD_S,
            "threshold": alerts.gpu_utilization_percent * gpus}  # summed over the instance's GPUs
    return alarms


def _metric_query(metric_id: str, metric_name: str, dims: dict[str, str]) -> dict[str, Any]:
    return {"id": metric_id, "return_data": False, "metric": {
        "namespace": SAGEMAKER_NAMESPACE, "metric_name": metric_name, "dimensions": dims,
        "period": ALARM_PERIOD_S, "stat": "Sum"}}


@dataclass(frozen=True)
class DashboardRow:
    """One model on the stack dashboard: its endpoint/variant, GPUs per instance (0 = CPU),
    and the alarm thresholds to draw as horizontal annotations."""

    model: str
    endpoint: str
    variant: str
    gpus: int
    error_rate_percent: float
    latency_p99_ms: float


def dashboard_rows(placements: list[Placement]) -> list[DashboardRow]:
    """Rows for the models whose monitoring is enabled, in the given order."""
    return [DashboardRow(p.model, p.names["endpoint"], p.names["variant"],
                         p.offer.gpu_count if p.gpus_per_replica and p.offer else 0,
                         p.spec.monitoring.alerts.error_rate_percent, p.spec.monitoring.alerts.latency_p99_ms)
            for p in placements if p.spec.monitoring.enabled]


def dashboard_body(rows: list[DashboardRow], region: str, title: str) -> str:
    widgets: list[dict[str, Any]] = [{"type": "text", "x": 0, "y": 0, "width": 24, "height": TITLE_HEIGHT,
                                      "properties": {"markdown": f"# {title}"}}]
    for i, row in enumerate(rows):
        y = TITLE_HEIGHT + i * WIDGET_HEIGHT
        dims = ["EndpointName", row.endpoint, "VariantName", row.variant]
        utilization = "GPUUtilization" if row.gpus else "CPUUtilization"
        panels: list[tuple[str, list[Any], dict[str, Any]]] = [
            ("Invocations", [[SAGEMAKER_NAMESPACE, "Invocations", *dims, {"stat": "Sum"}]], {}),
            ("5xx errors", [[SAGEMAKER_NAMESPACE, "Invocation5XXErrors", *dims, {"stat": "Sum"}]], {}),
            ("5xx %", [
                [{"expression": "IF(invocations > 0, 100 * errors / invocations, 0)", "label": "5xx %", "id": "rate"}],
                [SAGEMAKER_NAMESPACE, "Invocation5XXErrors", *dims, {"stat": "Sum", "id": "errors", "visible": False}],
                [SAGEMAKER_NAMESPACE, "Invocations", *dims, {"stat": "Sum", "id": "invocations", "visible": False}],
            ], {"annotations": {"horizontal": [{"label": "alert", "value": row.error_rate_percent}]}}),
            ("ModelLatency p99 (ms)", [
                [{"expression": "latency / 1000", "label": "p99 ms", "id": "ms"}],
                [SAGEMAKER_NAMESPACE, "ModelLatency", *dims, {"stat": "p99", "id": "latency", "visible": False}],
            ], {"annotations": {"horizontal": [{"label": "alert", "value": row.latency_p99_ms}]}}),
            (f"{utilization} (% × {'GPUs' if row.gpus else 'vCPUs'})",
             [[ENDPOINT_NAMESPACE, utilization, *dims, {"stat": "Average"}]], {}),
            ("Instances", [
                # no instance-count metric exists for real-time endpoints: derive it while traffic flows
                [{"expression": "invocations / per_instance", "label": "instances", "id": "instances"}],
                [SAGEMAKER_NAMESPACE, "Invocations", *dims, {"stat": "Sum", "id": "invocations", "visible": False}],
                [SAGEMAKER_NAMESPACE, "InvocationsPerInstance", *dims, {"stat": "Sum", "id": "per_instance", "visible": False}],
            ], {}),
        ]
        for j, (name, metrics, extra) in enumerate(panels):
            widgets.append({"type": "metric", "x": j * WIDGET_WIDTH, "y": y, "width": WIDGET_WIDTH, "height": WIDGET_HEIGHT,
                            "properties": {"title": f"{row.model} · {name}", "region": region, "view": "timeSeries",
                                           "period": 60, "metrics": metrics, **extra}})
    return json.dumps({"widgets": widgets}, sort_keys=True)
