"""Kubernetes serving workloads: replica bounds, GPUs per replica, and on-prem GPU-hours.

Contract:
- Workloads are `kubernetes:apps/v1:Deployment` / `StatefulSet` (replicas bounded by the
  HPA or KEDA ScaledObject whose `scaleTargetRef` names them in the same namespace, else
  `spec.replicas` fixed) and `kubernetes:serving.kserve.io/v1beta1:InferenceService`
  (`predictor.minReplicas/maxReplicas`). GPUs per replica = Σ `nvidia.com/gpu` limits of
  the pod's containers; accelerator = nodeSelector `modelfleet.io/accelerator`.
- On an on-prem stack (`target == "onprem"`) a GPU workload costs
  `gpu_hour_usd[accelerator] × GPUs × replicas × 730` (a GPU without a rate → unpriced, with
  the fix); a CPU workload is listed at 0 because on-prem clusters have no internal CPU rate.
- On EKS/AKS the workload is NOT priced (its nodes are): it is returned as a `Workload` for
  GPU-share attribution of node pools, plus a `Free` entry saying where its cost is.
- During a KServe canary (`canaryTrafficPercent` set) an InferenceService is two workloads, the
  last rolled-out revision and the canary revision, each with the predictor's replica bounds
  (`inference_service_workloads`).
- An Argo Rollout (`kubernetes:argoproj.io/v1alpha1:Rollout`, `workloadRef` to a Deployment) is
  the workload: the referenced Deployment's pod template with the Rollout's autoscaler bounds; the
  Deployment itself is free (the Rollout scales it to 0). While a rollout runs two versions it is
  two workloads (`rollout_workloads`): a canary step's split of the replicas by replica ratio
  (`modelfleet.argo_rollouts.canary_replicas`, one surge pod), or a blue/green preview at full size
  (or `previewReplicaCount`) next to the active version. At weight 0 / preview 0 the new version
  runs no pods: one workload.
- `kubernetes:core/v1:Service` of type LoadBalancer on a cloud cluster → usage-dependent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from modelfleet.argo_rollouts import canary_replicas
from modelfleet.cost.context import Context, dec, dig
from modelfleet.cost.model import HOURS_PER_MONTH, ZERO, Component, Free, Unpriced
from modelfleet.cost.nodepools import ACCELERATOR_LABEL, POOL_LABEL
from modelfleet.cost.registry import maps, usage_component
from modelfleet.cost.rollouts import NEW, STABLE
from modelfleet.plan import PlannedResource

GPU = "nvidia.com/gpu"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
KEDA = "kubernetes:keda.sh/v1alpha1:ScaledObject"
CLOUD_CLUSTERS = ("eks", "aks")
KEDA_DEFAULT_MAX = Decimal(100)  # KEDA's documented maxReplicaCount default


@dataclass(frozen=True)
class Workload:
    """One serving workload's shape: what node pools need to attribute cost by GPU share."""

    resource: PlannedResource
    model: str | None
    gpus: int
    accelerator: str | None
    pool: str | None
    min_replicas: Decimal
    max_replicas: Decimal
    bounds_from: str
    slot: str | None = None  # during a KServe canary: "stable" (previous revision) or "new" (canary revision)


def _gpus(containers: list) -> int:
    total = Decimal(0)
    for c in containers:
        resources = c.get("resources") or {} if isinstance(c, dict) else {}
        value = (resources.get("limits") or {}).get(GPU, (resources.get("requests") or {}).get(GPU))
        total += dec(value, Decimal(0))
    return int(total)


def _scaler_index(ctx: Context) -> dict[tuple[str, str], tuple[Decimal, Decimal, str]]:
    """(namespace, target name) → (min, max, source), built once per context."""
    return ctx.memo("workload-scalers", lambda: _build_scaler_index(ctx))


def _build_scaler_index(ctx: Context) -> dict[tuple[str, str], tuple[Decimal, Decimal, str]]:
    index: dict[tuple[str, str], tuple[Decimal, Decimal, str]] = {}
    for hpa in ctx.by_type.get(HPA, []):
        spec = hpa.inputs.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        lo = dec(spec.get("minReplicas"), Decimal(1))
        index[(str(dig(hpa.inputs, "metadata", "namespace") or ""), str(ref.get("name")))] = (
            lo, dec(spec.get("maxReplicas"), lo), f"HPA {hpa.name}")
    for so in ctx.by_type.get(KEDA, []):
        spec = so.inputs.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        lo = dec(spec.get("minReplicaCount"), Decimal(0))
        index[(str(dig(so.inputs, "metadata", "namespace") or ""), str(ref.get("name")))] = (
            lo, dec(spec.get("maxReplicaCount"), KEDA_DEFAULT_MAX), f"KEDA ScaledObject {so.name}")
    return index


def deployment_workload(r: PlannedResource, ctx: Context) -> Workload:
    spec = r.inputs.get("spec") or {}
    pod = dig(spec, "template", "spec") or {}
    name = str(dig(r.inputs, "metadata", "name") or r.name)
    namespace = str(dig(r.inputs, "metadata", "namespace") or "")
    fixed = dec(spec.get("replicas"), Decimal(1))
    lo, hi, source = _scaler_index(ctx).get((namespace, name), (fixed, fixed, "spec.replicas"))
    selector = pod.get("nodeSelector") or {}
    return Workload(r, ctx.model_of(r), _gpus(pod.get("containers") or []), selector.get(ACCELERATOR_LABEL),
                    selector.get(POOL_LABEL), lo, max(hi, lo), source)


def _key(r: PlannedResource) -> tuple[str, str]:
    return str(dig(r.inputs, "metadata", "namespace") or ""), str(dig(r.inputs, "metadata", "name") or r.name)


def _rollout_refs(ctx: Context) -> dict[tuple[str, str], PlannedResource]:
    """(namespace, Deployment name) → the Rollout whose workloadRef names it."""
    def build() -> dict[tuple[str, str], PlannedResource]:
        return {(_key(r)[0], str(dig(r.inputs, "spec", "workloadRef", "name"))): r for r in ctx.by_type.get(ROLLOUT, [])
                if dig(r.inputs, "spec", "workloadRef", "kind") == "Deployment"}
    return ctx.memo("rollout-refs", build)


def rollout_workloads(r: PlannedResource, ctx: Context) -> list[Workload]:
    namespace, name = _key(r)
    ref = str(dig(r.inputs, "spec", "workloadRef", "name") or "")
    deployment = next((d for d in ctx.by_type.get(DEPLOYMENT, []) if _key(d) == (namespace, ref)), None)
    if deployment is None:
        return []
    pod = dig(deployment.inputs, "spec", "template", "spec") or {}
    fixed = dec(dig(r.inputs, "spec", "replicas"), Decimal(1))
    lo, hi, source = _scaler_index(ctx).get((namespace, name), (fixed, fixed, "spec.replicas"))
    hi = max(hi, lo)
    selector = pod.get("nodeSelector") or {}
    w = Workload(r, ctx.model_of(r), _gpus(pod.get("containers") or []), selector.get(ACCELERATOR_LABEL),
                 selector.get(POOL_LABEL), lo, hi, f"{source}, Argo Rollout")
    strategy = dig(r.inputs, "spec", "strategy") or {}
    canary, blue_green = strategy.get("canary"), strategy.get("blueGreen")
    weights = [step["setWeight"] for step in (canary or {}).get("steps") or [] if isinstance(step, dict) and "setWeight" in step]
    if weights and int(weights[0]) > 0:
        weight = int(weights[0])
        (new_lo, stable_lo), (new_hi, stable_hi) = canary_replicas(int(lo), weight), canary_replicas(int(hi), weight)
        # the stable pods are what the canary leaves of the count (the Service spreads requests over both)
        return [replace(w, slot=STABLE, min_replicas=Decimal(stable_lo), max_replicas=Decimal(stable_hi),
                        bounds_from=f"{w.bounds_from}, stable pods at setWeight {weight}"),
                replace(w, slot=NEW, min_replicas=Decimal(new_lo), max_replicas=Decimal(new_hi),
                        bounds_from=f"{w.bounds_from}, canary pods at setWeight {weight} (replica ratio)")]
    if blue_green and blue_green.get("autoPromotionEnabled") is False:
        preview = blue_green.get("previewReplicaCount")
        if preview is not None and int(preview) == 0:
            return [w]
        size = dec(preview, lo) if preview is not None else None
        return [replace(w, slot=STABLE, bounds_from=f"{w.bounds_from}, active version"),
                replace(w, slot=NEW, min_replicas=size if size is not None else lo, max_replicas=size if size is not None else hi,
                        bounds_from=f"{w.bounds_from}, preview version")]
    return [w]


def inference_service_workloads(r: PlannedResource, ctx: Context) -> list[Workload]:
    """One workload; two while `canaryTrafficPercent` is set: KServe then keeps the last rolled-out
    revision serving the rest of the traffic next to the new one (KServe 0.15 "Canary Rollout
    Strategy", Serverless mode), and Knative keeps each revision's own min..max replicas
    (Knative Serving "Configuring scale bounds": min-scale/max-scale are per revision, also at 0 %)."""
    w = inference_service_workload(r, ctx)
    if dig(r.inputs, "spec", "predictor", "canaryTrafficPercent") is None:
        return [w]
    return [replace(w, slot=STABLE, bounds_from=f"{w.bounds_from}, last rolled-out revision"),
            replace(w, slot=NEW, bounds_from=f"{w.bounds_from}, canary revision")]


def inference_service_workload(r: PlannedResource, ctx: Context) -> Workload:
    predictor = dig(r.inputs, "spec", "predictor") or {}
    containers = list(predictor.get("containers") or [])
    if isinstance(predictor.get("model"), dict):
        containers.append(predictor["model"])
    lo = dec(predictor.get("minReplicas"), Decimal(1))
    hi = dec(predictor.get("maxReplicas"), lo)
    selector = predictor.get("nodeSelector") or {}
    return Workload(r, ctx.model_of(r), _gpus(containers), selector.get(ACCELERATOR_LABEL), selector.get(POOL_LABEL),
                    lo, max(hi, lo), "predictor.minReplicas/maxReplicas")


def _onprem(w: Workload, ctx: Context) -> list:
    r = w.resource
    lo, expected, hi = ctx.replicas(w.model, w.min_replicas, w.max_replicas)
    if w.gpus == 0:
        per_replica = HOURS_PER_MONTH
        return [Component(r.type, r.name, "CPU pod-hours (on-prem)", "pod-hours", ZERO, per_replica * lo, per_replica * hi,
                          per_replica * expected, "free: on-prem clusters have no internal CPU rate (only gpu_hour_usd is set)",
                          model=w.model, note=f"replicas {lo}..{hi} ({w.bounds_from}); free — no internal CPU rate", slot=w.slot)]
    if not w.accelerator:
        return [Unpriced(r.type, r.name, f"{w.gpus} GPU(s) per replica but no {ACCELERATOR_LABEL} nodeSelector, "
                                         "so no gpu_hour_usd rate applies")]
    rate = ctx.gpu_rate(w.accelerator)
    if rate is None:
        return [Unpriced(r.type, r.name, f"no internal rate for {w.accelerator} GPUs. To fix: add "
                                         f"`gpu_hour_usd: {{{w.accelerator}: <USD per GPU-hour>}}` to the stack's modelfleet:cluster")]
    per_replica = HOURS_PER_MONTH * w.gpus
    names = ({STABLE: ", stable version's pods", NEW: ", new version's pods"} if w.resource.type == ROLLOUT
             else {STABLE: ", last rolled-out revision", NEW: ", canary revision"})
    revision = names.get(w.slot or "", "")
    return [Component(r.type, r.name, f"GPU-hours ({w.gpus}× {w.accelerator} per replica{revision})", "GPU-hours", rate,
                      per_replica * lo, per_replica * hi, per_replica * expected,
                      f"stack config modelfleet:cluster.gpu_hour_usd[{w.accelerator}]", model=w.model,
                      note=f"replicas {lo}..{hi} ({w.bounds_from})", slot=w.slot)]


def _workload_items(w: Workload, ctx: Context) -> list:
    r = w.resource
    if ctx.target == "onprem":
        return _onprem(w, ctx)
    if ctx.target in CLOUD_CLUSTERS:
        where = "its GPU node pool" if w.gpus else "the cluster's CPU nodes"
        return [w, Free(r.type, r.name, f"pods run on {where}; cost is attributed from the node pool, not counted twice")]
    return [Unpriced(r.type, r.name, f"Kubernetes workload on a cluster of kind {ctx.target or 'unknown'!r}: "
                                     "no node pool or internal rate to price it")]


@maps("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
def deployment(r: PlannedResource, ctx: Context) -> list:
    if r.type == DEPLOYMENT and _key(r) in _rollout_refs(ctx):
        rollout = _rollout_refs(ctx)[_key(r)]
        return [Free(r.type, r.name, f"holds the pod template of Argo Rollout {rollout.name}, which scales it to 0 "
                                     "(workloadRef); the pods are priced on the Rollout")]
    return _workload_items(deployment_workload(r, ctx), ctx)


def _merged(workloads: list[Workload], ctx: Context) -> list:
    items = [item for w in workloads for item in _workload_items(w, ctx)]
    frees = [i for i in items if isinstance(i, Free)]
    return [i for i in items if not isinstance(i, Free)] + frees[:1]


@maps("kubernetes:serving.kserve.io/v1beta1:InferenceService")
def inference_service(r: PlannedResource, ctx: Context) -> list:
    return _merged(inference_service_workloads(r, ctx), ctx)


@maps(ROLLOUT)
def argo_rollout(r: PlannedResource, ctx: Context) -> list:
    workloads = rollout_workloads(r, ctx)
    if not workloads:
        return [Unpriced(r.type, r.name, "its workloadRef names no Deployment in the plan, so there is no pod template to price")]
    return _merged(workloads, ctx)


@maps("kubernetes:core/v1:Service")
def service(r: PlannedResource, ctx: Context) -> list:
    if dig(r.inputs, "spec", "type") == "LoadBalancer" and ctx.target != "onprem":
        return [usage_component(r, ctx.model_of(r), "Cloud load balancer (hours + processed data)", "LB-hours",
                                "load balancer hours and data processed")]
    return [Free(r.type, r.name, "Kubernetes Service without a cloud load balancer")]
