"""Reliability rules: infrastructure code must not fight autoscalers over counts they own,
registries survive a mistaken `pulumi destroy`, and autoscaling bounds are consistent.

Rules that read resource options take them as the `options` keyword argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._rule import ENVIRONMENTS_SCHEMA, Rule
from .gpu import replica_bounds

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def nodegroup_ignores_desired(
    resource_type: str, props: Any, config: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> list[str]:
    if u.ignores(options, "scalingConfig.desiredSize"):
        return []
    return [
        (
            "The cluster autoscaler owns scalingConfig.desiredSize, but every `pulumi up` would reset it. "
            'To fix: add ignore_changes=["scalingConfig.desiredSize"] to the node group\'s options.'
        )
    ]


def agentpool_ignores_count(
    resource_type: str, props: Any, config: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> list[str]:
    if not u.truthy(u.get(props, "enableAutoScaling")) or u.ignores(options, "count"):
        return []
    return [
        (
            "The AKS autoscaler owns count, but every `pulumi up` would reset it. "
            'To fix: add ignore_changes=["count"] to the agent pool\'s options.'
        )
    ]


def deployment_replicas_vs_autoscaler(
    resources: list[Mapping[str, Any]], config: Mapping[str, Any]
) -> list[tuple[str, str]]:
    targets = {
        str(u.get(r.get("props"), "spec.scaleTargetRef.name"))
        for r in resources
        if r.get("type") in (u.HPA, u.SCALED_OBJECT) and u.get(r.get("props"), "spec.scaleTargetRef.name")
    }
    found = []
    for res in resources:
        props = res.get("props")
        if res.get("type") != DEPLOYMENT or str(u.get(props, "metadata.name") or res.get("name")) not in targets:
            continue
        if u.get(props, "spec.replicas") is not None and not u.ignores(res.get("options"), "spec.replicas"):
            found.append(
                (
                    str(res.get("name")),
                    (
                        "spec.replicas is set on an autoscaled Deployment, so every "
                        "`pulumi up` scales it back. To fix: leave spec.replicas unset or add "
                        'ignore_changes=["spec.replicas"].'
                    ),
                )
            )
    return found


def registry_protected(
    resource_type: str, props: Any, config: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    opts = u.as_map(options)
    if u.truthy(opts.get("protect")) or u.truthy(opts.get("retainOnDelete")):
        return []
    return [
        (
            f"The {u.environment(config)} registry can be deleted with its images by one `pulumi destroy`. "
            "To fix: set protect=True (or retain_on_delete=True) in the registry's resource options."
        )
    ]


def autoscaling_bounds(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    low, high, where = replica_bounds(resource_type, props)
    if low is not None and high is not None and low > high:
        return [
            (
                f"Replica bounds ({where}): minimum {u.fmt(low)} is above maximum {u.fmt(high)}. "
                "To fix: make autoscaling.min_replicas ≤ max_replicas in the model spec."
            )
        ]
    return []


def _r(
    rule_id: str,
    desc: str,
    why: str,
    fn: Any,
    types: tuple[str, ...],
    options: bool = True,
    params: Mapping[str, Any] | None = None,
) -> Rule:
    return Rule(rule_id, "reliability", "mandatory", desc, why, (), "resource", fn, types, params or {}, options)


RULES = [
    _r(
        "MF-REL-001",
        "EKS node groups leave desiredSize to the autoscaler",
        "Otherwise each deploy shrinks GPU capacity back under live traffic.",
        nodegroup_ignores_desired,
        (u.EKS_NODEGROUP,),
    ),
    _r(
        "MF-REL-002",
        "Autoscaled AKS agent pools leave count to the autoscaler",
        "Otherwise each deploy resets GPU node count under live traffic.",
        agentpool_ignores_count,
        (u.AKS_POOL,),
    ),
    Rule(
        "MF-REL-003",
        "reliability",
        "mandatory",
        "Autoscaled Deployments leave replicas to the autoscaler",
        "A fixed spec.replicas makes every deploy scale the model back down.",
        (),
        "stack",
        deployment_replicas_vs_autoscaler,
    ),
    _r(
        "MF-REL-004",
        "Production registries are protected from deletion",
        "Deleting a registry deletes every image the running endpoints pull on restart.",
        registry_protected,
        (u.ECR_REPO, u.ACR),
        params={"environments": {**ENVIRONMENTS_SCHEMA, "default": ["prod"]}},
    ),
    _r(
        "MF-REL-005",
        "Autoscaling minimum does not exceed maximum",
        "Inconsistent bounds are rejected by the platform at deploy time, mid-rollout.",
        autoscaling_bounds,
        (u.HPA, u.SCALED_OBJECT, u.ISVC, u.AAS_TARGET, u.AML_DEPLOYMENT),
        options=False,
    ),
]
