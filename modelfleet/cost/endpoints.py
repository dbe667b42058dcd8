"""Managed endpoints and registries: SageMaker, Azure ML online deployments, ACR.

Contract:
- `aws:sagemaker/endpointConfiguration:EndpointConfiguration`: each `productionVariants[]`
  entry costs `instanceType` (catalog `sagemaker`) × instance-hours, bounded by the
  `aws:appautoscaling/target:Target` whose `resourceId` is
  `endpoint/<endpointName>/variant/<variantName>` (`minCapacity`/`maxCapacity`); without a
  target, `initialInstanceCount` fixed. With managed instance scaling (inference components)
  `managedInstanceScaling.minInstanceCount/maxInstanceCount` bound it; a floor of 0 prices the
  minimum at $0 and says so. Serverless variants depend on usage; an `asyncInferenceConfig`
  adds its S3 requests and results as a usage-dependent component.
- `azure-native:machinelearningservices:OnlineDeployment`: `properties.instanceType` (2.x:
  `onlineDeploymentProperties`; catalog `azureml`) × `sku.capacity`, or the bounds of the
  `azure-native:monitor:AutoscaleSetting` (2.x: `insights`) targeting it
  (`profiles[0].capacity.minimum/maximum`): by target URI, else the setting named after it. Kubernetes-compute deployments run
  on a cluster whose nodes are priced, so they are free here.
- `azure-native:containerregistry:Registry`: a daily SKU fee plus storage; the catalog has
  no registry prices, so it is "depends on usage" with no unit price and the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from modelfleet.cost.context import Context, dec, dig
from modelfleet.cost.model import HOURS_PER_MONTH, Component, Free, Unpriced
from modelfleet.cost.nodepools import price_of
from modelfleet.cost.registry import maps, usage_component
from modelfleet.plan import PlannedResource

APP_TARGET = "aws:appautoscaling/target:Target"
SM_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ZERO_FLOOR_MARK = "scales to zero instances when idle"  # in a component's note; the engine adds a model note
AUTOSCALE_TYPES = ("azure-native:monitor:AutoscaleSetting", "azure-native:insights:AutoscaleSetting")  # 3.x, 2.x


def _not_in_catalog(r: PlannedResource, platform: str, instance_type: str | None, region: str | None) -> Unpriced:
    if not instance_type:
        return Unpriced(r.type, r.name, "no instance type in the resource inputs; cannot look up a price")
    if not region:
        return Unpriced(r.type, r.name, f"{instance_type}: the stack has no region. To fix: set the stack's region (or pass --region)")
    return Unpriced(r.type, r.name, f"{instance_type} is not in the {platform} catalog for {region}. "
                                    "To fix: run `modelfleet catalog refresh`, or use an instance type the catalog lists")


def _instance_component(r: PlannedResource, ctx: Context, platform: str, instance_type: str | None, lo: Decimal, hi: Decimal,
                        bounds_from: str, label: str, region: str | None = None) -> Component | Unpriced:
    region = region or ctx.region
    offer = ctx.offer(platform, instance_type, region)
    if offer is None:
        return _not_in_catalog(r, platform, instance_type, region)
    price, _, source = price_of(offer, spot=False)
    model = ctx.model_of(r)
    lo, expected, hi = ctx.replicas(model, lo, hi)
    return Component(r.type, r.name, f"{label} instance-hours ({instance_type})", "instance-hours", price,
                     HOURS_PER_MONTH * lo, HOURS_PER_MONTH * hi, HOURS_PER_MONTH * expected, source, model=model,
                     note=f"instances {lo}..{hi} ({bounds_from})")


def _index(resources: list[PlannedResource], key: Callable[[PlannedResource], str]) -> dict[str, list[PlannedResource]]:
    out: dict[str, list[PlannedResource]] = defaultdict(list)
    for r in resources:
        out[key(r)].append(r)
    return out


# SageMaker ---------------------------------------------------------------------------------

def _endpoint_names(config: PlannedResource, ctx: Context) -> list[str]:
    """Names of the SageMaker endpoints that use this configuration."""
    config_name = str(config.inputs.get("name") or config.name)
    by_config = ctx.memo("sagemaker-endpoints-by-config", lambda: _index(
        ctx.by_type.get(SM_ENDPOINT, []), lambda e: str(e.inputs.get("endpointConfigName"))))
    names = [str(e.inputs.get("name") or e.name) for e in by_config.get(config_name, [])]
    names += [str(e.inputs.get("name") or e.name) for e in ctx.siblings(config, SM_ENDPOINT)]
    return list(dict.fromkeys(names))


def _variant_target(config: PlannedResource, ctx: Context, variant: str) -> PlannedResource | None:
    for endpoint in _endpoint_names(config, ctx):
        found = ctx.autoscaling_target(f"endpoint/{endpoint}/variant/{variant}")
        if found is not None:
            return found
    # the endpoint name may be unknown during a real preview: the same component's target for this variant
    suffix = f"/variant/{variant}"
    return next((t for t in ctx.siblings(config, APP_TARGET) if str(t.inputs.get("resourceId", "")).endswith(suffix)), None)


@maps("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
def sagemaker_endpoint_config(r: PlannedResource, ctx: Context) -> list:
    items: list = []
    for variant in r.inputs.get("productionVariants") or []:
        name = str(variant.get("variantName") or "AllTraffic")
        if variant.get("serverlessConfig"):
            items.append(usage_component(r, ctx.model_of(r), f"SageMaker serverless inference ({name})", "GB-seconds",
                                         "inference duration × memory and requests"))
            continue
        initial = dec(variant.get("initialInstanceCount"), Decimal(1))
        target = _variant_target(r, ctx, name)
        managed = variant.get("managedInstanceScaling") or {}
        if str(managed.get("status", "")).upper() == "ENABLED":
            # inference components: SageMaker itself starts and releases instances within these bounds
            lo = dec(managed.get("minInstanceCount"), initial)
            hi = dec(managed.get("maxInstanceCount"), lo)
            bounds = "managed instance scaling"
        elif target is not None:
            lo = dec(target.inputs.get("minCapacity"), initial)
            hi = dec(target.inputs.get("maxCapacity"), lo)
            bounds = f"autoscaling target {target.name}"
        else:
            lo = hi = initial
            bounds = "initialInstanceCount, no autoscaling target"
        if lo == 0:
            bounds += f"; {ZERO_FLOOR_MARK}"
        items.append(_instance_component(r, ctx, "sagemaker", variant.get("instanceType"), lo, hi, bounds,
                                         f"SageMaker variant {name}"))
    if r.inputs.get("asyncInferenceConfig"):
        items.append(usage_component(r, ctx.model_of(r), "S3 storage and requests (asynchronous requests and results)",
                                     "GB-months", "queued request payloads, results and failures kept in the stack bucket"))
    if not items:
        items.append(Unpriced(r.type, r.name, "no productionVariants in the inputs; nothing to price"))
    return items


# Azure ML ----------------------------------------------------------------------------------

def _autoscale_for(deployment: PlannedResource, ctx: Context) -> PlannedResource | None:
    settings = [s for token in AUTOSCALE_TYPES for s in ctx.by_type.get(token, [])]
    by_last = ctx.memo("autoscale-by-target-name", lambda: _index(
        settings, lambda s: str(s.inputs.get("targetResourceUri") or "").rstrip("/").split("/")[-1]))
    name = str(deployment.inputs.get("deploymentName") or deployment.name)
    endpoint = str(deployment.inputs.get("endpointName") or "")
    for s in by_last.get(name, []):
        if not endpoint or f"/{endpoint}/" in str(s.inputs.get("targetResourceUri")):
            return s
    same_parent = [s for token in AUTOSCALE_TYPES for s in ctx.siblings(deployment, token)]
    # children of one component are named f"{component}-{role}": the deployment's setting extends its name
    named = [s for s in same_parent if str(s.inputs.get("targetResourceUri") or "").startswith(deployment.name)
             or s.name.startswith(f"{deployment.name}-")]
    if len(named) == 1:
        return named[0]
    if len(same_parent) == 1:
        return same_parent[0]
    model = ctx.model_of(deployment)
    by_model = ctx.memo("autoscale-by-model", lambda: _index(settings, lambda s: str(ctx.model_of(s))))
    found = by_model.get(str(model), []) if model is not None else []
    return found[0] if len(found) == 1 else None


@maps("azure-native:machinelearningservices:OnlineDeployment")
def azureml_deployment(r: PlannedResource, ctx: Context) -> list:
    props = r.inputs.get("properties") or r.inputs.get("onlineDeploymentProperties") or {}  # azure-native 3.x, 2.x
    if str(props.get("endpointComputeType") or "Managed") == "Kubernetes":
        return [Free(r.type, r.name, "runs on an attached Kubernetes cluster whose nodes are priced there")]
    fixed = dec(dig(r.inputs, "sku", "capacity"), Decimal(1))
    setting = _autoscale_for(r, ctx)
    capacity = dig(setting.inputs, "profiles", 0, "capacity") if setting is not None else None
    if isinstance(capacity, dict):
        lo = dec(capacity.get("minimum"), fixed)
        hi = dec(capacity.get("maximum"), lo)
        bounds = f"autoscale setting {setting.name}"  # type: ignore[union-attr]
    else:
        lo = hi = fixed
        bounds = "sku.capacity, no autoscale setting"
    return [_instance_component(r, ctx, "azureml", props.get("instanceType"), lo, hi, bounds, "Azure ML deployment",
                                region=r.inputs.get("location"))]


@maps("azure-native:containerregistry:Registry")
def acr(r: PlannedResource, ctx: Context) -> list:
    sku = str(dig(r.inputs, "sku", "name") or "Basic")
    return [usage_component(r, ctx.model_of(r), f"ACR {sku} registry (daily SKU fee + storage beyond the included GB)", "days",
                            "storage beyond the SKU's included GB and geo-replicas",
                            unit_price_note=f"the catalog has no ACR {sku} daily price, so the fixed fee is not included")]
