"""The rollback side of an Azure ML rollout: Azure ML has no automatic rollback.

`rollback_alerts(rules, plan)` marks the new deployment's alerts for the signals in
`rollout.rollback_on` as the rollout's rollback conditions: severity 0 (critical) and a
description that tells the on-call what to run — `modelfleet abort MODEL --stack S`, which
sends all traffic back to the stable deployment through a reviewed change. Other alerts pass
through unchanged. `VERSION_TAG` marks which version a deployment-scoped resource serves.
"""

from __future__ import annotations

from dataclasses import replace

from components.azure.alerts import AlertRule
from modelfleet.rollout import RolloutPlan

VERSION_TAG = "modelfleet:version"
# rollback_on signal → the alert role that measures it (components.azure.alerts)
SIGNAL_ROLES = {"error_rate": "errors", "latency_p99": "latency"}
CRITICAL = 0


def rollback_alerts(rules: list[AlertRule], plan: RolloutPlan) -> list[AlertRule]:
    roles = {SIGNAL_ROLES[signal] for signal in plan.rollback_on}
    out = []
    for rule in rules:
        if rule.role in roles:
            rule = replace(rule, severity=CRITICAL, description=(
                f"ROLLBACK CONDITION of the {plan.stable_version} → {plan.version} rollout: {rule.description}. Azure ML does "
                f"not roll back by itself: run `modelfleet abort {plan.model} --stack {plan.stack}` and merge the change"))
        out.append(rule)
    return out
