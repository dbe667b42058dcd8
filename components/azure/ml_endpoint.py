"""`AzureMLEndpoint`: one model as an Azure ML managed online endpoint.

Children (all tagged with the placement's tags):
- model: `ModelContainer` + `ModelVersion` for az:// URIs (registered from Blob and
  mounted into the container); models:/ URIs already live in the workspace's MLflow
  registry and are referenced; hf:// (vLLM/TGI) is downloaded by the server itself.
- environment: `EnvironmentContainer` + `EnvironmentVersion` with the image the deployment runs
  (`modelfleet.azureml_container`: for built-in runtimes the launcher image that runs the runtime
  profile's command; Azure ML has no command field) and the profile's liveness/readiness/scoring
  routes and port (version = hash of image and routes: immutable). The deployment's environment
  variables carry MODEL_DIR (where the weights are mounted) and the spec's env.
- `OnlineEndpoint`: Entra ID tokens (`AADToken`), system-assigned identity, public network access
  Disabled unless `network.public`. Before any deployment starts, the stack grants that identity
  exactly what the model reads: AcrPull on the stack's registry, Storage Blob Data Reader on the
  model's Blob container (az://; scope `<account id>/blobServices/default/containers/<container>`),
  Key Vault Secrets User on each Key Vault secret in `serving.secret_env` (scope
  `<vault id>/secrets/<name>`, vault ids from `modelfleet:artifact_store.key_vaults`). Those secrets
  reach the server as `${{keyvault:<secret URI>}}` environment variables, which Azure ML's secret
  injection fills with the endpoint identity: no value passes through Pulumi.
- one `OnlineDeployment` per version running, named after it (`targets.azureml.deployment_name`):
  one outside a rollout; during one (the stack's `modelfleet:stable` differs from the spec's
  version) the stable deployment — left as an earlier run deployed it (`ignore_changes`) — and
  the new one, with the traffic split of `targets.azureml.traffic_plan`. Promote drops the stable
  deployment from the program, so Pulumi deletes it after the traffic moved. Each has the instance
  type from placement, probes from `serving.health`, request settings, and an Azure Monitor
  `AutoscaleSetting` (see `components.azure.autoscale`). Azure ML has no automatic rollback: the
  rollout's `rollback_on` alerts on the new deployment say to run `modelfleet abort`.
- monitoring (`monitoring.enabled`, the default): per deployment, Application Insights
  (`appInsightsEnabled`, the workspace's component), payload capture at
  `data_capture.sample_percent`, and three Azure Monitor `MetricAlert`s — 5xx, p99 latency,
  GPU/CPU saturation — notifying the stack's action group (see `components.azure.alerts`).
  `enabled: false` turns all of these off.
- the traffic map: Azure ML rejects traffic to deployments that do not exist yet, so the
  endpoint is created without traffic and a follow-up ARM deployment (`-traffic`,
  incremental) re-applies the same endpoint with `traffic`/`mirrorTraffic` after the
  deployments are up. The endpoint resource ignores those two fields: the follow-up owns them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.azure import alerts, autoscale
from components.azure.ml_model import environment_version, model_reference
from components.azure.ml_rollout import VERSION_TAG, rollback_alerts
from components.azure.registry import acr_pull
from components.azure.workload_identity import blob_reader, container_scope, secret_reader
from modelfleet import uris
from modelfleet.azureml_container import AzureMLContainer, container_for, secret_references, secret_scope
from modelfleet.naming import fit
from modelfleet.placement import Placement
from modelfleet.targets.azureml import deployment_name, slot_bounds, traffic_plan

ENDPOINT_API_VERSION = "2025-12-01"  # the API version azure-native 3.x uses for online endpoints
LLM_RUNTIMES = ("vllm", "tgi")


@dataclass(frozen=True)
class AzureMLEndpointArgs:
    """placement: the model on this stack; workspace_name/resource_group/location: the
    workspace; registry_id: ACR to grant AcrPull on (None = none); production: protect the
    endpoint (default False). The deployments follow `placement.rollout` (`modelfleet.rollout`)."""

    placement: Placement
    workspace_name: pulumi.Input[str]
    resource_group: pulumi.Input[str]
    location: str
    registry_id: pulumi.Input[str] | None = None
    production: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    action_group_id: str | None = None
    storage_accounts: dict[str, str] = field(default_factory=dict)  # az:// account name -> resource id
    key_vaults: dict[str, str] = field(default_factory=dict)  # vault name -> resource id


def _container(p: Placement) -> AzureMLContainer:
    """Environment variables and routes of the container placement chose; the image is the placement's
    (the launcher `modelfleet build` pushes, a per-model pin, or a custom image): routes and variables
    do not depend on it."""
    return replace(container_for(p.spec, "", p.image, p.names["model"]), image=p.image, launcher=None)


def _at_version(version: str) -> Callable[[str], str]:
    """A model version id's sibling at `version`."""
    return lambda mid: mid.rsplit("/", 1)[0] + f"/{version}"


class AzureMLEndpoint(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: AzureMLEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:azure:AzureMLEndpoint", name, None, opts)
        p, spec = args.placement, args.placement.spec
        child = pulumi.ResourceOptions(parent=self)
        where: dict[str, Any] = {"resource_group_name": args.resource_group, "workspace_name": args.workspace_name}
        assert p.offer is not None  # placement errors stop the program before this
        model_id = model_reference(name, p, where, child)
        container = _container(p)
        env_id = environment_version(name, p, container, where, child)
        assert p.rollout is not None  # placement_for always sets it
        plan = p.rollout
        traffic, mirror = traffic_plan(plan)
        endpoint_name = p.names["endpoint"]
        endpoint_props = {"auth_mode": "AADToken", "public_network_access": "Enabled" if spec.network.public else "Disabled",
                          "description": spec.description or spec.name}
        endpoint = azure_native.machinelearningservices.OnlineEndpoint(  # type: ignore[call-overload]
            f"{name}-endpoint", endpoint_name=endpoint_name, location=args.location, kind="Managed",
            identity={"type": "SystemAssigned"}, properties=endpoint_props, tags=p.tags, **where,
            # traffic is set by the follow-up `-traffic` step once the deployments exist
            opts=pulumi.ResourceOptions(parent=self, protect=args.production,
                                        ignore_changes=["properties.traffic", "properties.mirrorTraffic"]))
        principal = endpoint.identity.apply(lambda i: (i.principal_id if i else None) or "")
        pulls = [acr_pull(f"{name}-acr-pull", args.registry_id, principal, child)] if args.registry_id is not None else []
        pulls += self._grants(name, p, principal, args.key_vaults, args.storage_accounts, child)
        uses = p.artifact.secrets if p.artifact is not None else ()
        env_vars = {**container.env, **args.extra_env, **secret_references(uses)}
        deployments: list[pulumi.Resource] = []
        for version in plan.slots:
            slot = deployment_name(version)
            stable_twin = plan.two_slots and version != plan.version
            low, high = slot_bounds(plan, version, p.min_replicas, p.max_replicas)
            slot_model = model_id.apply(_at_version(version)) if stable_twin and model_id is not None and \
                spec.model.uri.startswith("az://") else model_id
            deployment = self._deployment(f"{name}-{slot}", slot, version, endpoint_name, p, where, args.location, low,
                                          slot_model, env_id, env_vars, depends_on=[endpoint, *pulls], keep=stable_twin,
                                          production=args.production)
            share = traffic[slot] / 100 if traffic[slot] else 1.0  # a 0 % twin is sized for all traffic
            rule = autoscale.metric_rule(spec.autoscaling.metric, spec.autoscaling.target, share)
            azure_native.monitor.AutoscaleSetting(
                f"{name}-{slot}-autoscale", autoscale_setting_name=f"{endpoint_name}-{slot}-autoscale",
                resource_group_name=args.resource_group, location=args.location, enabled=True,
                target_resource_uri=deployment.id,
                profiles=[autoscale.profile(low, high, autoscale.rules(rule, deployment.id, endpoint.id, slot))],
                tags={**p.tags, VERSION_TAG: version}, opts=child)
            rules = alerts.alert_rules(spec, slot, low, gpu=p.gpus_per_replica > 0)
            if plan.two_slots and version == plan.version:
                rules = rollback_alerts(rules, plan)  # the rollout's rollback conditions, on the new deployment
            for alert in rules:
                alerts.metric_alert(f"{name}-{slot}-{alert.role}-alert", f"{endpoint_name}-{slot}-{alert.role}", alert,
                                    endpoint.id if alert.on_endpoint else deployment.id, args.resource_group,
                                    args.action_group_id, {**p.tags, VERSION_TAG: version}, child)
            deployments.append(deployment)
        self._traffic(name, endpoint_name, p, args, endpoint_props, traffic, mirror, deployments)
        self.endpoint_name = endpoint.name
        self.url = pulumi.Output.from_input(f"https://{endpoint_name}.{args.location}.inference.ml.azure.com/score")
        self.register_outputs({"url": self.url, "endpoint_name": self.endpoint_name})

    @staticmethod
    def _grants(name: str, p: Placement, principal: pulumi.Output[str], key_vaults: dict[str, str],
                storage_accounts: dict[str, str], opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """What this model's endpoint identity reads, and nothing more: its Blob container (az:// weights)
        and each Key Vault secret its secret_env names (when the stack gives the vault's id)."""
        out: list[pulumi.Resource] = []
        a = p.artifact
        if a is not None and a.fetch_uri.startswith("az://") and a.method == "registered-model":
            parsed = uris.parse(a.fetch_uri)
            account_id = storage_accounts[parsed.host]  # placement errors when the stack does not list it
            out.append(blob_reader(f"{name}-blob-reader", principal, container_scope(account_id, parsed.container), opts))
        for use in (a.secrets if a is not None else ()):
            scope = secret_scope(use.ref.key_vault or "", key_vaults)
            if scope is not None:
                out.append(secret_reader(f"{name}-secret-{use.logical}", principal, scope, opts))
        return out

    def _deployment(self, name: str, slot: str, version: str, endpoint_name: str, p: Placement, where: dict[str, Any],
                    location: str, capacity: int, model_id: pulumi.Input[str] | None, env_id: pulumi.Input[str],
                    env_vars: dict[str, str], depends_on: list[pulumi.Resource],
                    keep: bool = False, production: bool = False) -> azure_native.machinelearningservices.OnlineDeployment:
        spec = p.spec
        assert p.offer is not None
        health = spec.serving.health
        ml = azure_native.machinelearningservices

        def probe(failures: int) -> Any:
            return ml.ProbeSettingsArgs(initial_delay=f"PT{health.initial_delay_s}S", period="PT10S", timeout="PT5S",
                                        failure_threshold=failures, success_threshold=1)

        # `properties` is a union (managed | kubernetes): only the typed args class gets wire names
        properties = ml.ManagedOnlineDeploymentArgs(
            endpoint_compute_type="Managed", instance_type=p.offer.instance_type,
            environment_id=env_id, environment_variables=env_vars, model=model_id,
            liveness_probe=probe(30), readiness_probe=probe(3),
            request_settings=ml.OnlineRequestSettingsArgs(
                max_concurrent_requests_per_instance=autoscale.max_concurrent_requests(spec.autoscaling.metric, spec.autoscaling.target),
                # managed endpoints cap a request at 180 s; LLM generations need the headroom
                request_timeout="PT180S" if spec.serving.runtime in LLM_RUNTIMES else "PT60S"),
            scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),  # Azure Monitor autoscale drives the count
            app_insights_enabled=spec.monitoring.enabled,  # the workspace's Application Insights component
            # production: no public egress. On a workspace without a managed network this flag gives the deployment
            # private endpoints to the workspace's registry, storage and workspace only; with a managed network the
            # flag no longer applies and the workspace's approved outbound rules govern ("Network isolation with
            # managed online endpoints", azure-ai-docs how-to-secure-online-endpoint.md)
            egress_public_network_access="Disabled" if production else "Enabled",
            data_collector=alerts.data_collector(spec),
            description=f"{spec.name} {version} ({'stable' if keep else 'serving'})",
        )
        # the AutoscaleSetting owns the instance count after creation; the stable slot of a rollout
        # was deployed by an earlier run with its own image, weights and settings, and the program
        # (which knows only the new version's) must leave it exactly as it runs
        ignore = ["sku.capacity", "properties"] if keep else ["sku.capacity"]
        return azure_native.machinelearningservices.OnlineDeployment(
            name, deployment_name=slot, endpoint_name=endpoint_name, location=location,
            sku={"name": "Default", "capacity": max(capacity, 1)}, properties=properties,
            tags={**p.tags, VERSION_TAG: version}, **where,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, ignore_changes=ignore))

    def _traffic(self, name: str, endpoint_name: str, p: Placement, args: AzureMLEndpointArgs, endpoint_props: dict[str, Any],
                 traffic: dict[str, int], mirror: dict[str, int], deployments: list[pulumi.Resource]) -> None:
        props = {"authMode": endpoint_props["auth_mode"], "publicNetworkAccess": endpoint_props["public_network_access"],
                 "description": endpoint_props["description"], "traffic": traffic}
        if mirror:
            props["mirrorTraffic"] = mirror
        template = pulumi.Output.from_input(args.workspace_name).apply(lambda ws: {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": [{"type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
                           "apiVersion": ENDPOINT_API_VERSION, "name": f"{ws}/{endpoint_name}", "location": args.location,
                           "kind": "Managed", "identity": {"type": "SystemAssigned"}, "tags": p.tags, "properties": props}],
        })
        azure_native.resources.Deployment(  # type: ignore[call-overload]
            f"{name}-traffic", deployment_name=fit(f"{endpoint_name}-traffic", 64),
            resource_group_name=args.resource_group,
            properties={"mode": "Incremental", "template": template}, tags=p.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=deployments))
