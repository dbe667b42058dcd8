"""Autoscaling objects for the Deployment engine: HPA v2 (cpu) or a KEDA ScaledObject, targeting the
Deployment or, when Argo Rollouts drives it, the Rollout.

KEDA follows a Prometheus query built from the model's runtime profile (`modelfleet.promql`):
in-flight requests for concurrency, the waiting queue for queue_depth, the request rate for
rps, and the DCGM exporter's GPU utilization; it also gives scale-to-zero. Placement refuses
a metric the runtime exports nothing for, so every query here can match.
"""

from __future__ import annotations

from typing import Any

from components.kubernetes.objects import KEDA_API, metadata
from modelfleet import promql
from modelfleet.placement import Placement
from modelfleet.runtimes import RuntimeProfile

# (apiVersion, kind) an autoscaler scales: the Deployment, or the Argo Rollout that drives it (the
# Rollout has a scale subresource; Argo Rollouts docs/features/hpa-support.md, v1.9.1)
DEPLOYMENT_TARGET = ("apps/v1", "Deployment")


def keda_query(p: Placement, profile: RuntimeProfile, gpu_label: str) -> str:
    query = promql.autoscaler_query(profile, p.spec.autoscaling.metric, p.namespace, gpu_label)
    if query is None:  # placement reports this as an error before anything is registered
        raise ValueError(f"{p.model}: runtime {profile.runtime} exports no series for {p.spec.autoscaling.metric}")
    return query


def hpa_spec(p: Placement, target_name: str, target: tuple[str, str] = DEPLOYMENT_TARGET) -> dict[str, Any]:
    a = p.spec.autoscaling
    return {
        "scaleTargetRef": {"apiVersion": target[0], "kind": target[1], "name": target_name},
        "minReplicas": max(p.min_replicas, 1),
        "maxReplicas": p.max_replicas,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                 "averageUtilization": int(a.target)}}}],
        # scale down slowly: model servers take minutes to warm up again
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    }


def scaled_object(p: Placement, target_name: str, prometheus_url: str, profile: RuntimeProfile,
                  gpu_label: str, target: tuple[str, str] = DEPLOYMENT_TARGET) -> dict[str, Any]:
    a = p.spec.autoscaling
    per_replica = a.metric != "gpu_utilization"
    # KEDA defaults scaleTargetRef to apps/v1 Deployment (keda.sh ScaledObject spec); anything else is named
    ref = {"name": target_name} if target == DEPLOYMENT_TARGET else {"apiVersion": target[0], "kind": target[1], "name": target_name}
    return {
        "apiVersion": KEDA_API,
        "kind": "ScaledObject",
        "metadata": metadata(target_name, p.namespace, p.labels),
        "spec": {
            "scaleTargetRef": ref,
            "minReplicaCount": p.min_replicas,
            "maxReplicaCount": p.max_replicas,
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "triggers": [{
                "type": "prometheus",
                # AverageValue divides the query by the replica count: the spec's target is per replica
                "metricType": "AverageValue" if per_replica else "Value",
                "metadata": {"serverAddress": prometheus_url,
                             "query": keda_query(p, profile, gpu_label),
                             "threshold": f"{a.target:g}"},
            }],
        },
    }
