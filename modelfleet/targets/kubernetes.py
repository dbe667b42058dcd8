"""What each Kubernetes serving engine can and cannot honour, shared by onprem, EKS and AKS.

`engine_diagnostics(spec, engine)` returns errors where a promise would be broken and
warnings where a documented fallback applies. The fallbacks are listed in the README's
capability table.
"""

from __future__ import annotations

from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec

# metric → (KServe scaleMetric, or None when KServe cannot scale on it)
KSERVE_METRICS = {"concurrency": "concurrency", "rps": "rps", "cpu_utilization": "cpu",
                  "gpu_utilization": None, "queue_depth": None}
KEDA_METRICS = ("concurrency", "rps", "gpu_utilization", "queue_depth")


def engine_diagnostics(spec: ModelSpec, engine: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    a, r = spec.autoscaling, spec.rollout

    def add(level: str, field: str, message: str) -> None:
        out.append(Diagnostic(level, spec.name, field, message))  # type: ignore[arg-type]

    if engine == "deployment":
        if r.strategy in ("canary", "blue_green"):
            add("warning", "rollout.strategy",
                f"{r.strategy} has no native mapping on plain Deployments: falls back to a rolling update that never drops "
                f"below min replicas (maxUnavailable 0, maxSurge 1) with a {r.bake_minutes}-minute progress deadline; "
                "no traffic split and no automatic rollback. To keep the promise use serving: kserve")
        if a.floor == 0 and a.metric == "cpu_utilization":
            add("error", "autoscaling.scale_to_zero",
                "scale-to-zero needs KEDA, but metric cpu_utilization scales through the HPA, which keeps ≥ 1 replica. "
                "To fix: use metric concurrency, rps or queue_depth, or set min_replicas ≥ 1")
    elif engine == "kserve":
        if KSERVE_METRICS[a.metric] is None:
            add("error", "autoscaling.metric",
                f"KServe's autoscaler cannot scale on {a.metric}. To fix: use concurrency, rps or cpu_utilization, "
                "or serving: deployment (KEDA scales on GPU utilization and queue depth)")
        if r.strategy == "blue_green":
            add("warning", "rollout.strategy",
                "KServe has no blue/green switch: the new revision is deployed with canaryTrafficPercent 0 and promoted "
                "to 100 % in one step after the bake time (documented fallback)")
        if a.floor == 0 and a.metric == "cpu_utilization":
            add("error", "autoscaling.scale_to_zero",
                "KServe scales to zero only in Serverless mode on concurrency or rps. To fix: use metric concurrency or rps")
    return out
