"""Observability rules (advisory by default): a production model has alerts — a CloudWatch
MetricAlarm, PrometheusRule or Azure Monitor MetricAlert labelled/tagged with the model —
and every alert routes somewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._rule import ENVIRONMENTS_SCHEMA, Rule

SERVING_TYPES = (*u.K8S_WORKLOADS, u.SM_ENDPOINT, u.AML_ENDPOINT)
ALERT_TYPES = (u.CW_ALARM, u.PROMETHEUS_RULE, u.AZ_METRIC_ALERT, u.AZ_METRIC_ALERT_V2)
_ENVS = {"environments": {**ENVIRONMENTS_SCHEMA, "default": ["prod"]}}


def models_have_alerts(resources: list[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not u.in_environments(config, ["prod"]):
        return []
    alerted = {u.model_of(r.get("props")) for r in resources if r.get("type") in ALERT_TYPES}
    found, seen = [], set()
    for res in resources:
        model = u.model_of(res.get("props")) if res.get("type") in SERVING_TYPES else None
        if model and model not in alerted and model not in seen:
            seen.add(model)
            found.append(
                (
                    str(res.get("name")),
                    (
                        f"Model {model} has no alerts in {u.environment(config)}. To fix: keep "
                        "monitoring.alerts in the model spec (do not set monitoring.enabled: false)."
                    ),
                )
            )
    return found


def alert_destination(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    field = "alarmActions" if resource_type == u.CW_ALARM else "actions"
    if u.as_list(u.get(props, field)):
        return []
    return [
        (
            f"The alert has no {field}, so it fires into the void. To fix: set modelfleet:alerts "
            "(sns_topic_arn or action_group_id) in the stack file."
        )
    ]


RULES = [
    Rule(
        "MF-OBS-001",
        "observability",
        "advisory",
        "Production models have alerts",
        "Error-rate and latency regressions otherwise surface as user complaints.",
        (),
        "stack",
        models_have_alerts,
        (),
        _ENVS,
    ),
    Rule(
        "MF-OBS-002",
        "observability",
        "advisory",
        "Production alerts have a destination",
        "An alarm without actions changes state silently.",
        (),
        "resource",
        alert_destination,
        (u.CW_ALARM, u.AZ_METRIC_ALERT, u.AZ_METRIC_ALERT_V2),
        _ENVS,
    ),
]
