"""Per-model monitoring on Kubernetes: ServiceMonitor/PodMonitor, PrometheusRule, Grafana dashboard.

Alerts (thresholds from `monitoring.alerts`, defaults when the section is absent):
error rate (5xx share over 5 m), p99 latency, GPU saturation (DCGM), replicas stuck at max,
and GPU pods pending. Each rule carries `receiver` (the stack's Alertmanager receiver) so
routing needs one matcher. The dashboard ConfigMap carries `grafana_dashboard: "1"`, the
label the Grafana sidecar watches. Nothing is created when `monitoring.enabled` is false.
"""

from __future__ import annotations

import json
from typing import Any

from components.kubernetes.objects import metadata
from modelfleet.placement import Placement

MONITORING_API = "monitoring.coreos.com/v1"


def _selector(p: Placement, engine: str) -> dict[str, Any]:
    if engine == "kserve":
        return {"matchLabels": {"serving.kserve.io/inferenceservice": p.name}}
    return {"matchLabels": {"app.kubernetes.io/name": p.name}}


def pod_monitor(p: Placement, engine: str) -> dict[str, Any]:
    """PodMonitor: works for both engines (KServe pods have no Service of ours to select)."""
    return {
        "apiVersion": MONITORING_API, "kind": "PodMonitor",
        "metadata": metadata(p.name, p.namespace, p.labels),
        "spec": {"selector": _selector(p, engine),
                 "podMetricsEndpoints": [{"port": "http", "path": "/metrics", "interval": "30s"} if engine == "deployment"
                                         else {"path": "/metrics", "interval": "30s"}]},
    }


def alert_rules(p: Placement, receiver: str | None) -> list[dict[str, Any]]:
    a = p.spec.monitoring.alerts
    ns = p.namespace
    extra = {"receiver": receiver} if receiver else {}
    labels = {"severity": "page", "model": p.model, **extra}
    rules = [
        {"alert": "ModelErrorRateHigh",
         "expr": (f'sum(rate(http_requests_total{{namespace="{ns}",status=~"5.."}}[5m])) / '
                  f'clamp_min(sum(rate(http_requests_total{{namespace="{ns}"}}[5m])), 1e-9) * 100 > {a.error_rate_percent:g}'),
         "for": "5m", "labels": labels,
         "annotations": {"summary": f"{p.model}: 5xx above {a.error_rate_percent:g}% over 5 minutes"}},
        {"alert": "ModelLatencyP99High",
         "expr": (f'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{namespace="{ns}"}}[5m])))'
                  f" * 1000 > {a.latency_p99_ms:g}"),
         "for": "10m", "labels": labels,
         "annotations": {"summary": f"{p.model}: p99 latency above {a.latency_p99_ms:g} ms"}},
        {"alert": "ModelReplicasAtMax",
         "expr": f'kube_deployment_status_replicas{{namespace="{ns}"}} >= {p.max_replicas}',
         "for": "30m", "labels": {**labels, "severity": "ticket"},
         "annotations": {"summary": f"{p.model}: at max replicas ({p.max_replicas}) for 30 minutes"}},
    ]
    if p.gpus_per_replica:
        rules += [
            {"alert": "ModelGpuSaturated",
             "expr": f'avg(DCGM_FI_DEV_GPU_UTIL{{namespace="{ns}"}}) > {a.gpu_utilization_percent:g}',
             "for": "15m", "labels": labels,
             "annotations": {"summary": f"{p.model}: GPU utilization above {a.gpu_utilization_percent:g}%"}},
            {"alert": "ModelGpuPodsPending",
             "expr": f'sum(kube_pod_status_phase{{namespace="{ns}",phase="Pending"}}) > 0',
             "for": "15m", "labels": {**labels, "severity": "ticket"},
             "annotations": {"summary": f"{p.model}: pods pending on GPUs for 15 minutes (pool full?)"}},
        ]
    return rules


def prometheus_rule(p: Placement, receiver: str | None) -> dict[str, Any]:
    return {
        "apiVersion": MONITORING_API, "kind": "PrometheusRule",
        "metadata": metadata(p.name, p.namespace, p.labels),
        "spec": {"groups": [{"name": f"modelfleet.{p.model}", "rules": alert_rules(p, receiver)}]},
    }


def dashboard_config_map(p: Placement) -> dict[str, Any]:
    ns = p.namespace
    panels = [
        ("Requests/s", f'sum(rate(http_requests_total{{namespace="{ns}"}}[1m]))'),
        ("5xx %", f'sum(rate(http_requests_total{{namespace="{ns}",status=~"5.."}}[5m])) / sum(rate(http_requests_total{{namespace="{ns}"}}[5m])) * 100'),
        ("p99 latency (ms)", f'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{namespace="{ns}"}}[5m]))) * 1000'),
        ("GPU utilization %", f'avg(DCGM_FI_DEV_GPU_UTIL{{namespace="{ns}"}})'),
        ("Replicas", f'sum(kube_pod_status_ready{{namespace="{ns}",condition="true"}})'),
    ]
    dashboard = {
        "title": f"modelfleet / {p.model}", "uid": f"mf-{p.model}"[:40], "schemaVersion": 39, "tags": ["modelfleet", p.model],
        "panels": [{"id": i + 1, "type": "timeseries", "title": title, "gridPos": {"x": (i % 2) * 12, "y": (i // 2) * 8, "w": 12, "h": 8},
                    "targets": [{"expr": expr, "refId": "A"}]} for i, (title, expr) in enumerate(panels)],
    }
    return {"metadata": metadata(f"{p.name}-dashboard", p.namespace, {**p.labels, "grafana_dashboard": "1"}),
            "data": {f"{p.model}.json": json.dumps(dashboard, sort_keys=True)}}
