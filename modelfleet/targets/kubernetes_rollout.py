"""Rollouts on the Kubernetes targets (onprem, EKS, AKS), shared by their `Target` classes.

- `serving: kserve`: a canary is KServe's `canaryTrafficPercent`, which applies in Serverless
  mode only (Knative revisions: KServe keeps the previous revision as the stable one). A model
  whose autoscaling metric puts it in RawDeployment ("Standard") mode cannot split traffic: a
  canary or blue/green spec there is an error naming what works. KServe has no automatic
  rollback: the `rollback_on` conditions are a PrometheusRule that pages with the abort command.
- `serving: deployment`: a rolling update (the engine diagnostics warn that no split exists).
  Argo Rollouts objects are not generated: `modelfleet:addons.argo_rollouts` is reported as
  having no effect rather than silently accepted.
"""

from __future__ import annotations

from typing import Any

from modelfleet import promql
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
        if stack.serving == "deployment" and stack.addons.argo_rollouts is not None and spec.rollout.strategy != "rolling":
            out.append(Diagnostic("warning", spec.name, "modelfleet:addons.argo_rollouts",
                                  "modelfleet does not generate Argo Rollouts objects yet: the setting has no effect and the "
                                  "Deployment keeps a rolling update. To split traffic use serving: kserve (Serverless mode)"))
        return out
