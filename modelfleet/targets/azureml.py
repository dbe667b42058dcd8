"""Azure ML managed online endpoints: one endpoint per model, deployments per rollout slot.

Placement picks the cheapest VM size that managed online endpoints accept (catalog platform
"azureml") in the stack's location that fits one replica; endpoints bill on-demand only, so
`spot` is ignored with a warning. What the platform cannot honour is declared in
`UNSUPPORTED` and reported as an error naming the alternative. Monitoring is honoured
with one documented fallback, reported as a warning: the error-rate alert counts 5xx
responses per minute (Azure Monitor metric alerts have no ratio), see `components.azure.alerts`.
Alert destinations are checked for every platform in `modelfleet.alert_destinations`.

Names: endpoint names are 3-32 characters (`^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$`) and
unique per Azure region across all tenants (the scoring host is
`<name>.<region>.inference.ml.azure.com`), so they always carry a hash of stack and model.
"""

from __future__ import annotations

import math
import re

from modelfleet.environment import AnyStack, AzureMLStack
from modelfleet.naming import fit, short_hash
from modelfleet.placed import NodeShape, Placement, placement_for
from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec
from modelfleet.targets import Target
from modelfleet.targets.aks import accelerator_diagnostics, choose_offer, shape_key

ENDPOINT_MAX = 32
ENDPOINT_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
STABLE, CANDIDATE = "blue", "green"
MAX_MIRROR_PERCENT = 50
AZURE_READABLE = ("az://", "models:/")  # Azure ML mirrors at most half of the live traffic


def endpoint_name(stack: str, model: str) -> str:
    """Deterministic, region-unique endpoint name: the model name plus a hash of stack and model."""
    return fit(f"{model}-{short_hash(f'{stack}/{model}')}", ENDPOINT_MAX, min_length=3, must_start_alpha=True)


def traffic_plan(strategy: str, canary_percent: int) -> tuple[dict[str, int], dict[str, int]]:
    """(traffic, mirror traffic) per deployment slot for a rollout strategy.

    rolling: one deployment takes everything; Azure ML replaces its instances in place.
    canary: the new version ("green") takes canary_percent of live traffic.
    blue_green: "green" runs at full size with no live traffic until promoted; a copy of
    canary_percent (≤ 50) of requests is mirrored to it so it is exercised before the switch.
    """
    if strategy == "rolling":
        return {STABLE: 100}, {}
    if strategy == "canary":
        return {STABLE: 100 - canary_percent, CANDIDATE: canary_percent}, {}
    return {STABLE: 100, CANDIDATE: 0}, {CANDIDATE: min(canary_percent, MAX_MIRROR_PERCENT)}


def candidate_bounds(strategy: str, canary_percent: int, low: int, high: int) -> tuple[int, int]:
    """Instance bounds of the "green" slot: a canary sized to its share, a blue/green twin at full size.
    A canary keeps as many instances as the stable slot up to two, so a model that must survive a
    zone or instance loss (min ≥ 2) still does while its canary runs."""
    if strategy == "canary":
        floor = max(1, min(low, 2))
        return floor, max(floor, math.ceil(high * canary_percent / 100))
    return max(low, 1), high


class AzureMLTarget(Target):
    NAME = "azureml"
    UNSUPPORTED = {
        "scale_to_zero": "Azure ML managed online endpoints keep at least one instance per deployment "
                         "(they have no scale-to-zero and min instance count is 1)",
        "queue_depth": "Azure Monitor exposes no request-queue metric for managed online endpoints",
        "auth_none": "managed online endpoints always authenticate callers (key, AML token or Entra ID token)",
        "spot": "managed online endpoints bill on-demand only; there is no spot/low-priority capacity",
    }

    def place(self, spec: ModelSpec, stack: AnyStack) -> Placement:
        assert isinstance(stack, AzureMLStack)
        a = spec.autoscaling
        diagnostics = self._limits(spec)
        diagnostics += accelerator_diagnostics(spec, "Azure ML")
        offer = None
        if not any(d.field == "resources.accelerator" and d.level == "error" for d in diagnostics):
            offer, problems = choose_offer(spec, stack, "azureml", spot=False)
            diagnostics += problems
        endpoint = endpoint_name(stack.stack, spec.name)
        traffic, _ = traffic_plan(spec.rollout.strategy, spec.rollout.canary_percent)
        names = {"endpoint": endpoint, "model": spec.name, "environment": f"{spec.name}-serving",
                 **{f"deployment_{slot}": slot for slot in traffic},
                 **{f"autoscale_{slot}": f"{endpoint}-{slot}-autoscale" for slot in traffic}}
        acc = spec.resources.accelerator
        # the instance type as a shape, so capacity/quota views group endpoints like node pools
        shape = NodeShape(key=shape_key(offer, False), accelerator=offer.accelerator, gpus_per_node=offer.gpu_count,
                          offer=offer) if offer is not None and acc is not None else None
        return placement_for(spec, stack, self.NAME, name=endpoint, namespace="",
                             accelerator=offer.accelerator if offer else (acc.name if acc else None),
                             gpus_per_replica=acc.count if acc else 0,
                             # managed endpoints never run fewer than one instance; an error above says so when asked for 0
                             min_replicas=max(a.floor, 1), max_replicas=max(a.max_replicas, 1),
                             shape=shape, offer=offer, names=names, diagnostics=diagnostics)

    def _limits(self, spec: ModelSpec) -> list[Diagnostic]:
        a, out = spec.autoscaling, []
        if a.scale_to_zero or a.min_replicas == 0:
            field = "autoscaling.scale_to_zero" if a.scale_to_zero else "autoscaling.min_replicas"
            out.append(Diagnostic("error", spec.name, field,
                                  f"{self.UNSUPPORTED['scale_to_zero']}. To fix: set min_replicas ≥ 1 (and scale_to_zero: false) "
                                  "for this environment, or serve the model on AKS with KServe (platform: kubernetes, "
                                  "cluster.kind: aks, serving: kserve), which scales to zero"))
        if a.metric == "queue_depth":
            out.append(Diagnostic("error", spec.name, "autoscaling.metric",
                                  f"{self.UNSUPPORTED['queue_depth']}. To fix: scale on concurrency, rps, gpu_utilization or "
                                  "cpu_utilization, or serve on AKS with KEDA (serving: deployment)"))
        if spec.network.auth == "none":
            out.append(Diagnostic("error", spec.name, "network.auth",
                                  f"{self.UNSUPPORTED['auth_none']}. To fix: set network.auth: token (callers present an "
                                  "Entra ID token), or serve on AKS where an unauthenticated Service is possible"))
        if spec.spot:
            out.append(Diagnostic("warning", spec.name, "spot", f"{self.UNSUPPORTED['spot']}; the model runs on on-demand instances"))
        if not spec.model.uri.startswith(AZURE_READABLE):
            out.append(Diagnostic("warning", spec.name, "model.uri",
                                  f"Azure ML registers and mounts models only from Azure storage (az://) or its MLflow registry "
                                  f"(models:/); {spec.model.uri.split('://')[0]}:// weights are not registered and the serving "
                                  "container gets MODEL_URI to download them with its own credentials (documented fallback). "
                                  "To have Azure ML mount them: copy the weights to Blob storage and use az://"))
        if spec.monitoring.enabled:
            out.append(Diagnostic("warning", spec.name, "monitoring.alerts.error_rate_percent",
                                  "Azure Monitor metric alerts cannot divide one metric by another, so the error-rate alert "
                                  f"fires on 5xx responses per minute: {spec.monitoring.alerts.error_rate_percent:g} % of the "
                                  "request rate each deployment is sized for at its minimum instance count (documented "
                                  "fallback; the alert's description shows the number). An endpoint with far less traffic "
                                  "can fail a larger share of requests without paging: the p99-latency alert and the "
                                  "endpoint's traffic logs (AmlOnlineEndpointTrafficLog) cover that case"))
        if spec.serving.args:
            out.append(Diagnostic("warning", spec.name, "serving.args",
                                  "Azure ML runs a custom container's own entrypoint and has no arguments field: serving.args "
                                  "reach the container as the SERVING_ARGS environment variable, which the image's entrypoint "
                                  "must expand (images from `modelfleet build` do); otherwise bake them into the image"))
        return out

    def check_stack(self, stack: AnyStack, placements: list[Placement]) -> list[Diagnostic]:
        assert isinstance(stack, AzureMLStack)
        ws = stack.workspace
        if not ws.name:
            return [Diagnostic("error", "", "modelfleet:workspace.name",
                               "the Azure ML workspace needs a name (the existing one, or the one to create). "
                               "To fix: set modelfleet:workspace.name")]
        if not ws.create and not ws.resource_group:
            return [Diagnostic("error", "", "modelfleet:workspace.resource_group",
                               "an existing workspace is looked up by name and resource group. "
                               "To fix: set modelfleet:workspace.resource_group, or create: true")]
        return []

