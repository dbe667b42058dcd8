"""Azure ML endpoint identities read only what their model needs; secrets reach the server by reference.

Under Pulumi mocks: the endpoint's identity gets Storage Blob Data Reader on the model's container
(scope asserted exactly, never the account or a wildcard), Key Vault Secrets User on the one secret
its secret_env names, AcrPull on the stack's registry, all before the deployment starts; the secret
is an Azure ML secret-injection reference in the deployment's environment; the preview says per
model where the weights come from, how, under which identity and which secrets by reference; the
policy pack's identity rules pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelfleet import mocked_cloud, preview
from modelfleet.check import run_checks
from modelfleet.environment import parse_stack
from modelfleet.errors import SpecError
from modelfleet.placement import place_stack
from modelfleet.render_preview import preview_json
from modelfleet.spec import parse_spec
from modelfleet.targets.azureml import deployment_name

ROOT = Path(__file__).resolve().parent.parent
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
ACCOUNT_ID = f"{SUB}/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"
VAULT_ID = f"{SUB}/resourceGroups/ml-sec-rg/providers/Microsoft.KeyVault/vaults/ml-secrets"
SECRET_URI = "https://ml-secrets.vault.azure.net/secrets/hf-token/0123456789abcdef0123456789abcdef"
STACK = f"""config:
  azure-native:location: eastus
  modelfleet:environment: staging
  modelfleet:platform: azureml
  modelfleet:workspace: {{name: ml-ws, resource_group: ml-rg}}
  modelfleet:registry: {{kind: acr}}
  modelfleet:artifact_store: {{storage_accounts: {{acmemodels: "{ACCOUNT_ID}"}}, key_vaults: {{ml-secrets: "{VAULT_ID}"}}}}
  modelfleet:secrets: {{hf-token: {{key_vault: "{SECRET_URI}"}}}}
"""
SPECS = {
    "chat": ("vllm", "az://acmemodels/llm/chat/2/"),
    "hub": ("tgi", "hf://meta-llama/Llama-3.1-8B-Instruct"),
    "ledger": ("custom", "models:/ledger/7"),
}
ROLE = "azure-native:authorization:RoleAssignment"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def spec_text(name: str, runtime: str, uri: str) -> str:
    image = ", image: acme.azurecr.io/ledger:1" if runtime == "custom" else ""
    return f"""name: {name}
version: "2"
owner: t
model: {{uri: "{uri}", framework: huggingface}}
serving: {{runtime: {runtime}{image}, secret_env: {{HF_TOKEN: hf-token}}}}
resources: {{accelerator: T4:1, cpu: 4, memory_gib: 16}}
autoscaling: {{min_replicas: 1, max_replicas: 2, metric: concurrency, target: 4}}
"""


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("azml-identity")
    (project / "model_specs").mkdir()
    (project / "stacks").mkdir()
    for name, (runtime, uri) in SPECS.items():
        (project / "model_specs" / f"{name}.yaml").write_text(spec_text(name, runtime, uri))
    (project / "stacks" / "Pulumi.azml.yaml").write_text(STACK)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(preview._Mocks, "call", lambda self, args: mocked_cloud.call_result(args.token, args.args, self.region))
        return preview.preview_stack(project, "azml")


def roles(plan, model: str) -> dict[str, dict]:
    return {r.name.removeprefix(f"azml-{model}-"): r for r in plan.of_type(ROLE) if r.name.startswith(f"azml-{model}-")}


def test_the_endpoint_identity_reads_only_the_models_container(plan) -> None:
    chat = roles(plan, "chat")
    reader = chat["blob-reader"]
    assert reader.inputs["scope"] == f"{ACCOUNT_ID}/blobServices/default/containers/llm"
    assert reader.inputs["roleDefinitionId"] == f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_READER}"
    assert reader.inputs["principalType"] == "ServicePrincipal"
    # the Hub model and the workspace-registry model get no store role from the stack
    assert "blob-reader" not in roles(plan, "hub") and "blob-reader" not in roles(plan, "ledger")
    for role in plan.of_type(ROLE):
        scope = role.inputs["scope"]
        assert "*" not in scope and not scope.endswith("/storageAccounts/acmemodels") and scope != SUB, role.name


def test_each_secret_is_readable_alone_and_injected_by_reference(plan) -> None:
    for model in SPECS:
        secret = roles(plan, model)["secret-hf-token"]
        assert secret.inputs["scope"] == f"{VAULT_ID}/secrets/hf-token", "one secret, not the vault"
        assert secret.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{SECRETS_USER}")
        [deployment] = [r for r in plan.of_type(DEPLOYMENT) if r.name == f"azml-{model}-{deployment_name('2')}"]
        assert deployment.inputs["properties"]["environmentVariables"]["HF_TOKEN"] == "${{keyvault:" + SECRET_URI + "}}"
        granted = {r.urn for r in roles(plan, model).values()}
        assert granted <= set(deployment.options["dependsOn"]), "every grant exists before the deployment starts"


def test_preview_says_where_how_who_and_which_secrets(plan) -> None:
    artifacts = preview_json([plan])["stacks"][0]["models"]
    by_model = {a["model"]: a for a in artifacts}
    chat, hub, ledger = by_model["chat"], by_model["hub"], by_model["ledger"]
    assert chat["source"] == "az://acmemodels/llm/chat/2/" and chat["method"] == "registered-model"
    assert "Storage Blob Data Reader on container acmemodels/llm only" in chat["identity"]
    assert hub["method"] == "hub-download" and "no cloud identity" in hub["identity"]
    assert ledger["method"] == "registered-model" and "no store role from the stack" in ledger["identity"]
    for a in artifacts:
        assert a["secrets"] == [{"env": "HF_TOKEN", "secret": "hf-token", "reference": f"key_vault {SECRET_URI}"}]


def test_identity_rules_pass(plan) -> None:
    report = run_checks([plan], ROOT / "policies" / "config")
    assert ("MF-AZ-006", "mandatory") in report.rules, "the Blob-scope rule was evaluated"
    assert not {v.rule for v in report.violations} & {"MF-AZ-006", "MF-IAM-001"}, report.violations


def test_a_vault_the_stack_does_not_locate_is_a_warning_naming_the_setting() -> None:
    stack = parse_stack(STACK.replace(f', key_vaults: {{ml-secrets: "{VAULT_ID}"}}', "").replace(
        "/0123456789abcdef0123456789abcdef", ""), "Pulumi.azml.yaml")
    sp = place_stack(stack, [parse_spec(spec_text("chat", "vllm", "az://acmemodels/llm/chat/2/"), "chat.yaml")])
    warnings = [d.message for d in sp.diagnostics if d.field == "serving.secret_env.HF_TOKEN"]
    assert any("modelfleet:artifact_store.key_vaults.ml-secrets" in w for w in warnings), warnings
    assert any("pin the version" in w for w in warnings), warnings
    assert not sp.errors


def test_key_vault_ids_are_checked_where_the_stack_loads() -> None:
    with pytest.raises(SpecError) as raised:
        parse_stack(STACK.replace(VAULT_ID, f"{SUB}/resourceGroups/x/providers/Microsoft.KeyVault/vaults/other"), "Pulumi.azml.yaml")
    assert "key_vaults.ml-secrets" in str(raised.value) and "az keyvault show" in str(raised.value)
