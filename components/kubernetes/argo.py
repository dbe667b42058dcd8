"""Argo Rollouts objects for a model whose Deployment a Rollout drives (`modelfleet.argo_rollouts`).

- `rollout(p, template)`: an `argoproj.io/v1alpha1` Rollout with `workloadRef` to the model's
  Deployment (the Deployment keeps the pod template and is scaled down by the Rollout). Canary:
  steps from `modelfleet.argo_rollouts.steps` (none outside a rollout), background analysis while
  a rollout is in progress. Blue/green: the model's Service is the active one, `<model>-preview`
  the preview; `autoPromotionEnabled: false` while a rollout is in progress (promotion is
  `modelfleet promote`), pre-promotion analysis on the new version's pods, `previewReplicaCount: 0`
  after an abort. Replica ratio only: no `trafficRouting`.
- `analysis_template(p, profile, prometheus_url)`: one Prometheus metric per rollback_on condition
  (`modelfleet.argo_rollouts.analysis_queries`: the NEW version's pods, from the runtime profile,
  selected by the `model_version` target label the PodMonitor copies from the pod's version
  label); no data (no requests yet) passes, a value above the spec's alert threshold fails.
"""

from __future__ import annotations

from typing import Any

from components.kubernetes.objects import metadata
from modelfleet import argo_rollouts as argo
from modelfleet.placement import Placement
from modelfleet.runtimes import RuntimeProfile


def analysis_template(p: Placement, profile: RuntimeProfile, prometheus_url: str) -> dict[str, Any] | None:
    plan = p.rollout
    signals = argo.measured(plan, p.spec, profile) if plan is not None else ()
    if plan is None or not signals:
        return None
    queries, alerts = argo.analysis_queries(p.spec, plan.version, p.namespace, profile), p.spec.monitoring.alerts
    metrics = []
    for signal in signals:
        name, field, _ = argo.CONDITIONS[signal]
        threshold = getattr(alerts, field)
        metric: dict[str, Any] = {
            "name": name, "interval": f"{argo.ANALYSIS_INTERVAL_MINUTES}m", "failureLimit": argo.ANALYSIS_FAILURE_LIMIT,
            # an empty vector or NaN is no traffic yet, not a failure (docs/features/analysis.md "NaN and
            # Infinity", "Empty array"; isNaN is in the expression environment, utils/evaluate/evaluate.go)
            "successCondition": f"len(result) == 0 || isNaN(result[0]) || result[0] <= {threshold:g}",
            "provider": {"prometheus": {"address": prometheus_url, "query": queries[signal]}},
        }
        if p.spec.rollout.strategy == "blue_green":
            # pre-promotion analysis must end for promotion to be possible: one measurement per minute of bake
            metric["count"] = max(p.spec.rollout.bake_minutes, 1) // argo.ANALYSIS_INTERVAL_MINUTES
        metrics.append(metric)
    return {"apiVersion": argo.ROLLOUTS_API, "kind": "AnalysisTemplate",
            "metadata": metadata(argo.template_name(p.name), p.namespace, p.labels), "spec": {"metrics": metrics}}


def _canary(p: Placement, template: bool) -> dict[str, Any]:
    assert p.rollout is not None
    canary: dict[str, Any] = {"maxSurge": argo.MAX_SURGE, "maxUnavailable": 0, "steps": argo.steps(p.rollout)}
    if template:
        # background analysis from the first step: a failing canary is aborted at any point until promote
        canary["analysis"] = {"templates": [{"templateName": argo.template_name(p.name)}], "startingStep": 1}
    return canary


def _blue_green(p: Placement, template: bool) -> dict[str, Any]:
    plan = p.rollout
    assert plan is not None
    blue_green: dict[str, Any] = {"activeService": p.name, "previewService": argo.preview_service_name(p.name),
                                  "autoPromotionEnabled": not plan.two_slots}
    if plan.phase == "aborted" and plan.two_slots:
        blue_green["previewReplicaCount"] = 0  # the new version keeps no pods until the spec changes
    if template:
        blue_green["prePromotionAnalysis"] = {"templates": [{"templateName": argo.template_name(p.name)}]}
    return blue_green


def rollout(p: Placement, template: bool) -> dict[str, Any]:
    strategy = {"canary": _canary(p, template)} if p.spec.rollout.strategy == "canary" else {"blueGreen": _blue_green(p, template)}
    return {
        "apiVersion": argo.ROLLOUTS_API, "kind": "Rollout",
        "metadata": metadata(p.name, p.namespace, p.labels),
        "spec": {
            # the autoscaler owns the live count (it targets the Rollout); this is the count at creation
            "replicas": p.min_replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": p.name}},
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": p.name, "scaleDown": argo.SCALE_DOWN},
            "strategy": strategy,
        },
    }
