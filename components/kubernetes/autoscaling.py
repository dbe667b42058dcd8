"""Autoscaling objects for the Deployment engine: HPA v2 (cpu) or a KEDA ScaledObject.

KEDA follows a Prometheus query per metric and runtime; it also gives scale-to-zero.
The queries use each runtime's own metric names (vLLM, TGI, Triton) and a generic
`http_requests_*` family otherwise; GPU utilization comes from the DCGM exporter.
"""

from __future__ import annotations

from typing import Any

from components.kubernetes.objects import KEDA_API, metadata
from modelfleet.placement import Placement

_CONCURRENCY = {"vllm": "sum(vllm:num_requests_running{{namespace=\"{ns}\"}})",
                "tgi": "sum(tgi_batch_current_size{{namespace=\"{ns}\"}})",
                "triton": "sum(nv_inference_pending_request_count{{namespace=\"{ns}\"}})"}
_QUEUE = {"vllm": "sum(vllm:num_requests_waiting{{namespace=\"{ns}\"}})",
          "tgi": "sum(tgi_queue_size{{namespace=\"{ns}\"}})",
          "triton": "sum(nv_inference_pending_request_count{{namespace=\"{ns}\"}})"}
_RPS = {"vllm": "sum(rate(vllm:request_success_total{{namespace=\"{ns}\"}}[1m]))",
        "triton": "sum(rate(nv_inference_request_success{{namespace=\"{ns}\"}}[1m]))"}
_GENERIC = {"concurrency": "sum(http_requests_in_flight{{namespace=\"{ns}\"}})",
            "queue_depth": "sum(request_queue_depth{{namespace=\"{ns}\"}})",
            "rps": "sum(rate(http_requests_total{{namespace=\"{ns}\"}}[1m]))"}


def prometheus_query(metric: str, runtime: str, namespace: str) -> str:
    if metric == "gpu_utilization":
        return f'avg(DCGM_FI_DEV_GPU_UTIL{{namespace="{namespace}"}})'
    table = {"concurrency": _CONCURRENCY, "queue_depth": _QUEUE, "rps": _RPS}[metric]
    return table.get(runtime, _GENERIC[metric]).format(ns=namespace)


def hpa_spec(p: Placement, target_name: str) -> dict[str, Any]:
    a = p.spec.autoscaling
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target_name},
        "minReplicas": max(p.min_replicas, 1),
        "maxReplicas": p.max_replicas,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                 "averageUtilization": int(a.target)}}}],
        # scale down slowly: model servers take minutes to warm up again
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    }


def scaled_object(p: Placement, target_name: str, prometheus_url: str) -> dict[str, Any]:
    a = p.spec.autoscaling
    per_replica = a.metric != "gpu_utilization"
    return {
        "apiVersion": KEDA_API,
        "kind": "ScaledObject",
        "metadata": metadata(target_name, p.namespace, p.labels),
        "spec": {
            "scaleTargetRef": {"name": target_name},
            "minReplicaCount": p.min_replicas,
            "maxReplicaCount": p.max_replicas,
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "triggers": [{
                "type": "prometheus",
                # AverageValue divides the query by the replica count: the spec's target is per replica
                "metricType": "AverageValue" if per_replica else "Value",
                "metadata": {"serverAddress": prometheus_url,
                             "query": prometheus_query(a.metric, p.spec.serving.runtime, p.namespace),
                             "threshold": f"{a.target:g}"},
            }],
        },
    }
