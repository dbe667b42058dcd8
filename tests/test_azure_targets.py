"""Azure placement (pure, no Pulumi): VM sizes from the catalog, honest limits, names."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelfleet.environment import parse_stack
from modelfleet.placement import place_stack
from modelfleet.rollout import RolloutPlan
from modelfleet.spec import load_specs, parse_spec, spec_paths
from modelfleet.targets.aks import AGENT_POOL_RE, agent_pool_name, pool_bounds
from modelfleet.targets.azureml import (
    BLUE_GREEN_MIRROR_PERCENT,
    ENDPOINT_MAX,
    ENDPOINT_RE,
    MAX_MIRROR_PERCENT,
    deployment_name,
    endpoint_name,
    slot_bounds,
    traffic_plan,
)

ROOT = Path(__file__).resolve().parent.parent
SPECS = load_specs(spec_paths(ROOT / "model_specs"))
# the bundled specs with their weights copied to Blob storage: Azure ML registers models from Azure storage only
AZ_SPECS = [parse_spec(f.path.read_text().replace("s3://acme-models/", "az://acmemodels/models/"), str(f.path)) for f in SPECS]


def aks_stack(environment: str = "prod", location: str = "eastus", extra: str = ""):
    return parse_stack(f"""config:
  azure-native:location: {location}
  modelfleet:environment: {environment}
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {{tracking_uri: "https://mlflow.example.com"}}
  modelfleet:serving: kserve
  modelfleet:cluster: {{kind: aks, name: ml-aks, resource_group: ml-rg}}
  modelfleet:registry: {{kind: acr}}
  modelfleet:artifact_store: {{storage_accounts: {{acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}}}
{extra}""", f"Pulumi.aks-{environment}.yaml")


def azureml_stack(environment: str = "prod", location: str = "eastus"):
    return parse_stack(f"""config:
  azure-native:location: {location}
  modelfleet:environment: {environment}
  modelfleet:platform: azureml
  modelfleet:workspace: {{name: ml-ws, resource_group: ml-rg}}
  modelfleet:registry: {{kind: acr}}
  modelfleet:artifact_store: {{storage_accounts: {{acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}}}
""", f"Pulumi.azureml-{environment}.yaml")


def spec(**resources: object):
    acc = resources.pop("accelerator", "T4:1")
    extra = resources.pop("extra", "")
    return parse_spec(f"""name: probe
version: "1"
owner: t
model: {{uri: "az://acmemodels/models/m/", framework: onnx}}
serving: {{runtime: triton}}
resources: {{accelerator: {acc}, cpu: {resources.get("cpu", 4)}, memory_gib: {resources.get("memory_gib", 16)}}}
{extra}
""", "probe.yaml")


def by_model(sp):
    return {p.model: p for p in sp.placements}


def test_bundled_specs_place_on_aks_prod_with_the_expected_vm_sizes():
    sp = place_stack(aks_stack(), SPECS)
    assert not sp.errors, sp.errors
    placed = by_model(sp)
    assert placed["llama3-8b-chat"].offer.instance_type == "Standard_NV36ads_A10_v5", "min_memory_gib 24 → an A10 VM"
    assert placed["llama3-8b-chat"].accelerator == "A10"
    assert placed["llama3-70b-instruct"].offer.instance_type == "Standard_NC96ads_A100_v4"
    assert placed["llama3-70b-instruct"].shape.gpus_per_node == 4
    # NC4as_T4_v3 has 4 vCPUs but only 3.92 allocatable after the kubelet reserve; the replica asks for 4
    assert placed["resnet50-vision"].offer.instance_type == "Standard_NC8as_T4_v3"
    assert placed["fraud-xgb"].shape is None, "CPU-only models run on the cluster's general nodes"


def test_bundled_specs_place_on_azureml_prod():
    sp = place_stack(azureml_stack(), AZ_SPECS)
    assert not sp.errors, sp.errors
    placed = by_model(sp)
    assert placed["llama3-8b-chat"].offer.platform == "azureml"
    assert placed["llama3-8b-chat"].offer.instance_type == "Standard_NV36ads_A10_v5"
    assert placed["llama3-70b-instruct"].offer.instance_type == "Standard_NC96ads_A100_v4"
    assert all(p.min_replicas >= 1 for p in sp.placements)


def test_aks_shape_key_is_dns_safe_and_spot_gets_its_own_pool():
    on_demand = by_model(place_stack(aks_stack(), [spec()]))["probe"]
    spot = by_model(place_stack(aks_stack(), [spec(extra="spot: true")]))["probe"]
    assert on_demand.shape.key == "nc8as-t4-v3" and not on_demand.shape.spot
    assert spot.shape.key == "nc8as-t4-v3-spot" and spot.shape.spot
    assert on_demand.names["agent_pool"] != spot.names["agent_pool"]


def test_aks_spot_placement_uses_the_spot_price():
    # under spot pricing an A100 VM is cheaper per hour than the A10 one in eastus
    placed = by_model(place_stack(aks_stack(), [spec(accelerator="{min_memory_gib: 24}", cpu=4, memory_gib=32, extra="spot: true")]))["probe"]
    assert placed.offer.spot_usd_hr is not None
    assert placed.offer.instance_type == "Standard_NC24ads_A100_v4"


@pytest.mark.parametrize("make_stack", [aks_stack, azureml_stack])
def test_aws_only_accelerator_names_the_azure_equivalent(make_stack):
    sp = place_stack(make_stack(), [spec(accelerator="A10G:1")])
    [error] = sp.errors
    assert error.field == "resources.accelerator"
    assert "A10G is not sold on Azure" in error.message
    assert "min_memory_gib: 24" in error.message and "A10" in error.message
    assert "To fix:" in error.message


def test_no_offer_in_location_lists_nearest_offers_and_locations():
    sp = place_stack(aks_stack(location="centralus"), [spec(accelerator="A10:1")])
    [error] = sp.errors
    assert "no AKS nodes VM size in centralus" in error.message
    assert "eastus" in error.message, "locations where it fits are listed"
    assert "Nearest offers:" in error.message


def test_missing_location_is_an_error():
    stack = parse_stack("""config:
  modelfleet:environment: prod
  modelfleet:platform: azureml
  modelfleet:workspace: {name: ml-ws, resource_group: ml-rg}
  modelfleet:registry: {kind: acr}
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
""", "Pulumi.x.yaml")
    [error] = place_stack(stack, [spec()]).errors
    assert "azure-native:location" in error.message


def test_scale_to_zero_on_azureml_says_why_and_what_instead():
    sp = place_stack(azureml_stack(environment="dev"), [f for f in AZ_SPECS if f.name == "llama3-8b-chat"])
    [error] = sp.errors
    assert error.field == "autoscaling.scale_to_zero"
    assert "keep at least one instance" in error.message
    assert "AKS with KServe" in error.message


def test_min_replicas_zero_on_azureml_is_an_error_too():
    sp = place_stack(azureml_stack(), [spec(extra="autoscaling: {min_replicas: 0, max_replicas: 2}")])
    assert [e.field for e in sp.errors] == ["autoscaling.min_replicas"]


def test_queue_depth_and_auth_none_are_refused_on_azureml():
    sp = place_stack(azureml_stack(), [spec(extra="autoscaling: {metric: queue_depth}\nnetwork: {auth: none}")])
    assert sorted(e.field for e in sp.errors) == ["autoscaling.metric", "network.auth"]


def test_spot_on_azureml_is_a_warning_and_places_on_demand():
    sp = place_stack(azureml_stack(), [spec(extra="spot: true")])
    assert not sp.errors
    assert "spot" in [d.field for d in sp.diagnostics if d.level == "warning"]
    assert not by_model(sp)["probe"].shape.spot


def test_azureml_refuses_weights_it_cannot_register_and_bakes_the_args_into_the_launcher():
    sp = place_stack(azureml_stack(), [f for f in SPECS if f.name == "llama3-8b-chat"])
    [error] = [d for d in sp.errors if d.field == "model.uri"]
    assert "s3://acme-models/llama3-8b-instruct/1.4.0/" in error.message and "az://" in error.message
    assert not [d for d in sp.diagnostics if d.level == "warning" and d.field == "model.uri"], "no warning promising a download"
    sp = place_stack(azureml_stack(), [f for f in AZ_SPECS if f.name == "llama3-8b-chat"])
    assert "serving.args" not in {d.field for d in sp.diagnostics}, "vLLM's args run in the launcher, nothing to warn about"
    [launcher] = [d for d in sp.diagnostics if d.field == "serving.runtime"]
    assert "modelfleet build llama3-8b-chat --stack" in launcher.message and "--push" in launcher.message


def test_existing_aks_cluster_needs_name_and_resource_group():
    stack = parse_stack("""config:
  azure-native:location: eastus
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:cluster: {kind: aks, name: ml-aks}
  modelfleet:registry: {kind: acr}
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
""", "Pulumi.x.yaml")
    [error] = place_stack(stack, [spec(extra="autoscaling: {metric: rps}")]).errors
    assert error.field == "modelfleet:cluster"


def _plan(strategy: str, stable: str | None, version: str = "2", percent: int = 10, aborted: str | None = None) -> RolloutPlan:
    phase = "first_deploy" if stable is None else "steady" if stable == version else "aborted" if aborted == version else "in_progress"
    return RolloutPlan("m", "s", strategy, phase, version, stable, percent, 10, ("error_rate",))  # type: ignore[arg-type]


def test_traffic_plan_follows_the_rollout_state():
    d = deployment_name
    assert traffic_plan(_plan("canary", None)) == ({d("2"): 100}, {}), "first deploy: one slot, no canary"
    assert traffic_plan(_plan("canary", "2")) == ({d("2"): 100}, {}), "after promote: one slot"
    assert traffic_plan(_plan("rolling", "1")) == ({d("2"): 100}, {}), "rolling: replaced in place"
    assert traffic_plan(_plan("canary", "1")) == ({d("1"): 90, d("2"): 10}, {})
    assert traffic_plan(_plan("canary", "1", percent=25)) == ({d("1"): 75, d("2"): 25}, {})
    assert traffic_plan(_plan("blue_green", "1")) == ({d("1"): 100, d("2"): 0}, {d("2"): BLUE_GREEN_MIRROR_PERCENT})
    assert BLUE_GREEN_MIRROR_PERCENT <= MAX_MIRROR_PERCENT
    assert traffic_plan(_plan("canary", "1", aborted="2")) == ({d("1"): 100, d("2"): 0}, {}), "after abort: 0 % to the new one"
    assert traffic_plan(_plan("blue_green", "1", aborted="2")) == ({d("1"): 100, d("2"): 0}, {}), "aborted twins get no mirror"


def test_slot_bounds_per_state():
    assert slot_bounds(_plan("canary", "1"), "1", 2, 8) == (2, 8), "the stable slot keeps the spec's bounds"
    assert slot_bounds(_plan("canary", "1"), "2", 2, 8) == (2, 2), "a 10 % canary of 8 keeps the floor of 2"
    assert slot_bounds(_plan("canary", "1", percent=50), "2", 1, 8) == (1, 4)
    assert slot_bounds(_plan("blue_green", "1"), "2", 2, 8) == (2, 8), "the twin runs at full size"
    assert slot_bounds(_plan("canary", "1", aborted="2"), "2", 2, 8) == (1, 1), "aborted: Azure ML's minimum, no traffic"


@given(st.text(alphabet="0123456789.abcdefghijklmnopqrstuvwxyz-_+", min_size=1, max_size=63))
def test_deployment_names_are_valid_and_distinct_per_version(version):
    name = deployment_name(version)
    assert ENDPOINT_RE.match(name) and len(name) <= ENDPOINT_MAX, name
    assert deployment_name(version) == name
    assert deployment_name(version + "1") != name


def test_pool_bounds_round_up_per_node():
    llama70 = by_model(place_stack(aks_stack(), SPECS))["llama3-70b-instruct"]  # 4 GPUs/replica on 4-GPU nodes, 2..3 replicas
    assert pool_bounds([llama70], 4) == (2, 3)
    t4 = by_model(place_stack(aks_stack(), [spec(extra="autoscaling: {min_replicas: 1, max_replicas: 3}")]))["probe"]
    assert pool_bounds([t4, t4], 4) == (1, 2)
    assert pool_bounds([t4], 0) == (1, 3)


names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", fullmatch=True)
stacks = st.from_regex(r"[A-Za-z0-9_.-]{1,40}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(stack=stacks, model=names)
def test_endpoint_names_are_valid_deterministic_and_distinct_per_stack(stack, model):
    name = endpoint_name(stack, model)
    assert 3 <= len(name) <= ENDPOINT_MAX and ENDPOINT_RE.match(name), name
    assert name == endpoint_name(stack, model)
    assert name != endpoint_name(stack + "x", model)


@settings(max_examples=300, deadline=None)
@given(stack=stacks, key=st.from_regex(r"[a-z0-9][-a-z0-9]{0,40}", fullmatch=True))
def test_agent_pool_names_are_valid_deterministic_and_distinct_per_stack(stack, key):
    name = agent_pool_name(stack, key)
    assert AGENT_POOL_RE.match(name), name
    assert name == agent_pool_name(stack, key)
    assert name != agent_pool_name(stack + "x", key)
