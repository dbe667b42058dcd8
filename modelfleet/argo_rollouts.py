"""Argo Rollouts on `serving: deployment`: the facts about Argo Rollouts modelfleet relies on, and
what a rollout does there, as data. Pure: no Pulumi (components.kubernetes.argo builds the objects).

Contract:
- `drives(spec, stack)`: the model's Deployment is driven by an Argo Rollout — a Kubernetes stack
  with `serving: deployment`, `modelfleet:addons.argo_rollouts` set (install or present) and a
  canary or blue/green spec. Rolling specs keep a plain Deployment.
- Traffic weighting is by replica ratio (no traffic router): the Rollout's Service selects the
  pods of both versions and Kubernetes spreads requests over pods, so the new version's share is
  its pods ÷ all pods. `canary_replicas(replicas, weight)` is the split Argo Rollouts picks
  (ported from `approximateWeightedCanaryStableReplicaCounts`, utils/replicaset/canary.go at
  v1.9.1, with maxSurge 1) and `effective_percent` the share that split gives.
- `steps(plan)` / `wiring(plan, ...)`: the canary steps and the preview JSON entry for each phase:
  in progress → setWeight canary_percent, a bake pause, then held (indefinite pause) until
  `modelfleet promote` removes the steps (Argo Rollouts restarts a canary whose steps change,
  rollout/canary.go `PodTemplateOrStepsChanged` → `resetRolloutStatus`, and with no steps sends
  all traffic to the new version); aborted → setWeight 0 and held.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from modelfleet import promql
from modelfleet.environment import AnyStack, KubernetesStack
from modelfleet.runtimes import RuntimeProfile

if TYPE_CHECKING:
    from modelfleet.rollout import RolloutPlan
    from modelfleet.spec import ModelSpec

# argoproj/argo-rollouts v1.9.1 pkg/apis/rollouts/v1alpha1 (group argoproj.io, version v1alpha1); the
# argo-helm chart argo-rollouts 2.41.1 ships this controller (release notes: "Update dependency
# argoproj/argo-rollouts to v1.9.1", github.com/argoproj/argo-helm/releases/tag/argo-rollouts-2.41.1);
# the chart pin is in modelfleet/data/runtime_images.json (helm_charts.argo_rollouts)
ROLLOUTS_API = "argoproj.io/v1alpha1"
CONTROLLER_VERSION = "v1.9.1"
# workloadRef.scaleDown (docs/migrating.md at v1.9.1): never | onsuccess | progressively. progressively
# scales the referenced Deployment down as the Rollout's pods become ready, so a model already
# running as a plain Deployment keeps serving while it moves under the Rollout
SCALE_DOWN = "progressively"
# The analysis tells the new version's pods by their version label, not by Argo's
# rollouts-pod-template-hash: the version is known when the plan is made, the hash only in the cluster.
# The pod label that carries it (modelfleet.placed.labels_for), and the target label the PodMonitor
# copies it to: Prometheus' pod discovery exposes each pod label as __meta_kubernetes_pod_label_<name,
# each character outside [a-zA-Z0-9_] as _> (prometheus discovery/kubernetes/pod.go, strutil.SanitizeLabelName)
VERSION_POD_LABEL = "app.kubernetes.io/version"
VERSION_META_LABEL = "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", VERSION_POD_LABEL)
VERSION_SERIES_LABEL = "model_version"
MAX_SURGE = 1  # like the plain Deployment: one pod above the count, never below it (maxUnavailable 0)
MAX_WEIGHT = 100
ANALYSIS_INTERVAL_MINUTES = 1
# failed measurements tolerated before the analysis fails (the third failure aborts: a single slow scrape does not)
ANALYSIS_FAILURE_LIMIT = 2
TRAFFIC_ROUTER = "replica ratio (no traffic router)"


# rollback_on condition → (AnalysisTemplate metric name, monitoring.alerts threshold field, query builder)
CONDITIONS = {"error_rate": ("error-rate", "error_rate_percent", promql.error_rate_percent),
              "latency_p99": ("latency-p99", "latency_p99_ms", promql.latency_p99_ms)}


def template_name(model_name: str) -> str:
    return f"{model_name}-rollback"


def preview_service_name(model_name: str) -> str:
    """Blue/green: the Service of the new version's pods; the model's own Service is the active one."""
    return f"{model_name}-preview"


def version_scope(namespace: str, version: str) -> str:
    """The matcher of one version's pods: the model's namespace and the PodMonitor's version label."""
    return f'{promql.scope(namespace)},{VERSION_SERIES_LABEL}="{version}"'


def analysis_queries(spec: ModelSpec, version: str, namespace: str, profile: RuntimeProfile) -> dict[str, str | None]:
    """rollback_on condition → PromQL over `version`'s pods (None: the runtime exports no series for it)."""
    return {signal: CONDITIONS[signal][2](profile, version_scope(namespace, version)) for signal in spec.rollout.rollback_on}


def measured(plan: RolloutPlan, spec: ModelSpec, profile: RuntimeProfile) -> tuple[str, ...]:
    """The conditions an AnalysisTemplate measures: only while a rollout is in progress (empty: no template)."""
    if plan.phase != "in_progress" or not plan.two_slots or not spec.monitoring.enabled:
        return ()
    return tuple(signal for signal, query in analysis_queries(spec, plan.version, spec.name, profile).items() if query is not None)


def drives(spec: ModelSpec, stack: AnyStack) -> bool:
    """The model's Deployment is driven by an Argo Rollout on this stack."""
    return (isinstance(stack, KubernetesStack) and stack.serving == "deployment" and stack.addons.argo_rollouts is not None
            and spec.rollout.strategy in ("canary", "blue_green"))


def _tied(weight: int, total: int) -> bool:
    return math.modf(total * weight / MAX_WEIGHT)[0] == 0.5


def canary_replicas(replicas: int, weight: int, max_surge: int = MAX_SURGE) -> tuple[int, int]:
    """(canary, stable) pods Argo Rollouts runs for `weight` percent of `replicas` without a traffic router."""
    if replicas == 0:
        return 0, 0
    ceil = math.ceil(replicas * weight / MAX_WEIGHT)
    floor = math.floor(replicas * weight / MAX_WEIGHT)
    zero_allowed = weight in (0, MAX_WEIGHT) or (replicas == 1 and max_surge == 0)
    options: list[tuple[int, int]] = []
    if ceil < replicas or zero_allowed:
        options.append((ceil, replicas))
    if not _tied(weight, replicas) and (floor != 0 or zero_allowed):
        options.append((floor, replicas))
    if max_surge > 0:
        options.append((ceil, replicas + 1))
        if not _tied(weight, replicas + 1) and (floor != 0 or zero_allowed):
            options.append((floor, replicas + 1))
    if not options:
        return 0, replicas
    best = min(options, key=lambda o: abs(o[0] * MAX_WEIGHT / o[1] - weight))  # first of equals, as upstream
    return best[0], best[1] - best[0]


def effective_percent(replicas: int, weight: int) -> float:
    """The new version's share of requests at `replicas` when the Service spreads them over pods evenly."""
    canary, stable = canary_replicas(replicas, weight)
    return 100.0 * canary / (canary + stable) if canary + stable else 0.0


def steps(plan: RolloutPlan) -> list[dict[str, Any]]:
    """The canary steps of the Rollout for the plan's phase; none outside a rollout (one slot)."""
    if not plan.two_slots or plan.strategy != "canary":
        return []
    if plan.phase == "aborted":
        return [{"setWeight": 0}, {"pause": {}}]
    bake = [{"pause": {"duration": f"{plan.bake_minutes}m"}}] if plan.bake_minutes else []
    return [{"setWeight": plan.canary_percent}, *bake, {"pause": {}}]


def wiring(plan: RolloutPlan, min_replicas: int, analysed: tuple[str, ...], template: str | None) -> dict[str, Any]:
    """The preview JSON entry of an Argo-driven rollout (RolloutPlan.with_wiring keys)."""
    abort = f"modelfleet abort {plan.model} --stack {plan.stack}"
    promote = f"modelfleet promote {plan.model} --stack {plan.stack}"
    out: dict[str, Any] = {"engine": f"Argo Rollouts {CONTROLLER_VERSION} (Rollout with workloadRef to the Deployment)",
                           "traffic_router": TRAFFIC_ROUTER}
    if plan.strategy == "canary":
        canary, stable = canary_replicas(min_replicas, plan.new_share)
        out["canary_traffic_percent"] = plan.new_share
        out["replicas_at_min"] = {"stable": stable, "new": canary,
                                  "effective_new_percent": round(effective_percent(min_replicas, plan.new_share), 1)}
        out["steps"] = steps(plan)
        out["promote"] = (f"`{promote}` removes the steps: Argo Rollouts then moves all traffic to {plan.version} "
                          "(the stable pods scale down as the new ones become ready)")
        out["abort"] = f"steps become setWeight 0 + pause: {plan.version} scaled to 0 pods, all traffic to {plan.stable_version}"
    else:
        out["active_service"], out["preview_service"] = plan.model, preview_service_name(plan.model)
        out["promote"] = (f"`{promote}` sets autoPromotionEnabled: Argo Rollouts switches the active Service to "
                          f"{plan.version} once its pods are ready")
        out["abort"] = f"previewReplicaCount 0: {plan.version} keeps no pods, the active Service stays on {plan.stable_version}"
    if plan.phase == "aborted":
        out["rollback"] = {"automatic": False, "by": f"aborted in Git: {plan.stable_version} takes all traffic"}
    elif template and analysed:
        if plan.strategy == "canary":
            when = "every minute once the canary pods take traffic (after setWeight) until promote or abort (background analysis)"
            effect = f"{plan.version} back to 0 % and {plan.stable_version} takes all traffic"
        else:
            when = (f"every minute for {max(plan.bake_minutes, 1)} minutes on the preview pods before promotion can happen "
                    "(pre-promotion analysis: it sees only requests sent to the preview Service)")
            effect = f"{plan.version} is never promoted and its pods are scaled down; {plan.stable_version} keeps all traffic"
        out["analysis"] = {"template": template, "conditions": list(analysed), "runs": when}
        out["rollback"] = {"automatic": True,
                           "by": (f"Argo Rollouts AnalysisTemplate {template} ({', '.join(analysed)} of {plan.version}'s pods, "
                                  f"from Prometheus) fails → the rollout is aborted: {effect}; then record it with `{abort}`")}
    else:
        out["rollback"] = {"automatic": False, "by": "nothing: no rollback_on analysis (monitoring disabled or rollback_on empty); "
                                                     f"run `{abort}`"}
    return out
