"""Per-model monitoring on Kubernetes: PodMonitor, PrometheusRule, Grafana dashboard.

Every series comes from the model's runtime profile (`modelfleet.runtimes`, queries from
`modelfleet.promql`): the PodMonitor scrapes the runtime's metrics port and path, and the
alerts and panels read the runtime's own request, error, latency and queue series.
Alerts (thresholds from `monitoring.alerts`, defaults when the section is absent): error
rate (failed share over 5 m), p99 latency, GPU saturation (DCGM), replicas stuck at max, and
GPU pods pending. An alert whose series the runtime does not export is left out (validate
warns), never emitted as a query that cannot match. Each rule carries `receiver` (the stack's
Alertmanager receiver) so routing needs one matcher. The dashboard ConfigMap carries
`grafana_dashboard: "1"`, the label the Grafana sidecar watches. Nothing is created when
`monitoring.enabled` is false.
"""

from __future__ import annotations

import json
from typing import Any

from components.kubernetes.objects import KSERVE_CONTAINER, METRICS_PORT_NAME, metadata
from modelfleet import argo_rollouts as argo
from modelfleet import promql
from modelfleet.placement import Placement
from modelfleet.runtimes import RuntimeProfile

MONITORING_API = "monitoring.coreos.com/v1"


def _selector(p: Placement, engine: str) -> dict[str, Any]:
    if engine == "kserve":
        return {"matchLabels": {"serving.kserve.io/inferenceservice": p.name}}
    return {"matchLabels": {"app.kubernetes.io/name": p.name}}


def metrics_endpoint(profile: RuntimeProfile) -> dict[str, Any]:
    """The PodMonitor endpoint: the named port of our container (Deployments, and custom images on
    KServe); for KServe's built-in ServingRuntimes, whose containers need not declare the metrics
    port, keep the model container's targets and point them at the profile's metrics port."""
    endpoint: dict[str, Any] = {"path": profile.metrics_path, "interval": "30s"}
    if profile.engine == "deployment":
        return {"port": METRICS_PORT_NAME if profile.separate_metrics_port else "http", **endpoint}
    endpoint["relabelings"] = [
        {"sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": KSERVE_CONTAINER, "action": "keep"},
        {"sourceLabels": ["__meta_kubernetes_pod_ip"], "regex": "(.+)", "targetLabel": "__address__",
         "replacement": f"$1:{profile.metrics_port}", "action": "replace"},
    ]
    return endpoint


def pod_monitor(p: Placement, engine: str, profile: RuntimeProfile, argo_rollout: bool = False) -> dict[str, Any]:
    """PodMonitor: works for both engines (KServe pods have no Service of ours to select). Under an Argo
    Rollout each series also carries the pod's model version (`model_version`), so the rollout's
    analysis can tell the new version's pods from the stable ones."""
    endpoint = metrics_endpoint(profile)
    if argo_rollout:
        endpoint["relabelings"] = [*endpoint.get("relabelings", []),
                                   {"sourceLabels": [argo.VERSION_META_LABEL], "targetLabel": argo.VERSION_SERIES_LABEL,
                                    "action": "replace"}]
    return {
        "apiVersion": MONITORING_API, "kind": "PodMonitor",
        "metadata": metadata(p.name, p.namespace, p.labels),
        "spec": {"selector": _selector(p, engine), "podMetricsEndpoints": [endpoint]},
    }


def replicas_query(namespace: str, argo_rollout: bool) -> str:
    """The model's live replica count. kube-state-metrics exports Deployments but not Argo Rollouts (a
    custom resource), and under a Rollout the Deployment sits at 0: count the model's ready pods."""
    if argo_rollout:
        return f'sum(kube_pod_status_ready{{namespace="{namespace}",condition="true"}})'
    return f'kube_deployment_status_replicas{{namespace="{namespace}"}}'


def alert_rules(p: Placement, receiver: str | None, profile: RuntimeProfile, gpu_label: str,
                argo_rollout: bool = False) -> list[dict[str, Any]]:
    a = p.spec.monitoring.alerts
    ns = p.namespace
    where = promql.scope(ns)
    extra = {"receiver": receiver} if receiver else {}
    labels = {"severity": "page", "model": p.model, **extra}
    rules: list[dict[str, Any]] = []
    error_rate = promql.error_rate_percent(profile, where)
    if error_rate is not None:
        rules.append({"alert": "ModelErrorRateHigh", "expr": f"{error_rate} > {a.error_rate_percent:g}",
                      "for": "5m", "labels": labels,
                      "annotations": {"summary": f"{p.model}: failed requests above {a.error_rate_percent:g}% over 5 minutes"}})
    latency = promql.latency_p99_ms(profile, where)
    if latency is not None:
        rules.append({"alert": "ModelLatencyP99High", "expr": f"{latency} > {a.latency_p99_ms:g}",
                      "for": "10m", "labels": labels,
                      "annotations": {"summary": f"{p.model}: p99 latency above {a.latency_p99_ms:g} ms"}})
    rules.append(
        {"alert": "ModelReplicasAtMax",
         "expr": f"{replicas_query(ns, argo_rollout)} >= {p.max_replicas}",
         "for": "30m", "labels": {**labels, "severity": "ticket"},
         "annotations": {"summary": f"{p.model}: at max replicas ({p.max_replicas}) for 30 minutes"}})
    if p.gpus_per_replica:
        rules += [
            {"alert": "ModelGpuSaturated",
             "expr": f"{promql.gpu_utilization(gpu_label, ns)} > {a.gpu_utilization_percent:g}",
             "for": "15m", "labels": labels,
             "annotations": {"summary": f"{p.model}: GPU utilization above {a.gpu_utilization_percent:g}%"}},
            {"alert": "ModelGpuPodsPending",
             "expr": f'sum(kube_pod_status_phase{{namespace="{ns}",phase="Pending"}}) > 0',
             "for": "15m", "labels": {**labels, "severity": "ticket"},
             "annotations": {"summary": f"{p.model}: pods pending on GPUs for 15 minutes (pool full?)"}},
        ]
    return rules


def prometheus_rule(p: Placement, receiver: str | None, profile: RuntimeProfile, gpu_label: str,
                    argo_rollout: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": MONITORING_API, "kind": "PrometheusRule",
        "metadata": metadata(p.name, p.namespace, p.labels),
        "spec": {"groups": [{"name": f"modelfleet.{p.model}", "rules": alert_rules(p, receiver, profile, gpu_label, argo_rollout)}]},
    }


def dashboard_config_map(p: Placement, profile: RuntimeProfile, gpu_label: str) -> dict[str, Any]:
    ns = p.namespace
    where = promql.scope(ns)
    candidates = [
        ("Requests/s", promql.request_rate(profile, where)),
        ("Failed %", promql.error_rate_percent(profile, where)),
        ("p99 latency (ms)", promql.latency_p99_ms(profile, where)),
        ("In flight", promql.gauge_sum(profile, "in_flight", where)),
        ("Queue", promql.gauge_sum(profile, "queue_depth", where)),
        ("GPU utilization %", promql.gpu_utilization(gpu_label, ns) if p.gpus_per_replica else None),
        ("Replicas", f'sum(kube_pod_status_ready{{namespace="{ns}",condition="true"}})'),
    ]
    panels = [(title, expr) for title, expr in candidates if expr is not None]
    dashboard = {
        "title": f"modelfleet / {p.model}", "uid": f"mf-{p.model}"[:40], "schemaVersion": 39, "tags": ["modelfleet", p.model],
        "panels": [{"id": i + 1, "type": "timeseries", "title": title, "gridPos": {"x": (i % 2) * 12, "y": (i // 2) * 8, "w": 12, "h": 8},
                    "targets": [{"expr": expr, "refId": "A"}]} for i, (title, expr) in enumerate(panels)],
    }
    return {"metadata": metadata(f"{p.name}-dashboard", p.namespace, {**p.labels, "grafana_dashboard": "1"}),
            "data": {f"{p.model}.json": json.dumps(dashboard, sort_keys=True)}}
