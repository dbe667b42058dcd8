"""Production Azure: private AKS API servers and Azure ML deployments without public egress.

Rendered under Pulumi mocks: a production cluster the stack creates has a private API server (or a
public one limited to the stack's CIDRs); production Azure ML deployments have
egress_public_network_access Disabled and a created production workspace allows approved outbound
only, with a private endpoint to the storage account the weights come from. Placement refuses what
would contradict that (a public prod API server open to all, a Hub download in prod) with a located
error, and says how a private cluster is reached.
"""

from __future__ import annotations

import pytest

from modelfleet import mocked_cloud, preview
from modelfleet.environment import parse_stack
from modelfleet.errors import SpecError
from modelfleet.placement import place_stack
from modelfleet.spec import parse_spec

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
ACCOUNT_ID = f"{SUB}/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"
AKS = """config:
  azure-native:location: eastus
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:serving: deployment
  modelfleet:cluster: {{kind: aks, name: ml-aks-new, resource_group: ml-rg, create: true{extra}}}
  modelfleet:registry: {{kind: acr}}
  modelfleet:artifact_store: {{storage_accounts: {{acmemodels: "ACCOUNT"}}}}
""".replace("ACCOUNT", ACCOUNT_ID)
AZML = f"""config:
  azure-native:location: eastus
  modelfleet:environment: {{env}}
  modelfleet:platform: azureml
  modelfleet:workspace: {{workspace}}
  modelfleet:registry: {{{{kind: acr}}}}
  modelfleet:artifact_store: {{{{storage_accounts: {{{{acmemodels: "{ACCOUNT_ID}"}}}}}}}}
"""
CLF = """name: clf
version: "1"
owner: t
model: {uri: "az://acmemodels/clf/1/", framework: onnx}
serving: {runtime: custom, image: "acme.azurecr.io/clf@sha256:0000000000000000000000000000000000000000000000000000000000000000"}
resources: {cpu: 2, memory_gib: 4}
"""
CHAT = """name: chat
version: "2"
owner: t
model: {{uri: "{uri}", framework: huggingface}}
serving: {{runtime: vllm}}
resources: {{accelerator: T4:1, cpu: 4, memory_gib: 16}}
autoscaling: {{min_replicas: 1, max_replicas: 2, metric: concurrency, target: 4}}
"""


def azml(env: str = "prod", workspace: str = "{name: ml-prod-ws, create: true}") -> str:
    return AZML.format(env=env, workspace=workspace)


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("private")
    (project / "model_specs").mkdir()
    (project / "stacks").mkdir()
    (project / "model_specs" / "clf.yaml").write_text(CLF)
    (project / "model_specs" / "chat.yaml").write_text(CHAT.format(uri="az://acmemodels/llm/chat/2/"))
    stacks = {"aks-new": AKS.format(extra="") + '  modelfleet:models: ["clf"]\n',
              "aks-open": AKS.format(extra=", private: false, authorized_ip_ranges: [203.0.113.0/24]") + '  modelfleet:models: ["clf"]\n',
              "azml-prod": azml() + '  modelfleet:models: ["chat"]\n',
              "azml-dev": azml("dev", "{name: ml-dev-ws, resource_group: ml-rg}") + '  modelfleet:models: ["chat"]\n'}
    for name, text in stacks.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(preview._Mocks, "call", lambda self, args: mocked_cloud.call_result(args.token, args.args, self.region))
        return {name: preview.preview_stack(project, name) for name in stacks}


def cluster_of(plan):
    [cluster] = plan.of_type("azure-native:containerservice:ManagedCluster")
    return cluster.inputs


def test_a_production_cluster_the_stack_creates_has_a_private_api_server(plans) -> None:
    assert cluster_of(plans["aks-new"])["apiServerAccessProfile"] == {"enablePrivateCluster": True}
    [how] = [d for d in plans["aks-new"].diagnostics if d.field == "modelfleet:cluster.private"]
    assert how.level == "warning" and "peered VNet" in how.message and "az aks command invoke" in how.message


def test_a_public_production_api_server_is_limited_to_the_named_networks(plans) -> None:
    assert cluster_of(plans["aks-open"])["apiServerAccessProfile"] == {
        "enablePrivateCluster": False, "authorizedIPRanges": ["203.0.113.0/24"]}


def test_a_public_production_api_server_open_to_all_is_refused() -> None:
    stack = parse_stack(AKS.format(extra=", private: false"), "Pulumi.aks-x.yaml")
    sp = place_stack(stack, [parse_spec(CLF, "clf.yaml")])
    [error] = [d for d in sp.errors if d.field == "modelfleet:cluster.private"]
    assert "authorized_ip_ranges" in error.message and "To fix" in error.message
    stack = parse_stack(AKS.format(extra=", authorized_ip_ranges: [203.0.113.0/24]"), "Pulumi.aks-x.yaml")
    [error] = place_stack(stack, [parse_spec(CLF, "clf.yaml")]).errors
    assert error.field == "modelfleet:cluster.authorized_ip_ranges", "ranges mean nothing on a private server"


def test_authorized_ranges_must_be_networks() -> None:
    with pytest.raises(SpecError) as raised:
        parse_stack(AKS.format(extra=", private: false, authorized_ip_ranges: [203.0.113.7/24]"), "Pulumi.aks-x.yaml")
    assert "203.0.113.7/24" in str(raised.value) and "To fix" in str(raised.value)


def test_production_deployments_have_no_public_egress(plans) -> None:
    for name, expected in (("azml-prod", "Disabled"), ("azml-dev", "Enabled")):
        [deployment] = plans[name].of_type("azure-native:machinelearningservices:OnlineDeployment")
        assert deployment.inputs["properties"]["egressPublicNetworkAccess"] == expected, name
        [endpoint] = plans[name].of_type("azure-native:machinelearningservices:OnlineEndpoint")
        assert endpoint.inputs["properties"]["publicNetworkAccess"] == "Disabled", "network.public is false"


def test_a_created_production_workspace_allows_approved_outbound_only(plans) -> None:
    [ws] = plans["azml-prod"].of_type("azure-native:machinelearningservices:Workspace")
    network = ws.inputs["managedNetwork"]
    assert network["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert network["outboundRules"] == {"weights-acmemodels": {
        "type": "PrivateEndpoint", "category": "UserDefined",
        "destination": {"serviceResourceId": ACCOUNT_ID, "subresourceTarget": "blob", "sparkEnabled": False}}}


def test_a_hub_download_in_production_is_a_located_error() -> None:
    sp = place_stack(parse_stack(azml(), "Pulumi.azml-prod.yaml"),
                     [parse_spec(CHAT.format(uri="hf://meta-llama/Llama-3.1-8B-Instruct"), "chat.yaml")])
    [error] = [d for d in sp.errors if d.field == "model.uri" and "egress" in d.message]
    assert "az://" in error.message and "To fix" in error.message
    dev = place_stack(parse_stack(azml("dev"), "Pulumi.azml-dev.yaml"),
                      [parse_spec(CHAT.format(uri="hf://meta-llama/Llama-3.1-8B-Instruct"), "chat.yaml")])
    assert not dev.errors, "outside production the server downloads the Hub model itself"


def test_an_existing_production_workspace_is_told_what_deployments_must_reach() -> None:
    stack = parse_stack(azml(workspace="{name: ml-prod-ws, resource_group: ml-prod-rg}"), "Pulumi.azml-prod.yaml")
    sp = place_stack(stack, [parse_spec(CHAT.format(uri="az://acmemodels/llm/chat/2/"), "chat.yaml")])
    [warning] = [d for d in sp.diagnostics if d.field == "modelfleet:workspace"]
    assert "storage account acmemodels" in warning.message and ".azurecr.io" in warning.message
    assert "private_endpoint" in warning.message and "workspace.create: true" in warning.message
