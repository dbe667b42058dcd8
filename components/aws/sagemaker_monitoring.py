"""Pure builders for a SageMaker model's CloudWatch monitoring (no Pulumi resources; unit-testable).

- `model_series(p)` → where SageMaker publishes THIS model's metrics, by capacity mode
  (`modelfleet.targets.sagemaker_capacity`): a classic variant (`instances`, `async`) reports under
  `EndpointName` + `VariantName`; an inference component (`components`) under
  `InferenceComponentName`, with its utilization normalized 0-100 over what the component reserves
  in the `/aws/sagemaker/InferenceComponents` namespace. Each fact names its AWS page below.
- `alarm_definitions(p)` → `{signal: MetricAlarm arguments}` for the model's
  alarms, thresholds from `monitoring.alerts` (the spec's defaults when the section is absent):
  `error_rate` (5xx share of invocations over 5 minutes, metric math), `latency_p99` (ModelLatency
  p99, which SageMaker reports in MICROseconds) and, on GPU instances, `gpu_utilization`
  (a variant's GPUUtilization is summed over the instance's GPUs: threshold = percent × GPUs; a
  component's GPUUtilizationNormalized is already 0-100: threshold = percent).
  The signal keys match `rollout.rollback_on`, so one set of alarms serves paging and rollback.
  Empty when `monitoring.enabled` is false.
- `dashboard_body(rows, region)` → the JSON of one CloudWatch dashboard for a stack: a title
  and one row per model — traffic (invocations; the backlog for an asynchronous endpoint), 5xx
  count, 5xx share (with the alert threshold), ModelLatency p99 in ms (with the threshold), GPU or
  CPU utilization, instances (copies for a component) in service — every series from `model_series`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modelfleet.placement import Placement

# Sources (Amazon SageMaker AI Developer Guide):
MONITORING_PAGE = "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html"
ASYNC_PAGE = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html"
# invocation metrics (Invocations, Invocation5XXErrors, ModelLatency µs, InvocationsPerInstance,
# InvocationsPerCopy), dimensions `EndpointName, VariantName` or `InferenceComponentName`:
# MONITORING_PAGE#cloudwatch-metrics-endpoint-invocation
SAGEMAKER_NAMESPACE = "AWS/SageMaker"
# instance utilization (GPUUtilization / CPUUtilization summed over GPUs / cores), dimensions
# `EndpointName, VariantName`: MONITORING_PAGE#cloudwatch-metrics-endpoints
ENDPOINT_NAMESPACE = "/aws/sagemaker/Endpoints"
# per-copy utilization of an inference component (GPUUtilizationNormalized, CPUUtilizationNormalized:
# 0-100 over the component's reservation), dimension `InferenceComponentName`:
# MONITORING_PAGE#cloudwatch-metrics-inference-component
COMPONENT_NAMESPACE = "/aws/sagemaker/InferenceComponents"
ALARM_PERIOD_S = 300  # "5xx share over 5 minutes", and p99 over the same window
GPU_EVALUATION_PERIODS = 3  # saturation pages after 15 minutes, not on a burst
WIDGET_HEIGHT = 6
WIDGET_WIDTH = 4  # six widgets fill the dashboard's 24 columns
TITLE_HEIGHT = 1


@dataclass(frozen=True)
class Series:
    """The CloudWatch series of one model. invocation_dims: its `AWS/SageMaker` dimensions;
    utilization_namespace / utilization_dims / gpu_metric / cpu_metric: where its utilization is;
    normalized: utilization is 0-100 (else summed: 100 × GPUs or cores); counted: `Invocations` is
    published (an asynchronous endpoint publishes none, ASYNC_PAGE); per_unit: the invocations
    metric normalized per instance or per copy (None when unpublished); unit: what per_unit counts
    (plural; its metric-math id is `per_<singular>`)."""

    invocation_dims: dict[str, str]
    utilization_namespace: str
    utilization_dims: dict[str, str]
    gpu_metric: str
    cpu_metric: str
    normalized: bool
    counted: bool
    per_unit: str | None
    unit: str


def model_series(p: Placement) -> Series:
    endpoint, variant = p.names["endpoint"], p.names["variant"]
    mode = p.names.get("capacity", "instances")
    if mode == "components":
        component = {"InferenceComponentName": p.names["inference_component"]}
        # THIS model's series: `InferenceComponentName` "filters inference component invocation metrics" and
        # "filters inference component metrics" (MONITORING_PAGE, both dimension tables); enhanced metrics only
        # add InstanceId / ContainerId / AcceleratorId "alongside the existing namespace dimensions"
        # (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch-enhanced-metrics.html)
        return Series(invocation_dims=component, utilization_namespace=COMPONENT_NAMESPACE, utilization_dims=component,
                      gpu_metric="GPUUtilizationNormalized", cpu_metric="CPUUtilizationNormalized", normalized=True,
                      counted=True, per_unit="InvocationsPerCopy", unit="copies")
    variant_dims = {"EndpointName": endpoint, "VariantName": variant}
    # async: Invocation5XXErrors and ModelLatency are "the same as the metrics published for real-time
    # endpoints", host metrics are the endpoint ones; Invocations and InvocationsPerInstance are not published
    # (ASYNC_PAGE, "Monitoring with CloudWatch")
    counted = mode != "async"
    return Series(invocation_dims=variant_dims, utilization_namespace=ENDPOINT_NAMESPACE, utilization_dims=variant_dims,
                  gpu_metric="GPUUtilization", cpu_metric="CPUUtilization", normalized=False, counted=counted,
                  per_unit="InvocationsPerInstance" if counted else None, unit="instances")


def _error_rate_queries(s: Series) -> list[dict[str, Any]]:
    """The 5xx share in percent. Invocation5XXErrors sends 1 per 5xx response and 0 otherwise
    (MONITORING_PAGE, ASYNC_PAGE), so where `Invocations` is not published its Average is the share."""
    if s.counted:
        return [_metric_query("errors", "Invocation5XXErrors", s.invocation_dims, "Sum"),
                _metric_query("invocations", "Invocations", s.invocation_dims, "Sum"),
                {"id": "rate", "expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
                 "label": "5xx percent", "return_data": True}]
    return [_metric_query("errors", "Invocation5XXErrors", s.invocation_dims, "Average"),
            {"id": "rate", "expression": "100 * errors", "label": "5xx percent", "return_data": True}]


def alarm_definitions(p: Placement) -> dict[str, dict[str, Any]]:
    """MetricAlarm keyword arguments per signal, without actions, tags and options."""
    monitoring = p.spec.monitoring
    if not monitoring.enabled:
        return {}
    alerts, endpoint, s = monitoring.alerts, p.names["endpoint"], model_series(p)
    # no data (nothing running, e.g. scaled to zero) is not an incident
    common = {"treat_missing_data": "notBreaching", "comparison_operator": "GreaterThanOrEqualToThreshold",
              "evaluation_periods": 1}
    alarms: dict[str, dict[str, Any]] = {
        "error_rate": {
            **common, "name": f"{endpoint}-5xx-rate", "threshold": alerts.error_rate_percent,
            "alarm_description": f"{p.model}: 5xx share of invocations ≥ {alerts.error_rate_percent:g} % over 5 minutes",
            "metric_queries": _error_rate_queries(s)},
        "latency_p99": {
            **common, "name": f"{endpoint}-latency-p99",
            "alarm_description": f"{p.model}: ModelLatency p99 ≥ {alerts.latency_p99_ms:g} ms",
            "namespace": SAGEMAKER_NAMESPACE, "metric_name": "ModelLatency", "dimensions": s.invocation_dims,
            # percentiles are valid ModelLatency statistics (MONITORING_PAGE); ASYNC_PAGE calls its ModelLatency "the
            # same" metric but lists only Average, Sum, Min, Max, Sample Count (p99 there is not confirmed by a doc)
            "extended_statistic": "p99", "period": ALARM_PERIOD_S,
            "threshold": alerts.latency_p99_ms * 1000},  # ModelLatency is reported in microseconds
    }
    if p.gpus_per_replica and p.offer is not None:
        gpus = 1 if s.normalized else p.offer.gpu_count
        scale = "of the GPUs it reserves" if s.normalized else f"× {gpus} GPUs"
        alarms["gpu_utilization"] = {
            **common, "name": f"{endpoint}-gpu-saturated", "evaluation_periods": GPU_EVALUATION_PERIODS,
            "alarm_description": (f"{p.model}: {s.gpu_metric} ≥ {alerts.gpu_utilization_percent:g} % "
                                  f"({scale}) for {GPU_EVALUATION_PERIODS * ALARM_PERIOD_S // 60} minutes"),
            "namespace": s.utilization_namespace, "metric_name": s.gpu_metric, "dimensions": s.utilization_dims,
            "statistic": "Average", "period": ALARM_PERIOD_S,
            "threshold": alerts.gpu_utilization_percent * gpus}
    return alarms


def _metric_query(metric_id: str, metric_name: str, dims: dict[str, str], stat: str) -> dict[str, Any]:
    return {"id": metric_id, "return_data": False, "metric": {
        "namespace": SAGEMAKER_NAMESPACE, "metric_name": metric_name, "dimensions": dims,
        "period": ALARM_PERIOD_S, "stat": stat}}


@dataclass(frozen=True)
class DashboardRow:
    """One model on the stack dashboard: its series, endpoint (the backlog of an asynchronous endpoint
    is per endpoint), GPUs per instance (0 = CPU), and the alarm thresholds drawn as annotations."""

    model: str
    series: Series
    endpoint: str
    gpus: int
    error_rate_percent: float
    latency_p99_ms: float


def dashboard_rows(placements: list[Placement]) -> list[DashboardRow]:
    """Rows for the models whose monitoring is enabled, in the given order."""
    return [DashboardRow(p.model, model_series(p), p.names["endpoint"],
                         p.offer.gpu_count if p.gpus_per_replica and p.offer else 0,
                         p.spec.monitoring.alerts.error_rate_percent, p.spec.monitoring.alerts.latency_p99_ms)
            for p in placements if p.spec.monitoring.enabled]


def _flat(dims: dict[str, str]) -> list[str]:
    return [part for item in dims.items() for part in item]


# an asynchronous endpoint's queue, dimension `EndpointName` only; statistics Average, Max, Min (ASYNC_PAGE)
BACKLOG = "ApproximateBacklogSize"
BACKLOG_PER_INSTANCE = "ApproximateBacklogSizePerInstance"


def _traffic_panels(row: DashboardRow) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """Requests and serving units. Neither instances nor copies have a count metric: derive them from an
    invocations metric and its per-instance / per-copy form while traffic flows (for an asynchronous
    endpoint, from the backlog and the backlog per instance while requests are queued)."""
    s, dims = row.series, _flat(row.series.invocation_dims)
    per = f"per_{s.unit.removesuffix('s')}"
    if s.counted and s.per_unit:
        return [("Invocations", [[SAGEMAKER_NAMESPACE, "Invocations", *dims, {"stat": "Sum"}]], {}),
                (s.unit.capitalize(), [
                    [{"expression": f"invocations / {per}", "label": s.unit, "id": s.unit}],
                    [SAGEMAKER_NAMESPACE, "Invocations", *dims, {"stat": "Sum", "id": "invocations", "visible": False}],
                    [SAGEMAKER_NAMESPACE, s.per_unit, *dims, {"stat": "Sum", "id": per, "visible": False}],
                ], {})]
    queue = ["EndpointName", row.endpoint]
    return [("Backlog", [[SAGEMAKER_NAMESPACE, BACKLOG, *queue, {"stat": "Average"}]], {}),
            ("Instances", [
                [{"expression": "IF(per_instance > 0, backlog / per_instance)", "label": "instances", "id": "instances"}],
                [SAGEMAKER_NAMESPACE, BACKLOG, *queue, {"stat": "Average", "id": "backlog", "visible": False}],
                [SAGEMAKER_NAMESPACE, BACKLOG_PER_INSTANCE, *queue, {"stat": "Average", "id": "per_instance", "visible": False}],
            ], {})]


def _error_rate_panel(s: Series) -> list[Any]:
    dims = _flat(s.invocation_dims)
    if s.counted:
        return [[{"expression": "IF(invocations > 0, 100 * errors / invocations, 0)", "label": "5xx %", "id": "rate"}],
                [SAGEMAKER_NAMESPACE, "Invocation5XXErrors", *dims, {"stat": "Sum", "id": "errors", "visible": False}],
                [SAGEMAKER_NAMESPACE, "Invocations", *dims, {"stat": "Sum", "id": "invocations", "visible": False}]]
    return [[{"expression": "100 * errors", "label": "5xx %", "id": "rate"}],
            [SAGEMAKER_NAMESPACE, "Invocation5XXErrors", *dims, {"stat": "Average", "id": "errors", "visible": False}]]


def dashboard_body(rows: list[DashboardRow], region: str, title: str) -> str:
    widgets: list[dict[str, Any]] = [{"type": "text", "x": 0, "y": 0, "width": 24, "height": TITLE_HEIGHT,
                                      "properties": {"markdown": f"# {title}"}}]
    for i, row in enumerate(rows):
        y = TITLE_HEIGHT + i * WIDGET_HEIGHT
        s = row.series
        dims = _flat(s.invocation_dims)
        utilization = s.gpu_metric if row.gpus else s.cpu_metric
        scale = f"% of reserved {'GPUs' if row.gpus else 'vCPUs'}" if s.normalized else f"% × {'GPUs' if row.gpus else 'vCPUs'}"
        traffic, units = _traffic_panels(row)
        panels: list[tuple[str, list[Any], dict[str, Any]]] = [
            traffic,
            ("5xx errors", [[SAGEMAKER_NAMESPACE, "Invocation5XXErrors", *dims, {"stat": "Sum"}]], {}),
            ("5xx %", _error_rate_panel(s), {"annotations": {"horizontal": [{"label": "alert", "value": row.error_rate_percent}]}}),
            ("ModelLatency p99 (ms)", [
                [{"expression": "latency / 1000", "label": "p99 ms", "id": "ms"}],
                [SAGEMAKER_NAMESPACE, "ModelLatency", *dims, {"stat": "p99", "id": "latency", "visible": False}],
            ], {"annotations": {"horizontal": [{"label": "alert", "value": row.latency_p99_ms}]}}),
            (f"{utilization} ({scale})",
             [[s.utilization_namespace, utilization, *_flat(s.utilization_dims), {"stat": "Average"}]], {}),
            units,
        ]
        for j, (name, metrics, extra) in enumerate(panels):
            widgets.append({"type": "metric", "x": j * WIDGET_WIDTH, "y": y, "width": WIDGET_WIDTH, "height": WIDGET_HEIGHT,
                            "properties": {"title": f"{row.model} · {name}", "region": region, "view": "timeSeries",
                                           "period": 60, "metrics": metrics, **extra}})
    return json.dumps({"widgets": widgets}, sort_keys=True)
