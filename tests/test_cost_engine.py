"""Cost engine over hand-built plans: exact prices from the catalog, attribution, and honesty
about what cannot be priced. Expected values are computed from the catalog, never typed in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from modelfleet.catalog import load_catalog
from modelfleet.cost import HOURS_PER_MONTH, estimate_plan
from modelfleet.cost.model import money
from modelfleet.cost.registry import FREE_TYPES, USAGE_TYPES
from modelfleet.plan import PlannedResource, ResourcePlan

H = HOURS_PER_MONTH


def res(type_token: str, name: str, inputs: dict, parent: str = "", stack: str = "s") -> PlannedResource:
    return PlannedResource(urn=f"urn:pulumi:{stack}::modelfleet::{type_token}::{name}", type=type_token, name=name,
                           parent=parent, custom=True, inputs=inputs)


def plan(resources: list[PlannedResource], target: str, region: str | None, models: list[str], **settings) -> ResourcePlan:
    return ResourcePlan(stack="s", platform=target, environment="prod", resources=tuple(resources),
                        config={"environment": "prod", "target": target, "region": region, "models": models,
                                "stack_settings": settings})


def price(platform: str, region: str, instance: str, spot: bool = False) -> Decimal:
    offer = load_catalog().find(platform, region, instance)
    assert offer is not None, f"catalog lost {platform}/{region}/{instance}"
    return offer.hourly(spot)


def pod(model: str, gpus: int, pool: str | None = None, accelerator: str | None = None) -> dict:
    selector = {k: v for k, v in (("modelfleet.io/gpu-pool", pool), ("modelfleet.io/accelerator", accelerator)) if v}
    limits = {"cpu": "4", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    return {"metadata": {"name": model, "namespace": model, "labels": {"modelfleet.io/model": model}},
            "spec": {"replicas": 1, "template": {"spec": {"nodeSelector": selector,
                                                          "containers": [{"name": "server", "resources": {"limits": limits}}]}}}}


def hpa(model: str, lo: int, hi: int) -> dict:
    return {"metadata": {"name": model, "namespace": model},
            "spec": {"minReplicas": float(lo), "maxReplicas": float(hi), "scaleTargetRef": {"kind": "Deployment", "name": model}}}


def node_group(name: str, instance: str, lo: int, hi: int, pool: str, capacity: str = "ON_DEMAND", tags: dict | None = None):
    return res("aws:eks/nodeGroup:NodeGroup", name, {
        "instanceTypes": [instance], "scalingConfig": {"minSize": float(lo), "maxSize": float(hi), "desiredSize": float(lo)},
        "capacityType": capacity, "labels": {"modelfleet.io/gpu-pool": pool}, "tags": tags or {}})


def test_eks_node_group_dedicated_pool_is_price_times_730_times_nodes():
    p = plan([node_group("gpu-a10g-ng", "g5.xlarge", 1, 4, "a10g", tags={"modelfleet:model": "chat"}),
              res("kubernetes:apps/v1:Deployment", "chat-deployment", pod("chat", 1, pool="a10g")),
              res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "chat-hpa", hpa("chat", 1, 4))],
             "eks", "us-east-1", ["chat"])
    cost = estimate_plan(p)
    hourly = price("ec2", "us-east-1", "g5.xlarge")
    chat = cost.model("chat")
    assert chat is not None
    assert chat.monthly_max == money(hourly * H * 4), "max = catalog price × 730 × max nodes"
    assert chat.monthly_min == money(hourly * H * 1)
    assert chat.monthly_expected == chat.monthly_min, "no usage file: expected = min"
    assert {f.type for f in cost.free} >= {"kubernetes:apps/v1:Deployment"}, "pods on EKS are not priced twice"
    assert len([c for c in chat.components if not c.usage_based]) == 1


def test_eks_shared_pool_split_by_peak_gpu_share_without_double_counting():
    p = plan([node_group("gpu-a10g-ng", "g5.12xlarge", 1, 3, "a10g"),
              res("kubernetes:apps/v1:Deployment", "a-deployment", pod("a", 1, pool="a10g")),
              res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "a-hpa", hpa("a", 1, 3)),
              res("kubernetes:apps/v1:Deployment", "b-deployment", pod("b", 2, pool="a10g")),
              res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "b-hpa", hpa("b", 1, 3))],
             "eks", "us-east-1", ["a", "b"])
    cost = estimate_plan(p)
    pool_max = price("ec2", "us-east-1", "g5.12xlarge") * H * 3
    a, b = cost.model("a"), cost.model("b")
    assert a is not None and b is not None
    # peaks: a = 1 GPU × 3, b = 2 GPUs × 3 → shares 1/3 and 2/3
    assert a.monthly_max == money(pool_max / 3)
    assert abs(a.monthly_max + b.monthly_max - money(pool_max)) <= Decimal("0.01")
    assert cost.monthly_max == a.monthly_max + b.monthly_max, "the pool is counted once, split over models"


def test_eks_spot_uses_spot_price_when_catalog_knows_it_else_on_demand_and_says_so():
    catalog = load_catalog()
    with_spot = next(o for o in catalog.offers("ec2", "us-east-1") if o.spot_usd_hr is not None)
    without = next(o for o in catalog.offers("ec2", "us-east-1") if o.spot_usd_hr is None)
    p = plan([node_group("cpu-ng", with_spot.instance_type, 2, 2, "cpu", "SPOT"),
              node_group("gpu-ng", without.instance_type, 1, 1, "gpu", "SPOT")], "eks", "us-east-1", [])
    shared = estimate_plan(p).shared.components
    by_name = {c.name: c for c in shared}
    assert by_name["cpu-ng"].unit_price == with_spot.spot_usd_hr
    assert by_name["gpu-ng"].unit_price == without.ondemand_usd_hr
    assert "spot price unknown" in by_name["gpu-ng"].price_source


def test_aks_agent_pool_spot_and_bounds():
    pool = res("azure-native:containerservice:AgentPool", "gpu-t4-pool", {
        "vmSize": "Standard_NC4as_T4_v3", "enableAutoScaling": True, "minCount": 0.0, "maxCount": 5.0,
        "scaleSetPriority": "Spot", "nodeLabels": {"modelfleet.io/gpu-pool": "t4", "modelfleet.io/accelerator": "T4"}})
    work = res("kubernetes:apps/v1:Deployment", "vision-deployment", pod("vision", 1, pool="t4"))
    scaler = res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "vision-hpa", hpa("vision", 0, 5))
    cost = estimate_plan(plan([pool, work, scaler], "aks", "eastus", ["vision"]))
    vision = cost.model("vision")
    assert vision is not None
    assert vision.monthly_max == money(price("azure", "eastus", "Standard_NC4as_T4_v3", spot=True) * H * 5)
    assert vision.monthly_min == 0


def _sagemaker(with_target: bool) -> ResourcePlan:
    component = "urn:pulumi:s::modelfleet::modelfleet:aws:SageMakerEndpoint::chat"
    resources = [
        res("modelfleet:aws:SageMakerEndpoint", "chat", {}),
        res("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "chat-config", {
            "name": "chat-s-config", "tags": {"modelfleet:model": "chat"},
            "productionVariants": [{"variantName": "AllTraffic", "instanceType": "ml.g5.2xlarge", "initialInstanceCount": 2.0,
                                    "modelName": "chat-model"}]}, parent=component),
        res("aws:sagemaker/endpoint:Endpoint", "chat-endpoint", {"name": "chat-s", "endpointConfigName": "chat-s-config"},
            parent=component),
    ]
    if with_target:
        resources.append(res("aws:appautoscaling/target:Target", "chat-target", {
            "resourceId": "endpoint/chat-s/variant/AllTraffic", "minCapacity": 1.0, "maxCapacity": 6.0,
            "scalableDimension": "sagemaker:variant:DesiredInstanceCount", "serviceNamespace": "sagemaker"}, parent=component))
    return plan(resources, "sagemaker", "us-east-1", ["chat"])


def test_sagemaker_variant_bounded_by_its_autoscaling_target():
    chat = estimate_plan(_sagemaker(with_target=True)).model("chat")
    hourly = price("sagemaker", "us-east-1", "ml.g5.2xlarge")
    assert chat is not None
    assert chat.monthly_max == money(hourly * H * 6)
    assert chat.monthly_min == money(hourly * H * 1)


def test_sagemaker_without_target_uses_initial_instance_count():
    chat = estimate_plan(_sagemaker(with_target=False)).model("chat")
    hourly = price("sagemaker", "us-east-1", "ml.g5.2xlarge")
    assert chat is not None
    assert chat.monthly_min == chat.monthly_max == money(hourly * H * 2)


def test_azureml_deployment_bounded_by_autoscale_setting():
    deployment = res("azure-native:machinelearningservices:OnlineDeployment", "chat-deployment", {
        "endpointName": "chat-ep", "deploymentName": "blue", "sku": {"name": "Default", "capacity": 2.0},
        "onlineDeploymentProperties": {"instanceType": "Standard_NC24ads_A100_v4", "endpointComputeType": "Managed"},
        "tags": {"modelfleet:model": "chat"}})
    setting = res("azure-native:insights:AutoscaleSetting", "chat-autoscale", {
        "targetResourceUri": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/"
                             "onlineEndpoints/chat-ep/deployments/blue",
        "profiles": [{"name": "default", "capacity": {"minimum": "1", "maximum": "3", "default": "2"}, "rules": []}]})
    chat = estimate_plan(plan([deployment, setting], "azureml", "eastus", ["chat"])).model("chat")
    hourly = price("azureml", "eastus", "Standard_NC24ads_A100_v4")
    assert chat is not None
    assert (chat.monthly_min, chat.monthly_max) == (money(hourly * H), money(hourly * H * 3))


def test_usage_averages_drive_expected_within_bounds():
    cost = estimate_plan(_sagemaker(with_target=True), averages={"chat": Decimal("2.5")})
    chat = cost.model("chat")
    hourly = price("sagemaker", "us-east-1", "ml.g5.2xlarge")
    assert chat is not None and chat.monthly_expected == money(hourly * H * Decimal("2.5"))
    clamped = estimate_plan(_sagemaker(with_target=True), averages={"chat": Decimal(50)}).model("chat")
    assert clamped is not None and clamped.monthly_expected == clamped.monthly_max, "averages are clamped to max"


def test_unknown_instance_type_and_unknown_type_are_unpriced_with_reasons():
    p = plan([node_group("odd-ng", "g99.mega", 1, 2, "x"),
              res("aws:ec2/natGateway:NatGateway", "nat", {})], "eks", "us-east-1", [])
    cost = estimate_plan(p)
    reasons = {u.name: u.reason for u in cost.unpriced}
    assert "g99.mega is not in the ec2 catalog" in reasons["odd-ng"]
    assert "no cost mapping" in reasons["nat"]
    assert cost.monthly_max == 0


def test_no_region_is_unpriced_not_zero():
    cost = estimate_plan(plan([node_group("gpu-ng", "g5.xlarge", 1, 1, "a10g")], "eks", None, []))
    assert [u.name for u in cost.unpriced] == ["gpu-ng"] and "region" in cost.unpriced[0].reason


def test_registries_and_monitoring_depend_on_usage_never_zero():
    p = plan([res("aws:ecr/repository:Repository", "chat-repo", {"tags": {"modelfleet:model": "chat"}}),
              res("azure-native:containerregistry:Registry", "acr", {"sku": {"name": "Premium"}}),
              res("aws:cloudwatch/metricAlarm:MetricAlarm", "chat-5xx", {"tags": {"modelfleet:model": "chat"}})],
             "sagemaker", "us-east-1", ["chat"])
    cost = estimate_plan(p)
    usage = {c.name: c for c in cost.usage_based}
    assert set(usage) == {"chat-repo", "acr", "chat-5xx"}
    assert all(c.unit_price is None and c.note == "depends on usage" for c in usage.values())
    assert "ACR Premium daily price" in usage["acr"].price_source
    assert cost.model("chat") is not None and len(cost.model("chat").usage_based) == 2  # type: ignore[union-attr]


def test_onprem_gpu_hours_rate_missing_rate_and_cpu_free():
    resources = [res("kubernetes:apps/v1:Deployment", "l4-deployment", pod("l4m", 2, accelerator="L4")),
                 res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "l4-hpa", hpa("l4m", 1, 3)),
                 res("kubernetes:apps/v1:Deployment", "h100-deployment", pod("h100m", 1, accelerator="H100")),
                 res("kubernetes:apps/v1:Deployment", "cpu-deployment", pod("cpum", 0))]
    rates = {"L4": "0.35"}
    cost = estimate_plan(plan(resources, "onprem", None, ["l4m", "h100m", "cpum"], cluster={"gpu_hour_usd": rates}))
    l4 = cost.model("l4m")
    assert l4 is not None and l4.monthly_max == money(Decimal(rates["L4"]) * 2 * 3 * H)
    assert [u.name for u in cost.unpriced] == ["h100-deployment"] and "gpu_hour_usd" in cost.unpriced[0].reason
    cpu = cost.model("cpum")
    assert cpu is not None and cpu.components[0].unit_price == 0 and "no internal CPU rate" in cpu.components[0].price_source


def test_attribution_through_parent_component_chain():
    parent = res("modelfleet:kubernetes:ModelServer", "chat", {})
    child = res("aws:ecr/repository:Repository", "chat-repo", {}, parent=parent.urn)
    cost = estimate_plan(plan([parent, child], "eks", "us-east-1", ["chat"]))
    assert cost.model("chat") is not None and cost.model("chat").usage_based[0].name == "chat-repo"  # type: ignore[union-attr]


@pytest.mark.parametrize("type_token", sorted(FREE_TYPES)[:5] + ["modelfleet:aws:Anything", "pulumi:providers:aws"])
def test_free_types_are_listed_with_a_reason(type_token):
    cost = estimate_plan(plan([res(type_token, "x", {})], "eks", "us-east-1", []))
    assert [f.type for f in cost.free] == [type_token] and cost.free[0].reason


def test_free_and_usage_lists_do_not_overlap():
    assert not set(FREE_TYPES) & set(USAGE_TYPES)


def test_azureml_3x_shapes_blue_green_each_bounded_by_its_own_setting():
    parent = "urn:pulumi:s::modelfleet::modelfleet:azure:AzureMLEndpoint::p-chat"

    def deployment(color: str, capacity: float) -> PlannedResource:
        return res("azure-native:machinelearningservices:OnlineDeployment", f"p-chat-{color}", {
            "deploymentName": color, "endpointName": "chat-ep", "sku": {"name": "Default", "capacity": capacity},
            "properties": {"instanceType": "Standard_NC4as_T4_v3", "endpointComputeType": "Managed"},
            "tags": {"modelfleet:model": "chat"}}, parent=parent)

    def setting(color: str, lo: str, hi: str) -> PlannedResource:
        return res("azure-native:monitor:AutoscaleSetting", f"p-chat-{color}-autoscale", {
            "targetResourceUri": f"p-chat-{color}-id", "tags": {"modelfleet:model": "chat"},
            "profiles": [{"name": "default", "capacity": {"minimum": lo, "maximum": hi, "default": lo}}]}, parent=parent)

    p = plan([deployment("blue", 2.0), deployment("green", 1.0), setting("blue", "2", "8"), setting("green", "1", "2")],
             "azureml", "eastus", ["chat"])
    chat = estimate_plan(p).model("chat")
    hourly = price("azureml", "eastus", "Standard_NC4as_T4_v3")
    assert chat is not None
    assert chat.monthly_max == money(hourly * H * (8 + 2)) and chat.monthly_min == money(hourly * H * (2 + 1))
