"""Rollouts on the Kubernetes targets (onprem, EKS, AKS), shared by their `Target` classes.

- `serving: kserve`: a canary is KServe's `canaryTrafficPercent`, which applies in Serverless
  mode only (Knative revisions: KServe keeps the previous revision as the stable one). A model
  whose autoscaling metric puts it in RawDeployment ("Standard") mode cannot split traffic: a
  canary or blue/green spec there is an error naming what works. KServe has no automatic
  rollback: the `rollback_on` conditions are a PrometheusRule that pages with the abort command.
- `serving: deployment` without `modelfleet:addons.argo_rollouts`: a rolling update (the engine
  diagnostics warn that no split exists).
- `serving: deployment` with Argo Rollouts: a Rollout drives the Deployment (`modelfleet.argo_rollouts`):
  canary steps or blue/green Services, traffic by replica ratio (a warning says the share the
  pods actually give when it differs from canary_percent), and an AnalysisTemplate over the
  `rollback_on` conditions that aborts a failing rollout automatically. A `rollback_on` condition
  the runtime cannot measure is an error there: the promise of an automatic rollback would break.
"""

from __future__ import annotations

from typing import Any

from modelfleet import argo_rollouts, promql
from modelfleet.environment import AnyStack, KubernetesStack
from modelfleet.plan import Diagnostic
from modelfleet.rollout import RolloutPlan
from modelfleet.runtimes import profile_for
from modelfleet.spec import ModelSpec
from modelfleet.targets import Target

# KServe's Serverless (Knative) mode follows these metrics; the others run in RawDeployment
# (components.kubernetes.kserve_autoscaling.mode_for)
SERVERLESS_METRICS = ("concurrency", "rps")


def serverless(spec: ModelSpec) -> bool:
    return spec.autoscaling.metric in SERVERLESS_METRICS


class KubernetesRollouts(Target):
    """Rollout wiring and diagnostics of the Kubernetes serving engines."""

    def rollout_wiring(self, plan: RolloutPlan, spec: ModelSpec, stack: AnyStack) -> dict[str, Any]:
        assert isinstance(stack, KubernetesStack)
        if argo_rollouts.drives(spec, stack) and plan.two_slots:
            profile = profile_for(spec, "deployment")
            measured = argo_rollouts.measured(plan, spec, profile)
            return argo_rollouts.wiring(plan, spec.autoscaling.floor, measured,
                                        argo_rollouts.template_name(spec.name) if measured else None)
        if stack.serving != "kserve" or not plan.two_slots:
            return {"rollback": {"automatic": False, "by": "a rolling update of the Deployment: no traffic split; restore the "
                                                          "old version in the spec to go back"}}
        abort = f"modelfleet abort {plan.model} --stack {plan.stack}"
        return {
            "canary_traffic_percent": plan.new_share,
            "rollback": {"automatic": False,
                         "by": (f"KServe has no automatic rollback: a PrometheusRule on {', '.join(plan.rollback_on)} pages the "
                                f"on-call, who runs `{abort}`") if plan.rollback_on and spec.monitoring.enabled else
                               "nothing: no rollback_on alerts (monitoring disabled or rollback_on empty)"},
            "promote": "canaryTrafficPercent is removed: KServe sends all traffic to the new revision",
            "abort": "canaryTrafficPercent 0: all traffic to the previous (stable) revision, the new one kept at 0 %",
        }

    def rollout_diagnostics(self, plan: RolloutPlan, spec: ModelSpec, stack: AnyStack) -> list[Diagnostic]:
        assert isinstance(stack, KubernetesStack)
        out: list[Diagnostic] = []
        if stack.serving == "kserve" and spec.rollout.strategy != "rolling" and not serverless(spec):
            out.append(Diagnostic("error", spec.name, "rollout.strategy",
                                  f"{spec.rollout.strategy} on KServe needs Serverless mode (canaryTrafficPercent splits traffic "
                                  f"between Knative revisions), but autoscaling.metric {spec.autoscaling.metric} runs the model in "
                                  "RawDeployment (Standard) mode, where KServe applies no traffic split. To fix: scale on "
                                  "concurrency or rps (Serverless mode), or set rollout.strategy: rolling"))
        if stack.serving == "kserve" and plan.two_slots and plan.rollback_on:
            profile = profile_for(spec, "kserve")
            queries = {"error_rate": promql.error_rate_percent(profile, ""), "latency_p99": promql.latency_p99_ms(profile, "")}
            for signal in plan.rollback_on:
                if queries[signal] is None:
                    out.append(Diagnostic("warning", spec.name, "rollout.rollback_on",
                                          f"{spec.serving.runtime} on KServe exports no series for {signal}, so no rollback alert "
                                          f"watches it. To fix: drop {signal} from rollback_on, or name the series in "
                                          "monitoring.metrics"))
        if stack.serving == "kserve" and plan.two_slots and plan.phase == "in_progress" and plan.rollback_on:
            out.append(Diagnostic("warning", spec.name, "rollout.rollback_on",
                                  "KServe has no automatic rollback: the rollback_on conditions are a PrometheusRule "
                                  f"({spec.name}-rollback) that pages; the on-call runs `modelfleet abort {spec.name} --stack "
                                  f"{stack.stack}` (canaryTrafficPercent 0, all traffic to {plan.stable_version})"))
        if argo_rollouts.drives(spec, stack):
            out += _argo_diagnostics(plan, spec)
        return out


def _argo_diagnostics(plan: RolloutPlan, spec: ModelSpec) -> list[Diagnostic]:
    """What a reviewer must know about an Argo-driven rollout: unmeasurable rollback conditions (error),
    a replica ratio that cannot give canary_percent (warning)."""
    out: list[Diagnostic] = []
    profile = profile_for(spec, "deployment")
    if spec.monitoring.enabled:
        for signal, query in argo_rollouts.analysis_queries(spec, spec.version, spec.name, profile).items():
            if query is None:
                out.append(Diagnostic("error", spec.name, "rollout.rollback_on",
                                      f"{signal} cannot be measured: {spec.serving.runtime} exports no series for it, so Argo "
                                      "Rollouts' analysis could never fail on it and the automatic rollback would not happen. "
                                      f"To fix: drop {signal} from rollout.rollback_on (allowed here: "
                                      f"{', '.join(s for s, q in argo_rollouts.analysis_queries(spec, spec.version, spec.name, profile).items() if q) or 'none'}), "
                                      "or name the series the server exports in monitoring.metrics"))
    if plan.phase == "in_progress" and plan.strategy == "canary":
        floor = spec.autoscaling.floor
        share = argo_rollouts.effective_percent(floor, plan.canary_percent)
        if round(share, 1) != plan.canary_percent:
            canary, stable = argo_rollouts.canary_replicas(floor, plan.canary_percent)
            out.append(Diagnostic("warning", spec.name, "rollout.canary_percent",
                                  f"Argo Rollouts weights traffic here by replica ratio (no traffic router): at {floor} "
                                  f"replica(s) canary_percent {plan.canary_percent} runs {canary} new pod(s) next to {stable} "
                                  f"stable, so the new version gets about {share:.0f}% of requests, not {plan.canary_percent}%. "
                                  "The share follows the pods as the autoscaler adds replicas. To get closer: raise min_replicas "
                                  f"(≥ {-(-100 // plan.canary_percent)} for one new pod in {plan.canary_percent}%), or use "
                                  "serving: kserve (Serverless mode) for an exact split"))
    return out
