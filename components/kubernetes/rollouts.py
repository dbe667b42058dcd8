"""Rollouts on Kubernetes serving engines: what KServe can and cannot do, as objects.

- `canary_traffic_percent(plan)`: KServe's `canaryTrafficPercent` for the model's rollout —
  absent outside a rollout (first deploy, steady, or after promote: KServe sends all traffic
  to the latest ready revision), `canary_percent` while a canary is in progress, 0 for a
  blue/green twin before promote and after an abort (KServe keeps the previous revision as the
  stable one and routes the rest to it; Serverless mode only).
- `rollback_rule(p, receiver, profile)`: KServe has no automatic rollback, so during a rollout the
  `rollout.rollback_on` conditions become a PrometheusRule (queries from the runtime profile via
  `modelfleet.promql`) whose summary tells the on-call to run `modelfleet abort`. The queries
  cover the model's namespace — both revisions — since the runtime's series carry no revision.
  None when the runtime exports none of the rollback_on series (the target says so).
"""

from __future__ import annotations

from typing import Any

from components.kubernetes.monitoring import MONITORING_API
from components.kubernetes.objects import metadata
from modelfleet import promql
from modelfleet.placement import Placement
from modelfleet.rollout import RolloutPlan
from modelfleet.runtimes import RuntimeProfile


def canary_traffic_percent(plan: RolloutPlan | None) -> int | None:
    return plan.new_share if plan is not None and plan.two_slots else None


def rollback_rule(p: Placement, receiver: str | None, profile: RuntimeProfile) -> dict[str, Any] | None:
    plan = p.rollout
    if plan is None or plan.phase != "in_progress" or not plan.two_slots or not p.spec.monitoring.enabled:
        return None
    a, where = p.spec.monitoring.alerts, promql.scope(p.namespace)
    abort = f"modelfleet abort {p.model} --stack {p.stack}"
    labels = {"severity": "page", "model": p.model, "rollout": "rollback", **({"receiver": receiver} if receiver else {})}
    queries = {"error_rate": (promql.error_rate_percent(profile, where), a.error_rate_percent, "failed requests above {:g}%"),
               "latency_p99": (promql.latency_p99_ms(profile, where), a.latency_p99_ms, "p99 latency above {:g} ms")}
    rules = []
    for signal in plan.rollback_on:
        expr, threshold, what = queries[signal]
        if expr is None:
            continue
        rules.append({"alert": f"ModelRolloutRollback{''.join(w.title() for w in signal.split('_'))}",
                      "expr": f"{expr} > {threshold:g}", "for": "2m", "labels": labels,
                      "annotations": {"summary": f"{p.model} {plan.stable_version} → {plan.version}: {what.format(threshold)} "
                                                 f"during the rollout. KServe does not roll back by itself: run `{abort}`"}})
    if not rules:
        return None
    return {"apiVersion": MONITORING_API, "kind": "PrometheusRule",
            "metadata": metadata(f"{p.name}-rollback", p.namespace, p.labels),
            "spec": {"groups": [{"name": f"modelfleet.{p.model}.rollout", "rules": rules}]}}
