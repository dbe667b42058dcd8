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
from dataclasses import replace
from typing import Any

from modelfleet import uris
from modelfleet.azureml_container import AzureMLContainer, container_for, secret_scope
from modelfleet.environment import AnyStack, AzureMLStack
from modelfleet.naming import fit, short_hash
from modelfleet.placed import NodeShape, Placement, default_image, placement_for
from modelfleet.plan import Diagnostic
from modelfleet.registry_auth import target_for
from modelfleet.rollout import RolloutPlan
from modelfleet.secret_refs import KEY_VAULT_URI
from modelfleet.spec import ModelSpec
from modelfleet.targets import Target
from modelfleet.targets.aks import accelerator_diagnostics, choose_offer, shape_key

ENDPOINT_MAX = 32
ENDPOINT_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
MAX_MIRROR_PERCENT = 50  # Azure ML mirrors at most half of the live traffic ("Mirror traffic" in the safe-rollout docs)
# blue/green: a tenth of live requests exercises the idle slot without doubling the load behind it
BLUE_GREEN_MIRROR_PERCENT = 10


def launcher_of(spec: ModelSpec, stack: AnyStack) -> tuple[AzureMLContainer, list[Diagnostic]]:
    """The container the deployment runs (see `modelfleet.azureml_container`) and what preview must say
    about it: a built-in runtime starts from a launcher image that `modelfleet build --push` makes."""
    repository = target_for(stack).repository(stack.stack, spec.name, stack.registry.kind)
    pin = stack.images.get(spec.name)
    # the launcher's base: the spec's image, the stack's per-runtime mirror, or the runtime's pinned default;
    # a per-model pin (written by the deploy workflow) is the launcher an earlier stage built and tested
    base = default_image(spec, stack) if pin is None else default_image(spec, stack.model_copy(update={
        "images": {k: v for k, v in stack.images.items() if k != spec.name}}))
    container = container_for(spec, repository, base, spec.name)
    if container.launcher is None or pin is not None:
        return (replace(container, image=pin) if pin else container), []
    if not target_for(stack).host:
        return container, [Diagnostic("error", spec.name, "serving.runtime",
                                      f"the {spec.serving.runtime} launcher image needs a registry Azure ML pulls from, and "
                                      f"stack {stack.stack!r} names none with a host. To fix: set modelfleet:registry to "
                                      "{kind: acr} or {kind: external, url: <host>/<path>}")]
    return container, [Diagnostic("warning", spec.name, "serving.runtime",
                                  f"Azure ML managed deployments have no command field: {spec.serving.runtime} starts from "
                                  f"launcher image {container.image} (FROM {container.launcher.base}, the runtime profile's "
                                  f"command, port {container.routes['liveness_route']['port']} and probes). Build and push it "
                                  f"before deploying: `modelfleet build {spec.name} --stack {stack.stack} --push`")]


def egress_diagnostics(spec: ModelSpec, stack: AnyStack) -> list[Diagnostic]:
    """Production deployments have no public egress, so a server cannot download from the Hugging Face Hub."""
    if not stack.production or not spec.model.uri.startswith("hf://"):
        return []
    return [Diagnostic("error", spec.name, "model.uri",
                       f"{spec.model.uri}: production Azure ML deployments have no public egress (egress_public_network_access "
                       "Disabled; a created workspace's managed network allows approved outbound only), so the "
                       f"{spec.serving.runtime} server cannot download from the Hugging Face Hub. To fix: copy the weights to "
                       "Blob storage and point model.uri at az://<account>/<container>/<path> (registered and mounted), "
                       "or serve the Hub model from a non-production stack")]


def secret_diagnostics(spec: ModelSpec, stack: AnyStack) -> list[Diagnostic]:
    """Key Vault secrets reach the server through Azure ML's secret injection, read with the endpoint
    identity: the stack grants it `Key Vault Secrets User` on the one secret when it knows the vault's id."""
    out: list[Diagnostic] = []
    for env, logical in sorted(spec.serving.secret_env.items()):
        ref = stack.secrets.get(logical)
        uri = ref.key_vault if ref is not None else None
        match = KEY_VAULT_URI.match(uri) if uri else None
        if uri is None or match is None:
            continue  # unmapped or another store: modelfleet.secrets reports it
        field = f"serving.secret_env.{env}"
        if secret_scope(uri, stack.artifact_store.key_vaults) is None:
            out.append(Diagnostic("warning", spec.name, field,
                                  f"Azure ML reads {logical!r} from Key Vault {match['vault']!r} with the endpoint's identity, which "
                                  f"needs Key Vault Secrets User on that secret; stack {stack.stack!r} does not give the vault's "
                                  "resource id, so it grants nothing and the deployment is refused unless the role is granted "
                                  f"elsewhere. To fix: add modelfleet:artifact_store.key_vaults.{match['vault']}: <its resource id> "
                                  "(the stack then grants the role on this one secret)"))
        if not match["version"]:
            out.append(Diagnostic("warning", spec.name, field,
                                  f"Azure ML's secret injection documents versioned Key Vault references "
                                  f"(https://<vault>.vault.azure.net/secrets/<name>/<version>); {logical!r} names no version. "
                                  f"To fix: pin the version in modelfleet:secrets.{logical}.key_vault"))
    return out


def endpoint_name(stack: str, model: str) -> str:
    """Deterministic, region-unique endpoint name: the model name plus a hash of stack and model."""
    return fit(f"{model}-{short_hash(f'{stack}/{model}')}", ENDPOINT_MAX, min_length=3, must_start_alpha=True)


def deployment_name(version: str) -> str:
    """The online deployment serving `version`: named after it, so promote keeps the new slot as it is
    and deletes the old one (a role name like "green" would have to be renamed, i.e. replaced).
    Names follow the endpoint rule (3-32, a letter first, letters, digits and hyphens)."""
    return fit(f"v{version}", ENDPOINT_MAX, min_length=3, must_start_alpha=True)


def traffic_plan(plan: RolloutPlan) -> tuple[dict[str, int], dict[str, int]]:
    """(traffic, mirror traffic) by deployment name for the model's rollout.

    No rollout (first deploy, steady, or a rolling update): one deployment takes everything.
    canary: the new version takes canary_percent of live traffic, the stable one the rest.
    blue_green: the new version gets no live traffic until promoted; BLUE_GREEN_MIRROR_PERCENT of
    requests is mirrored to it (responses discarded) so it is exercised before the switch.
    aborted: the stable version takes everything, the new one stays at 0 % (not mirrored).
    """
    traffic = {deployment_name(version): share for version, share in plan.traffic.items()}
    mirror = {deployment_name(plan.version): BLUE_GREEN_MIRROR_PERCENT} if (
        plan.two_slots and plan.strategy == "blue_green" and plan.phase == "in_progress") else {}
    return traffic, mirror


def slot_bounds(plan: RolloutPlan, version: str, low: int, high: int) -> tuple[int, int]:
    """Instance bounds of the deployment serving `version`: the stable one (or the only one) keeps
    the spec's bounds; a canary is sized to its share but keeps as many instances as the stable slot
    up to two, so a model that must survive a zone or instance loss (min ≥ 2) still does; a
    blue/green twin runs at full size, ready for the switch; an aborted version keeps one instance
    (Azure ML's minimum) with no traffic."""
    if not plan.two_slots or version != plan.version:
        return low, high
    if plan.phase == "aborted":
        return 1, 1
    if plan.strategy == "canary":
        floor = max(1, min(low, 2))
        return floor, max(floor, math.ceil(high * plan.canary_percent / 100))
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
        names = {"endpoint": endpoint, "model": spec.name, "environment": f"{spec.name}-serving"}
        container, problems = launcher_of(spec, stack)
        diagnostics += problems + secret_diagnostics(spec, stack) + egress_diagnostics(spec, stack)
        acc = spec.resources.accelerator
        # the instance type as a shape, so capacity/quota views group endpoints like node pools
        shape = NodeShape(key=shape_key(offer, False), accelerator=offer.accelerator, gpus_per_node=offer.gpu_count,
                          offer=offer) if offer is not None and acc is not None else None
        return placement_for(spec, stack, self.NAME, name=endpoint, namespace="",
                             accelerator=offer.accelerator if offer else (acc.name if acc else None),
                             gpus_per_replica=acc.count if acc else 0,
                             # managed endpoints never run fewer than one instance; an error above says so when asked for 0
                             min_replicas=max(a.floor, 1), max_replicas=max(a.max_replicas, 1),
                             shape=shape, offer=offer, names=names, diagnostics=diagnostics, image=container.image)

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
        if spec.monitoring.enabled:
            out.append(Diagnostic("warning", spec.name, "monitoring.alerts.error_rate_percent",
                                  "Azure Monitor metric alerts cannot divide one metric by another, so the error-rate alert "
                                  f"fires on 5xx responses per minute: {spec.monitoring.alerts.error_rate_percent:g} % of the "
                                  "request rate each deployment is sized for at its minimum instance count (documented "
                                  "fallback; the alert's description shows the number). An endpoint with far less traffic "
                                  "can fail a larger share of requests without paging: the p99-latency alert and the "
                                  "endpoint's traffic logs (AmlOnlineEndpointTrafficLog) cover that case"))
        if spec.serving.args and spec.serving.runtime == "custom":
            out.append(Diagnostic("warning", spec.name, "serving.args",
                                  "Azure ML runs a custom image's own entrypoint and has no command or arguments field, so "
                                  "serving.args are not passed on this stack. To fix: bake them into the image's entrypoint "
                                  "(or read them from serving.env), or drop them for this environment"))
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
        return self._egress(stack, placements)

    @staticmethod
    def _egress(stack: AzureMLStack, placements: list[Placement]) -> list[Diagnostic]:
        """An existing production workspace: deployments lose public egress; say what they must still reach."""
        if not stack.production or stack.workspace.create or not placements:
            return []
        reach = [f"storage account {host} (blob)" for host in sorted({
            uris.parse(p.artifact.fetch_uri).host for p in placements
            if p.artifact is not None and p.artifact.fetch_uri.startswith("az://")})]
        if stack.registry.kind != "external" or stack.registry.url:
            reach.insert(0, f"registry {target_for(stack).host or stack.registry.kind}")
        return [Diagnostic("warning", "", "modelfleet:workspace",
                           f"production deployments in workspace {stack.workspace.name!r} get no public egress "
                           "(egress_public_network_access Disabled). They must still reach " + ", ".join(reach) + ": on a "
                           "workspace with a managed virtual network, approve them with private-endpoint outbound rules "
                           "(managed_network.outbound_rules of type private_endpoint, `az ml workspace update --file`); on a workspace without one, the "
                           "deployment reaches only the workspace's own registry and storage, so link the stack's registry "
                           "to the workspace and register the weights from its storage — or let the stack create the "
                           "workspace (workspace.create: true), which adds those rules itself")]


    def rollout_wiring(self, plan: RolloutPlan, spec: ModelSpec, stack: AnyStack) -> dict[str, Any]:
        _, mirror = traffic_plan(plan)
        new, old = deployment_name(plan.version), deployment_name(plan.stable_version or plan.version)
        wiring: dict[str, Any] = {"deployments": {version: deployment_name(version) for version in plan.slots},
                                  "mirror": {plan.version: mirror[new]} if mirror else {}}
        if not plan.two_slots:
            return {**wiring, "rollback": {"automatic": False, "by": "a rolling update in place: Azure ML replaces the "
                                           "deployment's instances; restore the old version in the spec to go back"}}
        signals = ", ".join(plan.rollback_on)
        wiring["rollback"] = {
            "automatic": False,
            "by": (f"Azure Monitor metric alerts on deployment {new} ({signals}) notify the action group; Azure ML has no "
                   f"automatic rollback: run `modelfleet abort {plan.model} --stack {plan.stack}`") if plan.rollback_on and
                  spec.monitoring.enabled else "nothing: no rollback_on alerts (monitoring disabled or rollback_on empty)"}
        wiring["promote"] = f"all traffic to {new}; deployment {old} is deleted (one slot remains)"
        wiring["abort"] = f"all traffic to {old}; {new} stays at 0 % with one instance until the spec's version changes"
        return wiring

    def rollout_diagnostics(self, plan: RolloutPlan, spec: ModelSpec, stack: AnyStack) -> list[Diagnostic]:
        if not (plan.two_slots and plan.phase == "in_progress" and plan.rollback_on):
            return []
        return [Diagnostic("warning", spec.name, "rollout.rollback_on",
                           "Azure ML has no automatic rollback: the rollback_on conditions become metric alerts on deployment "
                           f"{deployment_name(plan.version)} that notify the stack's action group; the on-call runs "
                           f"`modelfleet abort {spec.name} --stack {stack.stack}` (all traffic back to {plan.stable_version})")]
