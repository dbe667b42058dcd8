"""Azure components under Pulumi mocks: AKS GPU agent pools, ACR, Azure ML endpoints.

Each stack is previewed once per module (azure-native registrations are slow under mocks)
in a scratch project: the bundled specs plus a few probes, and stack files written here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelfleet import mocked_cloud, preview
from modelfleet.plan import ResourcePlan
from modelfleet.targets.azureml import deployment_name as slot

STORAGE_ACCOUNTS = '  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}\n'
ROOT = Path(__file__).resolve().parent.parent
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
ROLE = "azure-native:authorization:RoleAssignment"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
TRAFFIC = "azure-native:resources:Deployment"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"

PROBES = {
    "bg-probe": """name: bg-probe
version: "2"
owner: t
model: {uri: "az://acmemodels/weights/bg/2/", framework: onnx}
serving: {runtime: triton, port: 8000}
resources: {accelerator: T4:1, cpu: 4, memory_gib: 16}
autoscaling: {min_replicas: 2, max_replicas: 5, metric: gpu_utilization, target: 70}
rollout: {strategy: blue_green}
network: {public: true}
""",
    "spot-probe": """name: spot-probe
version: "1"
owner: t
model: {uri: "s3://b/m/", framework: onnx}
serving: {runtime: triton, port: 8000}
resources: {accelerator: T4:1, cpu: 4, memory_gib: 16}
autoscaling: {min_replicas: 0, max_replicas: 3, metric: rps, target: 50}
spot: true
""",
}

STACKS = {
    "aks-dev": """config:
  azure-native:location: eastus
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:serving: kserve
  modelfleet:cluster: {kind: aks, name: ml-aks-dev, resource_group: ml-dev-rg, create: true, private: true, gpu_driver: gpu-operator}
  modelfleet:registry: {kind: acr}
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
  modelfleet:models: ["spot-probe", "resnet50-*"]
""",
    "azureml-staging": """config:
  azure-native:location: eastus
  modelfleet:environment: staging
  modelfleet:platform: azureml
  modelfleet:workspace: {name: ml-stg-ws, create: true}
  modelfleet:registry: {kind: acr}
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
  modelfleet:models: ["bg-probe", "fraud-*"]
  modelfleet:stable: {bg-probe: "1"}
""",
}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    project = tmp_path_factory.mktemp("azure")
    shutil.copytree(ROOT / "model_specs", project / "model_specs")
    for bundled_spec in (project / "model_specs").glob("*.yaml"):
        # an Azure shop keeps its weights in Blob storage: Azure ML registers models from there only
        bundled_spec.write_text(bundled_spec.read_text().replace("s3://acme-models/", "az://acmemodels/models/"))
    for name, text in PROBES.items():
        (project / "model_specs" / f"{name}.yaml").write_text(text)
    (project / "stacks").mkdir()
    for bundled in ("aks-prod", "azureml-prod"):  # the bundled stacks, limited to the bundled specs
        text = (ROOT / "stacks" / f"Pulumi.{bundled}.yaml").read_text()
        text = re.sub(r"modelfleet:models: \[.*", 'modelfleet:models: ["llama3-*", "resnet50-*", "fraud-*"]', text)
        if bundled == "azureml-prod":  # two canaries in progress; fraud-xgb and the 70B model serve their stable version
            text += '  modelfleet:stable: {llama3-8b-chat: 1.3.2, resnet50-vision: "3.1", fraud-xgb: 5.1.0}\n'
        text += STORAGE_ACCOUNTS
        (project / "stacks" / f"Pulumi.{bundled}.yaml").write_text(text)
    for name, text in STACKS.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        # answer invokes with a bare dict: the SDK's MockMonitor iterates a (result, failures)
        # tuple's failures, so (result, None) breaks every data-source lookup
        mp.setattr(preview._Mocks, "call", lambda self, args: mocked_cloud.call_result(args.token, args.args, self.region))
        return {name: preview.preview_stack(project, name) for name in ("aks-prod", "aks-dev", "azureml-prod", "azureml-staging")}


def named(plan: ResourcePlan, type_token: str, suffix: str):
    [found] = [r for r in plan.of_type(type_token) if r.name.endswith(suffix)]
    return found


# --- AKS ---------------------------------------------------------------------------------

def test_every_gpu_pool_carries_the_pool_label_and_gpu_taint(plans):
    pools = plans["aks-prod"].of_type(AGENT_POOL)
    assert sorted(p.inputs["vmSize"] for p in pools) == ["Standard_NC8as_T4_v3", "Standard_NC96ads_A100_v4", "Standard_NV36ads_A10_v5"]
    for pool in pools:
        key = pool.name.removeprefix("aks-prod-").removesuffix("-pool")
        assert pool.inputs["nodeLabels"]["modelfleet.io/gpu-pool"] == key, pool.urn
        assert pool.inputs["nodeTaints"] == ["nvidia.com/gpu=true:NoSchedule"], pool.urn
        assert pool.inputs["mode"] == "User" and pool.inputs["osType"] == "Linux", pool.urn
        assert len(pool.inputs["agentPoolName"]) <= 12 and pool.inputs["agentPoolName"].isalnum(), pool.urn


def test_pool_autoscaler_bounds_follow_replicas_and_gpus_per_node(plans):
    bounds = {p.inputs["vmSize"]: (p.inputs["minCount"], p.inputs["maxCount"]) for p in plans["aks-prod"].of_type(AGENT_POOL)}
    assert bounds["Standard_NC96ads_A100_v4"] == (2, 3), "llama3-70b prod: 2..3 replicas × 4 GPUs on 4-GPU nodes"
    assert bounds["Standard_NV36ads_A10_v5"] == (2, 8), "llama3-8b prod: 2..8 replicas × 1 GPU"
    assert bounds["Standard_NC8as_T4_v3"] == (2, 8), "resnet50 prod: 2..8 replicas × 1 GPU"
    for pool in plans["aks-prod"].of_type(AGENT_POOL):
        assert pool.inputs["enableAutoScaling"] is True, pool.urn
        assert pool.options["ignoreChanges"] == ["count"], f"{pool.urn}: the cluster autoscaler owns count"


def test_gpu_pools_are_hardened(plans):
    for pool in plans["aks-prod"].of_type(AGENT_POOL) + plans["aks-dev"].of_type(AGENT_POOL):
        assert pool.inputs["osDiskType"] == "Ephemeral", pool.urn
        assert pool.inputs["enableEncryptionAtHost"] is True, pool.urn
        assert pool.inputs["enableNodePublicIP"] is False, pool.urn


def test_spot_pool_settings_only_on_spot_shapes(plans):
    spot = named(plans["aks-dev"], AGENT_POOL, "-spot-pool")
    assert spot.inputs["scaleSetPriority"] == "Spot"
    assert spot.inputs["scaleSetEvictionPolicy"] == "Delete"
    assert spot.inputs["spotMaxPrice"] == -1.0
    assert spot.inputs["minCount"] == 0.0 and spot.inputs["maxCount"] == 3.0, "min_replicas 0 → the pool may scale to zero nodes"
    for pool in plans["aks-prod"].of_type(AGENT_POOL):
        assert "scaleSetPriority" not in pool.inputs, pool.urn


def test_gpu_driver_choice(plans):
    for pool in plans["aks-dev"].of_type(AGENT_POOL):
        assert pool.inputs["gpuProfile"] == {"driver": "None"}, f"{pool.urn}: the GPU Operator installs the driver"
    for pool in plans["aks-prod"].of_type(AGENT_POOL):
        assert "gpuProfile" not in pool.inputs, f"{pool.urn}: AKS-managed driver"
    plugins = [r for r in plans["aks-prod"].of_type("kubernetes:apps/v1:DaemonSet") if "device-plugin" in r.name]
    assert len(plugins) == 3, "one device plugin per pool with the AKS-managed driver"
    assert not [r for r in plans["aks-dev"].of_type("kubernetes:apps/v1:DaemonSet") if "device-plugin" in r.name]


def test_created_cluster_uses_entra_id_rbac_without_local_accounts(plans):
    [cluster] = plans["aks-dev"].of_type("azure-native:containerservice:ManagedCluster")
    assert cluster.inputs["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    assert cluster.inputs["disableLocalAccounts"] is True
    assert cluster.inputs["apiServerAccessProfile"]["enablePrivateCluster"] is True
    [system] = cluster.inputs["agentPoolProfiles"]
    assert system["mode"] == "System" and system["enableAutoScaling"] is True
    assert cluster.options["ignoreChanges"] == ["agentPoolProfiles"]
    assert not plans["aks-prod"].of_type("azure-native:containerservice:ManagedCluster"), "aks-prod references its cluster"


def test_serving_runs_through_the_cluster_provider_after_the_pools(plans):
    services = plans["aks-prod"].of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert len(services) == 4
    for svc in services:
        assert svc.options["provider"] == "aks-prod-aks-k8s", svc.urn


def test_acr_in_prod_is_premium_private_retained_and_protected(plans):
    [acr] = plans["aks-prod"].of_type(REGISTRY)
    assert acr.inputs["sku"] == {"name": "Premium"}
    assert acr.inputs["adminUserEnabled"] is False and acr.inputs["anonymousPullEnabled"] is False
    assert acr.inputs["publicNetworkAccess"] == "Disabled"
    assert acr.inputs["policies"]["retentionPolicy"] == {"status": "enabled", "days": 7.0}
    assert acr.options["retainOnDelete"] is True and acr.options["protect"] is True


def test_acr_outside_prod_is_cheaper_and_unprotected(plans):
    [acr] = plans["aks-dev"].of_type(REGISTRY)
    assert acr.inputs["sku"] == {"name": "Basic"}
    assert acr.inputs["adminUserEnabled"] is False
    assert "policies" not in acr.inputs, "retention needs Premium"
    assert acr.options["retainOnDelete"] is True and acr.options["protect"] is False
    [staging] = plans["azureml-staging"].of_type(REGISTRY)
    assert staging.inputs["sku"] == {"name": "Standard"}


def test_kubelet_identity_may_pull_from_acr(plans):
    [pull] = [r for r in plans["aks-prod"].of_type(ROLE) if r.inputs["roleDefinitionId"].endswith(ACR_PULL)]
    assert pull.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{ACR_PULL}")
    assert pull.inputs["principalId"] == "11111111-1111-1111-1111-111111111111"
    assert pull.inputs["principalType"] == "ServicePrincipal"


# --- Azure ML ----------------------------------------------------------------------------

def test_endpoints_use_entra_tokens_and_are_private_unless_the_spec_says_public(plans):
    endpoints = {r.name: r for r in plans["azureml-prod"].of_type(ENDPOINT) + plans["azureml-staging"].of_type(ENDPOINT)}
    assert len(endpoints) == 6
    for ep in endpoints.values():
        assert ep.inputs["properties"]["authMode"] == "AADToken", ep.urn
        assert ep.inputs["identity"] == {"type": "SystemAssigned"}, ep.urn
    public = {n for n, ep in endpoints.items() if ep.inputs["properties"]["publicNetworkAccess"] == "Enabled"}
    assert public == {"azureml-staging-bg-probe-endpoint"}
    assert all(ep.options["protect"] for n, ep in endpoints.items() if n.startswith("azureml-prod")), "prod endpoints are protected"


def traffic_of(plan: ResourcePlan, model: str) -> dict:
    step = named(plan, TRAFFIC, f"-{model}-traffic")
    [resource] = step.inputs["properties"]["template"]["resources"]
    return resource["properties"]


def test_traffic_map_follows_the_rollout_state(plans):
    assert traffic_of(plans["azureml-prod"], "fraud-xgb")["traffic"] == {slot("5.1.0"): 100.0}, "stable: one slot"
    assert traffic_of(plans["azureml-prod"], "llama3-70b-instruct")["traffic"] == {slot("2.0.1"): 100.0}, \
        "first deploy: one slot, no canary"
    canary = traffic_of(plans["azureml-prod"], "llama3-8b-chat")
    assert canary["traffic"] == {slot("1.3.2"): 90.0, slot("1.4.0"): 10.0}
    assert traffic_of(plans["azureml-prod"], "resnet50-vision")["traffic"] == {slot("3.1"): 80.0, slot("3.2"): 20.0}
    blue_green = traffic_of(plans["azureml-staging"], "bg-probe")
    assert blue_green["traffic"] == {slot("1"): 100.0, slot("2"): 0.0}
    assert blue_green["mirrorTraffic"] == {slot("2"): 10.0}
    assert blue_green["authMode"] == "AADToken", "the follow-up PUT keeps the endpoint's settings"


def test_the_stable_slot_is_left_as_an_earlier_run_deployed_it(plans):
    stable = named(plans["azureml-prod"], DEPLOYMENT, f"-llama3-8b-chat-{slot('1.3.2')}")
    new = named(plans["azureml-prod"], DEPLOYMENT, f"-llama3-8b-chat-{slot('1.4.0')}")
    assert stable.inputs["deploymentName"] == slot("1.3.2") and new.inputs["deploymentName"] == slot("1.4.0")
    assert set(stable.options["ignoreChanges"]) == {"sku.capacity", "properties"}, "the program knows only the new version"
    assert new.options["ignoreChanges"] == ["sku.capacity"]
    assert stable.inputs["tags"]["modelfleet:version"] == "1.3.2" and new.inputs["tags"]["modelfleet:version"] == "1.4.0"
    registered = named(plans["azureml-staging"], DEPLOYMENT, f"-bg-probe-{slot('1')}").inputs["properties"]["model"]
    assert registered.endswith("/1") or registered == "azureml-staging-bg-probe-model-version-id", registered


def test_traffic_is_applied_after_the_deployments_exist(plans):
    plan = plans["azureml-prod"]
    step = named(plan, TRAFFIC, "-llama3-8b-chat-traffic")
    deployments = {r.urn for r in plan.of_type(DEPLOYMENT) if "-llama3-8b-chat-" in r.name}
    assert len(deployments) == 2 and deployments <= set(step.options["dependsOn"])
    endpoint = named(plan, ENDPOINT, "-llama3-8b-chat-endpoint")
    assert set(endpoint.options["ignoreChanges"]) == {"properties.traffic", "properties.mirrorTraffic"}


def test_deployments_use_the_placed_instance_type_probes_and_request_settings(plans):
    d = named(plans["azureml-prod"], DEPLOYMENT, f"-llama3-8b-chat-{slot('1.4.0')}")
    props = d.inputs["properties"]
    assert props["instanceType"] == "Standard_NV36ads_A10_v5"
    assert props["endpointComputeType"] == "Managed"
    assert d.inputs["sku"] == {"name": "Default", "capacity": 2.0}, "the canary keeps the prod floor of 2"
    assert d.options["ignoreChanges"] == ["sku.capacity"], "autoscale owns the instance count"
    assert props["readinessProbe"]["initialDelay"] == "PT120S"
    assert props["livenessProbe"]["initialDelay"] == "PT120S"
    assert props["requestSettings"]["maxConcurrentRequestsPerInstance"] == 16.0, "2 × concurrency target 8"
    assert "MODEL_URI" not in props["environmentVariables"], "registered weights: Azure ML mounts them, nobody downloads"
    assert props["model"], "the Blob weights are registered and referenced by the deployment"


def autoscale_of(plan: ResourcePlan, suffix: str):
    return named(plan, AUTOSCALE, suffix)


def test_autoscale_maps_metrics_and_bounds(plans):
    prod = plans["azureml-prod"]
    fraud = autoscale_of(prod, f"-fraud-xgb-{slot('5.1.0')}-autoscale").inputs["profiles"][0]
    assert fraud["capacity"] == {"minimum": "3", "maximum": "20", "default": "3"}, "prod override: 3..20"
    out, scale_in = fraud["rules"]
    assert out["metricTrigger"]["metricName"] == "CpuUtilizationPercentage" and out["metricTrigger"]["threshold"] == 60.0
    assert out["scaleAction"]["direction"] == "Increase" and scale_in["scaleAction"]["direction"] == "Decrease"
    assert scale_in["metricTrigger"]["threshold"] < out["metricTrigger"]["threshold"]

    rps = autoscale_of(prod, f"-resnet50-vision-{slot('3.1')}-autoscale").inputs["profiles"][0]["rules"][0]["metricTrigger"]
    assert rps["metricName"] == "RequestsPerMinute" and rps["threshold"] == 200.0 * 60 and rps["dividePerInstance"] is True
    assert rps["dimensions"] == [{"dimensionName": "deployment", "operator": "Equals", "values": [slot("3.1")]}]

    conc = autoscale_of(prod, f"-llama3-8b-chat-{slot('1.3.2')}-autoscale").inputs["profiles"][0]
    assert conc["rules"][0]["metricTrigger"]["metricName"] == "ConnectionsActive"
    assert conc["rules"][0]["metricTrigger"]["threshold"] == round(8 / 0.9, 2), "target ÷ traffic share"
    canary = autoscale_of(prod, f"-llama3-8b-chat-{slot('1.4.0')}-autoscale").inputs["profiles"][0]
    assert canary["capacity"] == {"minimum": "2", "maximum": "2", "default": "2"}, \
        "a 10 % canary of 8 replicas keeps the prod floor of 2 (zone redundancy while it runs)"

    gpu = autoscale_of(plans["azureml-staging"], f"-bg-probe-{slot('2')}-autoscale").inputs["profiles"][0]
    assert gpu["rules"][0]["metricTrigger"]["metricName"] == "GpuUtilizationPercentage"
    assert gpu["capacity"]["minimum"] == "2", "the blue/green twin runs at full size"
    for setting in prod.of_type(AUTOSCALE):
        deployment = setting.name.removesuffix("-autoscale")
        assert setting.inputs["targetResourceUri"] == f"{deployment}-id", setting.urn


def test_each_endpoint_identity_gets_acr_pull_before_deploying(plans):
    plan = plans["azureml-prod"]
    roles = {r.name: r for r in plan.of_type(ROLE) if r.name.endswith("-acr-pull")}
    assert len(roles) == 4
    for role in roles.values():
        assert role.inputs["roleDefinitionId"].endswith(ACR_PULL), role.urn
    # the other grants are Blob reads of each az:// model's own container, never the account
    readers = [r for r in plan.of_type(ROLE) if not r.name.endswith("-acr-pull")]
    assert readers and all(r.name.endswith("-blob-reader") for r in readers)
    assert {r.inputs["scope"] for r in readers} == {STORAGE_ACCOUNTS.split('"')[1] + "/blobServices/default/containers/models"}
    d = named(plan, DEPLOYMENT, f"-fraud-xgb-{slot('5.1.0')}")
    assert roles["azureml-prod-fraud-xgb-acr-pull"].urn in d.options["dependsOn"]


def test_azure_weights_are_registered_and_mounted(plans):
    plan = plans["azureml-staging"]
    [version] = plan.of_type("azure-native:machinelearningservices:ModelVersion")
    assert version.inputs["properties"]["modelUri"] == "https://acmemodels.blob.core.windows.net/weights/bg/2/"
    assert version.inputs["version"] == "2"
    d = named(plan, DEPLOYMENT, f"-bg-probe-{slot('2')}")
    assert d.inputs["properties"]["model"] == "azureml-staging-bg-probe-model-version-id"
    env = plan.of_type("azure-native:machinelearningservices:EnvironmentVersion")
    triton = [e for e in env if "bg-probe" in e.name][0].inputs["properties"]
    # Azure ML has no command field: the launcher built FROM the pinned Triton image runs the profile's command
    assert re.fullmatch(r"mf[a-z0-9]+\.azurecr\.io/bg-probe:azureml-triton-[0-9a-f]{16}", triton["image"]), triton["image"]
    assert d.inputs["properties"]["environmentVariables"]["MODEL_DIR"] == "/var/azureml-app/azureml-models/bg-probe/2/2"
    assert triton["inferenceConfig"]["readinessRoute"] == {"path": "/v2/health/ready", "port": 8000.0}, "Triton readiness from its runtime profile"


def test_created_workspace_has_its_stores_and_links_the_registry(plans):
    plan = plans["azureml-staging"]
    [ws] = plan.of_type("azure-native:machinelearningservices:Workspace")
    for key in ("storageAccount", "keyVault", "applicationInsights", "containerRegistry"):
        assert ws.inputs.get(key), f"workspace {key} missing"
    [storage] = plan.of_type("azure-native:storage:StorageAccount")
    assert storage.inputs["allowBlobPublicAccess"] is False and storage.inputs["allowSharedKeyAccess"] is False
    assert plan.of_type("azure-native:resources:ResourceGroup"), "a created workspace without resource_group gets one"


def test_every_azure_resource_is_tagged(plans):
    untaggable = ("RoleAssignment", "ModelContainer", "ModelVersion", "EnvironmentContainer", "EnvironmentVersion",
                  "FederatedIdentityCredential")
    for plan in plans.values():
        for r in plan.resources:
            if r.type.startswith("azure-native:") and not r.type.endswith(untaggable):
                assert r.inputs.get("tags", {}).get("modelfleet:stack") == plan.stack, r.urn


def test_endpoint_urls_are_exported(plans):
    urls = plans["azureml-prod"].outputs
    assert set(urls) == {"fraud-xgb", "llama3-70b-instruct", "llama3-8b-chat", "resnet50-vision"}
    assert all(u.startswith("https://") and u.endswith(".eastus.inference.ml.azure.com/score") for u in urls.values())


def test_on_prem_preview_never_imports_azure_native():
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from modelfleet.preview import preview_stack\n"
        f"plan = preview_stack(Path({str(ROOT)!r}), 'lab-dev')\n"
        "print(json.dumps({'azure': any(m.startswith('pulumi_azure_native') for m in sys.modules), 'n': len(plan.resources)}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["n"] > 0 and result["azure"] is False
