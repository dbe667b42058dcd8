"""GPU and capacity rules: which accelerators an environment may use, how many GPUs and
replicas a model may claim, and that GPU pods land only on tainted GPU pools.

How accelerators and pools are recognised lives in `_nodes.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._nodes import ACCELERATORS, POOL_TYPES, accelerators_of, pool_is_gpu, pool_is_tainted, pool_labels
from ._rule import ENVIRONMENTS_SCHEMA, Rule

REPLICA_TYPES = (u.HPA, u.SCALED_OBJECT, u.ISVC, u.AAS_TARGET, u.AML_DEPLOYMENT, "kubernetes:apps/v1:Deployment")


def allowed_accelerators(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    allowed = [str(a) for a in u.as_list(u.param(config, "allowed_accelerators", ACCELERATORS))]
    env = u.environment(config)
    return [
        f"Accelerator {acc} is not allowed in {env} (allowed: {', '.join(allowed) or 'none'}). "
        f"To fix: set resources.accelerator in the model spec to an allowed one, or add {acc} to "
        f"allowed_accelerators in policies/config/{env}.json."
        for acc in sorted(accelerators_of(resource_type, props))
        if acc not in allowed
    ]


def max_gpus_per_replica(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    limit = u.num(u.param(config, "max_gpus_per_replica", 8), 8.0) or 0.0
    gpus = u.gpus_per_replica(resource_type, props)
    if gpus > limit:
        return [
            (
                f"Each replica requests {u.fmt(gpus)} GPUs, above the limit of {u.fmt(limit)}. "
                "To fix: lower the accelerator count in the model spec or raise max_gpus_per_replica."
            )
        ]
    return []


def replica_bounds(resource_type: str, props: Any) -> tuple[float | None, float | None, str]:
    """(min, max, field) of the replica count a resource controls; None where not set."""
    if resource_type == u.HPA:
        return (
            u.num(u.get(props, "spec.minReplicas"), 1.0),
            u.num(u.get(props, "spec.maxReplicas")),
            "spec.minReplicas/maxReplicas",
        )
    if resource_type == u.SCALED_OBJECT:
        return (
            u.num(u.get(props, "spec.minReplicaCount"), 0.0),
            u.num(u.get(props, "spec.maxReplicaCount"), 100.0),
            "spec.minReplicaCount/maxReplicaCount",
        )
    if resource_type == u.ISVC:
        low = u.num(u.get(props, "spec.predictor.minReplicas"), 1.0)
        return low, u.num(u.get(props, "spec.predictor.maxReplicas"), low), "spec.predictor.minReplicas/maxReplicas"
    if resource_type == u.AAS_TARGET:
        return u.num(u.get(props, "minCapacity")), u.num(u.get(props, "maxCapacity")), "minCapacity/maxCapacity"
    if resource_type == u.AML_DEPLOYMENT:
        scale = u.as_map(u.get_any(props, "properties.scaleSettings", "onlineDeploymentProperties.scaleSettings"))
        cap = u.num(u.get(props, "sku.capacity"))
        low = u.num(scale.get("minInstances"), cap)
        return low, u.num(scale.get("maxInstances"), cap), "sku.capacity/scaleSettings"
    if resource_type == "kubernetes:apps/v1:Deployment":
        replicas = u.num(u.get(props, "spec.replicas"))
        return replicas, replicas, "spec.replicas"
    return None, None, ""


def max_replicas(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    limit = u.num(u.param(config, "max_replicas", 20), 20.0) or 0.0
    _, high, where = replica_bounds(resource_type, props)
    if high is not None and high > limit:
        return [
            (
                f"Maximum replicas ({where}) is {u.fmt(high)}, above the limit of {u.fmt(limit)}. "
                "To fix: lower autoscaling.max_replicas in the model spec or raise max_replicas."
            )
        ]
    return []


def prod_min_replicas(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    need = u.num(u.param(config, "min_replicas", 2), 2.0) or 0.0
    env = u.environment(config)
    counts: list[tuple[float | None, str]] = []
    if resource_type == u.SM_ENDPOINT_CONFIG:
        for i, variant in enumerate(u.as_list(u.get(props, "productionVariants"))):
            managed = u.as_map(u.get(variant, "managedInstanceScaling"))
            if str(managed.get("status", "")).upper() == "ENABLED":
                # inference components: SageMaker scales instances itself, down to MinInstanceCount
                counts.append((u.num(managed.get("minInstanceCount"), 1.0),
                               f"productionVariants[{i}].managedInstanceScaling.minInstanceCount"))
            elif u.get(variant, "serverlessConfig") is None:
                counts.append(
                    (
                        u.num(u.get(variant, "initialInstanceCount"), 1.0),
                        f"productionVariants[{i}].initialInstanceCount",
                    )
                )
    else:
        low, _, where = replica_bounds(resource_type, props)
        counts.append((low, where))
    return [
        f"Minimum replicas ({where}) is {u.fmt(low)}; {env} needs at least {u.fmt(need)} replicas "
        f"across zones. To fix: set autoscaling.min_replicas: {u.fmt(need)} under environments.{env} "
        "in the model spec."
        for low, where in counts
        if low is not None and low < need
    ]


def gpu_pods_tolerate_taint(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if u.gpus_per_replica(resource_type, props) <= 0:
        return []
    return [
        f"Pods request {u.GPU_RESOURCE} but do not tolerate the {u.GPU_TAINT_KEY} taint, so they can never "
        "schedule on a GPU pool. To fix: add the toleration "
        f"{{key: {u.GPU_TAINT_KEY}, operator: Exists, effect: NoSchedule}}."
        for pod in u.pod_specs(resource_type, props)
        if not u.tolerates_gpu_taint(pod)
    ]


def gpu_pool_tainted(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not pool_is_gpu(resource_type, props) or pool_is_tainted(resource_type, props):
        return []
    return [
        (
            f"This GPU node pool has no {u.GPU_TAINT_KEY} NoSchedule taint, so non-GPU pods can fill the GPUs' "
            f"nodes. To fix: add the taint {u.GPU_TAINT_KEY}=true:NoSchedule to the pool."
        )
    ]


def gpu_pods_select_pool(resources: list[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    pools = [
        (pool_labels(r), pool_is_tainted(str(r.get("type")), r.get("props")))
        for r in resources
        if r.get("type") in POOL_TYPES and pool_is_gpu(str(r.get("type")), r.get("props"))
    ]
    found: list[tuple[str, str]] = []
    for res in resources:
        kind, props = str(res.get("type")), res.get("props")
        if kind not in u.K8S_WORKLOADS or u.gpus_per_replica(kind, props) <= 0:
            continue
        for pod in u.pod_specs(kind, props):
            selector = {str(k): str(v) for k, v in u.node_selector(pod).items()}
            if not selector and not u.has_node_affinity(pod):
                found.append(
                    (
                        str(res.get("name")),
                        (
                            "GPU pods select no node pool. To fix: set nodeSelector to the "
                            "GPU pool's labels (e.g. modelfleet.io/accelerator)."
                        ),
                    )
                )
                continue
            matching = [tainted for labels, tainted in pools if selector and selector.items() <= labels.items()]
            if selector and pools and not matching:
                found.append(
                    (
                        str(res.get("name")),
                        (
                            f"nodeSelector {selector} matches no GPU pool in this stack. "
                            "To fix: select labels that the GPU node pool carries."
                        ),
                    )
                )
            elif matching and not any(matching):
                found.append(
                    (
                        str(res.get("name")),
                        (
                            f"nodeSelector {selector} selects a GPU pool without the "
                            f"{u.GPU_TAINT_KEY} taint. To fix: taint that pool or select a tainted one."
                        ),
                    )
                )
    return found


def _max_replicas_by_target(resources: list[Mapping[str, Any]]) -> dict[str, float]:
    bounds: dict[str, float] = {}
    for res in resources:
        if res.get("type") in (u.HPA, u.SCALED_OBJECT):
            _, high, _ = replica_bounds(str(res.get("type")), res.get("props"))
            target = u.get(res.get("props"), "spec.scaleTargetRef.name")
            if target and high is not None:
                bounds[str(target)] = high
    return bounds


def max_gpus_per_model(resources: list[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    limit = u.num(u.param(config, "max_gpus_per_model", 64), 64.0) or 0.0
    by_target = _max_replicas_by_target(resources)
    totals: dict[str, tuple[float, str]] = {}
    for res in resources:
        kind, props = str(res.get("type")), res.get("props")
        per = u.gpus_per_replica(kind, props) if kind in u.K8S_WORKLOADS else 0.0
        if per <= 0:
            continue
        name = str(u.get(props, "metadata.name") or res.get("name"))
        if kind == u.ISVC:
            _, high, _ = replica_bounds(kind, props)
        else:
            high = by_target.get(name, u.num(u.get(props, "spec.replicas"), 1.0))
        model = u.model_of(props) or str(res.get("name"))
        total, first = totals.get(model, (0.0, str(res.get("name"))))
        totals[model] = (total + per * (high or 1.0), first)
    return [
        (
            first,
            (
                f"Model {model} can claim {u.fmt(total)} GPUs at max scale, above the limit of {u.fmt(limit)}. "
                "To fix: lower autoscaling.max_replicas or the accelerator count, or raise max_gpus_per_model."
            ),
        )
        for model, (total, first) in sorted(totals.items())
        if total > limit
    ]


_WORKLOAD_GLOBS = (*u.K8S_WORKLOADS,)
RULES = [
    Rule(
        "MF-GPU-001",
        "gpu",
        "mandatory",
        "Only accelerators allowed in the environment are used",
        "Keeps expensive GPUs (H100, A100) out of dev and within the capacity reserved per environment.",
        (),
        "resource",
        allowed_accelerators,
        (u.EKS_NODEGROUP, u.AKS_POOL, u.NODE_PATCH, u.SM_ENDPOINT_CONFIG, u.AML_DEPLOYMENT, *_WORKLOAD_GLOBS),
        {"allowed_accelerators": {"type": "array", "items": {"type": "string"}, "default": ACCELERATORS}},
    ),
    Rule(
        "MF-GPU-002",
        "gpu",
        "mandatory",
        "GPUs per replica stay within the limit",
        "A replica asking for more GPUs than one node has never schedules and blocks the rollout.",
        (),
        "resource",
        max_gpus_per_replica,
        _WORKLOAD_GLOBS,
        {"max_gpus_per_replica": {"type": "number", "default": 8}},
    ),
    Rule(
        "MF-GPU-003",
        "gpu",
        "mandatory",
        "GPUs per model at max scale stay within the limit",
        "Bounds the blast radius of one autoscaler on the shared GPU budget.",
        (),
        "stack",
        max_gpus_per_model,
        (),
        {"max_gpus_per_model": {"type": "number", "default": 64}},
    ),
    Rule(
        "MF-GPU-004",
        "gpu",
        "mandatory",
        "Replica counts stay within the limit",
        "A runaway max_replicas turns a traffic spike into a GPU bill.",
        (),
        "resource",
        max_replicas,
        REPLICA_TYPES,
        {"max_replicas": {"type": "number", "default": 20}},
    ),
    Rule(
        "MF-GPU-005",
        "gpu",
        "mandatory",
        "GPU pods tolerate the nvidia.com/gpu taint",
        "GPU pools are tainted; pods without the toleration stay Pending forever.",
        (),
        "resource",
        gpu_pods_tolerate_taint,
        _WORKLOAD_GLOBS,
    ),
    Rule(
        "MF-GPU-006",
        "gpu",
        "mandatory",
        "GPU pods select a tainted GPU pool",
        "Without a selector GPU pods may land on any GPU node; selecting an untainted pool lets other pods steal GPUs.",
        (),
        "stack",
        gpu_pods_select_pool,
    ),
    Rule(
        "MF-GPU-007",
        "gpu",
        "mandatory",
        "GPU node pools carry the nvidia.com/gpu NoSchedule taint",
        "Untainted GPU nodes fill up with CPU pods, leaving GPU pods unschedulable while GPUs are billed.",
        (),
        "resource",
        gpu_pool_tainted,
        POOL_TYPES,
    ),
    Rule(
        "MF-GPU-008",
        "gpu",
        "mandatory",
        "Production models run at least 2 replicas",
        "One replica is a single point of failure during node drains, zone outages and rollouts.",
        ("SageMaker.4",),
        "resource",
        prod_min_replicas,
        (*REPLICA_TYPES, u.SM_ENDPOINT_CONFIG),
        {
            "min_replicas": {"type": "number", "default": 2},
            "environments": {**ENVIRONMENTS_SCHEMA, "default": ["prod"]},
        },
    ),
]
