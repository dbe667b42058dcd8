"""Autoscaling of a KServe InferenceService (KServe v0.15.2), per spec metric.

| metric | deployment mode | autoscaler | why |
|---|---|---|---|
| concurrency, rps | Serverless | Knative KPA (`scaleMetric`/`scaleTarget`) | measured by the queue-proxy, no runtime series needed; scale-to-zero and canaries work |
| cpu_utilization | RawDeployment | HPA (`scaleMetric: cpu`) | the HPA reads CPU from metrics-server |
| gpu_utilization, queue_depth | RawDeployment | KEDA (`serving.kserve.io/autoscalerClass: keda`) with an External Prometheus metric | KPA and HPA cannot read Prometheus; KEDA can, and scales to zero |

Facts, from kserve/kserve@v0.15.2:
- annotation `serving.kserve.io/autoscalerClass`, allowed hpa | external | keda | none, and
  deployment modes Serverless | RawDeployment: pkg/constants/constants.go;
- KPA metrics concurrency | rps, HPA metrics cpu | memory, `scaleMetric` refused with KEDA, an
  External metric needs `query` and `target.value`: pkg/apis/serving/v1beta1/inference_service_validation.go;
- `autoScaling.metrics[].external.metric.{backend, serverAddress, query, namespace}` and
  `target.{type, value}`: pkg/apis/serving/v1beta1/component.go;
- KServe turns an External metric into a KEDA prometheus trigger with `threshold` = target.value
  and no metricType, so KEDA's default AverageValue applies (the query is divided by the replica
  count): pkg/controller/v1beta1/inferenceservice/reconcilers/keda/keda_reconciler.go. The
  queries are therefore totals over the model's pods; GPU utilization is summed and divided by
  the GPUs per replica, so "percent per replica" means what it means on the KEDA ScaledObject.
"""

from __future__ import annotations

from typing import Any

from modelfleet import promql
from modelfleet.placement import Placement
from modelfleet.runtimes import RuntimeProfile

DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
KPA_METRICS = {"concurrency": "concurrency", "rps": "rps"}
KEDA_METRICS = ("gpu_utilization", "queue_depth")


def mode_for(metric: str) -> str:
    return "Serverless" if metric in KPA_METRICS else "RawDeployment"


def keda_query(p: Placement, profile: RuntimeProfile, gpu_label: str) -> str | None:
    """A total over the model's pods (KEDA divides by replicas), or None when nothing is exported."""
    metric = p.spec.autoscaling.metric
    if metric == "gpu_utilization":
        total = f'sum({promql.GPU_SERIES}{{{gpu_label}="{p.namespace}"}})'
        return total if p.gpus_per_replica <= 1 else f"{total} / {p.gpus_per_replica}"
    return promql.autoscaler_query(profile, metric, p.namespace, gpu_label)


def autoscaling(p: Placement, profile: RuntimeProfile, prometheus_url: str, gpu_label: str) -> tuple[dict[str, str], dict[str, Any]]:
    """(InferenceService annotations, predictor fields) for the spec's metric."""
    a = p.spec.autoscaling
    mode = mode_for(a.metric)
    annotations = {DEPLOYMENT_MODE: mode}
    fields: dict[str, Any] = {"minReplicas": p.min_replicas, "maxReplicas": p.max_replicas}
    if a.metric in KPA_METRICS:
        fields.update(scaleMetric=KPA_METRICS[a.metric], scaleTarget=max(1, round(a.target)))
    elif a.metric == "cpu_utilization":
        annotations[AUTOSCALER_CLASS] = "hpa"
        fields.update(scaleMetric="cpu", scaleTarget=max(1, round(a.target)))
    else:
        query = keda_query(p, profile, gpu_label)
        if query is None:  # placement reports this as an error before anything is registered
            raise ValueError(f"{p.model}: runtime {profile.runtime} exports no series for {a.metric}")
        annotations[AUTOSCALER_CLASS] = "keda"
        fields["autoScaling"] = {"metrics": [{
            "type": "External",
            "external": {"metric": {"backend": "prometheus", "serverAddress": prometheus_url, "query": query},
                         "target": {"type": "Value", "value": f"{a.target:g}"}},
        }]}
    return annotations, fields
