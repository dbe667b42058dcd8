"""Model URIs on every target: the README table is the code's table, each scheme renders the fetch step,
volume and environment it claims, and every scheme a target cannot serve is a located error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.kubernetes import artifacts as k8s_artifacts
from components.kubernetes import pod
from modelfleet.artifacts import SCHEMES, SUPPORT, Unsupported, support_table
from modelfleet.environment import parse_stack
from modelfleet.errors import SpecError
from modelfleet.placement import place_stack
from modelfleet.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent
URIS = {
    "s3": "s3://acme-models/m/1/",
    "gs": "gs://acme-models/m/1/",
    "az": "az://acmemodels/models/m/1/",
    "hf": "hf://acme/m:3f2a1b",
    "oci": "oci://harbor.lab.local/ml/m@sha256:" + "a" * 64,
    "pvc": "pvc://model-store/m/1",
    "models": "models:/m/1",
    "file": "file://./weights",
}
STACKS = {
    "deployment": """config:
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:serving: deployment
  modelfleet:cluster: {kind: onprem, gpu_nodes: [{name: n1, accelerator: L4, count: 4}]}
  modelfleet:registry: {kind: external, url: harbor.lab.local/ml}
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
""",
    "kserve": """config:
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:serving: kserve
  modelfleet:cluster: {kind: onprem, gpu_nodes: [{name: n1, accelerator: L4, count: 4}]}
  modelfleet:registry: {kind: external, url: harbor.lab.local/ml}
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
""",
    "sagemaker": """config:
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: sagemaker
  modelfleet:registry: {kind: ecr}
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
""",
    "azureml": """config:
  azure-native:location: eastus
  modelfleet:environment: dev
  modelfleet:platform: azureml
  modelfleet:workspace: {name: ws, resource_group: rg}
  modelfleet:registry: {kind: acr}
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
""",
}


def stack(engine: str, extra: str = ""):
    return parse_stack(STACKS[engine] + extra, f"Pulumi.{engine}.yaml")


def spec(uri: str, runtime: str = "vllm", extra: str = ""):
    return parse_spec(f"""name: m
version: "1"
owner: t
model: {{uri: "{uri}", framework: huggingface, size_gib: 4}}
serving: {{runtime: {runtime}, port: 8000}}
resources: {{accelerator: L4:1, cpu: 4, memory_gib: 16}}
{extra}""", "m.yaml")


def placed(engine: str, uri: str, runtime: str = "vllm", extra_stack: str = "", extra_spec: str = ""):
    [p] = place_stack(stack(engine, extra_stack), [spec(uri, runtime, extra_spec)]).placements
    return p


def errors(p, field: str = "model.uri") -> list[str]:
    return [d.message for d in p.diagnostics if d.level == "error" and d.field == field]


def test_readme_shows_the_table_the_code_uses():
    readme = (ROOT / "README.md").read_text()
    assert support_table() in readme, "README's Model URIs table differs from modelfleet.artifacts.SUPPORT: paste support_table()"


@pytest.mark.parametrize("engine", ["deployment", "kserve", "sagemaker", "azureml"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_on_every_engine_is_served_or_a_located_error(scheme: str, engine: str):
    p = placed(engine, URIS[scheme])
    cell = SUPPORT[(scheme, engine)]
    found = errors(p)
    if isinstance(cell, Unsupported):
        assert found and cell.reason in found[0] and "To fix:" in found[0], (scheme, engine, found)
        if scheme == "file":
            assert "modelfleet build" in found[0]
    elif scheme == "models" and engine == "sagemaker":
        assert found and "sqlite" in found[0], "an http tracking server cannot be asked before SageMaker downloads"
    else:
        assert not found, (scheme, engine, found)
        assert p.artifact is not None and p.artifact.method != "none"


def test_deployment_fetch_steps_per_scheme_family():
    images = {
        "s3": ("kserve/storage-initializer:", ["s3://acme-models/m/1/", "/mnt/models"]),
        "gs": ("kserve/storage-initializer:", ["gs://acme-models/m/1/", "/mnt/models"]),
        "az": ("kserve/storage-initializer:", ["https://acmemodels.blob.core.windows.net/models/m/1/", "/mnt/models"]),
        "hf": ("kserve/storage-initializer:", ["hf://acme/m:3f2a1b", "/mnt/models"]),
        "models": ("ghcr.io/mlflow/mlflow:", ["--artifact-uri", "models:/m/1", "--dst-path", "/mnt/models"]),
    }
    for scheme, (image, args) in images.items():
        p = placed("deployment", URIS[scheme])
        [init] = pod.init_containers(p)
        assert init["image"].startswith(image) and init["args"] == args, scheme
        assert {"name": "model", "mountPath": "/mnt/models"} in init["volumeMounts"]
        assert init["securityContext"]["readOnlyRootFilesystem"] is True
        assert "emptyDir" in k8s_artifacts.model_volume(p)
    mlflow = pod.init_containers(placed("deployment", URIS["models"]))[0]
    assert mlflow["command"] == ["mlflow", "artifacts", "download"]
    assert {"name": "MLFLOW_TRACKING_URI", "value": "https://mlflow.example.com"} in mlflow["env"]
    oci = pod.init_containers(placed("deployment", URIS["oci"]))[0]
    assert oci["image"] == URIS["oci"].removeprefix("oci://") and oci["imagePullPolicy"] == "IfNotPresent"
    assert oci["command"] == ["/bin/sh", "-c", "cp -R /models/. /mnt/models/"]


def test_pvc_mounts_the_claim_with_its_sub_path_and_fetches_nothing():
    p = placed("deployment", "pvc://model-store/llama/1.4.0/")
    assert pod.init_containers(p) == []
    assert k8s_artifacts.model_volume(p) == {"name": "model", "persistentVolumeClaim": {"claimName": "model-store", "readOnly": True}}
    assert k8s_artifacts.model_mount(p) == {"name": "model", "mountPath": "/mnt/models", "readOnly": True, "subPath": "llama/1.4.0"}


def test_stack_images_replace_the_pinned_fetch_images():
    digest = "harbor.lab.local/mirror/mlflow:v3@sha256:" + "b" * 64
    [init] = pod.init_containers(placed("deployment", URIS["models"]), {"mlflow_fetch": digest})
    assert init["image"] == digest and init["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.parametrize(("scheme", "storage_uri"), [
    ("s3", "s3://acme-models/m/1/"), ("gs", "gs://acme-models/m/1/"),
    ("az", "https://acmemodels.blob.core.windows.net/models/m/1/"), ("hf", "hf://acme/m:3f2a1b"),
    ("oci", URIS["oci"]), ("pvc", "pvc://model-store/m/1"),
])
def test_kserve_gets_its_own_schemes(scheme: str, storage_uri: str):
    p = placed("kserve", URIS[scheme])
    assert k8s_artifacts.kserve_storage(p) == storage_uri
    assert pod.init_containers(p) == [], "KServe fetches these itself"


def test_kserve_with_an_http_tracking_server_fetches_with_mlflows_client():
    p = placed("kserve", URIS["models"])
    assert k8s_artifacts.kserve_storage(p) is None
    assert pod.init_containers(p)[0]["command"] == ["mlflow", "artifacts", "download"]


@pytest.mark.parametrize(("uri", "words"), [
    ("pvc:///weights", "names no PersistentVolumeClaim"),
    ("pvc://Bad_Claim/x", "not a Kubernetes object name"),
    ("az://acmemodels", "needs a storage account and a container"),
    ("hf://just-a-name", "is not <org>/<model>"),
    ("models:/fraud", "names no version or alias"),
    ("s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@acme-models/m/", "credentials in its user-info"),
])
def test_uri_shapes_that_cannot_work_are_located_spec_errors(uri: str, words: str):
    with pytest.raises(SpecError) as caught:
        spec(uri)
    [problem] = caught.value.problems
    assert problem.field == "model.uri" and problem.line == 4 and words in problem.message and problem.fix


def test_credentials_in_a_uri_never_echo_back():
    with pytest.raises(SpecError) as caught:
        spec("s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@acme-models/m/")
    rendered = caught.value.problems[0].render() + str(caught.value.problems[0].as_dict())
    assert "wJalrXUtnFEMI" not in rendered and "secret_env" in rendered


def test_models_uri_without_a_tracking_uri_says_which_setting():
    plain = STACKS["deployment"].replace('  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}\n', "")
    [p] = place_stack(parse_stack(plain, "Pulumi.x.yaml"), [spec(URIS["models"])]).placements
    [message] = errors(p)
    assert "modelfleet:mlflow" in message and "tracking_uri" in message


def _registry(tmp_path: Path, source: str) -> str:
    mlflow = pytest.importorskip("mlflow")
    store = f"sqlite:///{tmp_path / 'registry.db'}"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
        client.create_registered_model("m")
        client.create_model_version("m", source=source, run_id=None)
        client.set_registered_model_alias("m", "champion", "1")
    return store


def test_models_uri_resolves_offline_from_a_sqlite_registry(tmp_path: Path):
    store = _registry(tmp_path, "s3://mlflow-artifacts/7/abc/artifacts/model")
    extra = f'  modelfleet:mlflow: {{tracking_uri: "{store}"}}\n'
    for uri in ("models:/m/1", "models:/m@champion"):
        sm = STACKS["sagemaker"].replace('  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}\n', extra)
        [p] = place_stack(parse_stack(sm, "Pulumi.sm.yaml"), [spec(uri)]).placements
        assert not errors(p), errors(p)
        assert p.artifact.fetch_uri == "s3://mlflow-artifacts/7/abc/artifacts/model" and p.artifact.resolved_from == uri
        assert p.artifact.method == "platform-download"
    dep = STACKS["deployment"].replace('  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}\n', extra)
    [p] = place_stack(parse_stack(dep, "Pulumi.d.yaml"), [spec("models:/m/1")]).placements
    assert pod.init_containers(p)[0]["args"] == ["s3://mlflow-artifacts/7/abc/artifacts/model", "/mnt/models"]


def test_unknown_registry_version_and_missing_database_are_errors(tmp_path: Path):
    store = _registry(tmp_path, "s3://mlflow-artifacts/1/")
    dep = STACKS["deployment"].replace("https://mlflow.example.com", store)
    [p] = place_stack(parse_stack(dep, "Pulumi.d.yaml"), [spec("models:/m/9")]).placements
    assert "cannot resolve models:/m/9" in errors(p)[0]
    missing = STACKS["deployment"].replace("https://mlflow.example.com", f"sqlite:///{tmp_path / 'nope.db'}")
    [p] = place_stack(parse_stack(missing, "Pulumi.d.yaml"), [spec("models:/m/1")]).placements
    assert "does not exist" in errors(p)[0]
    assert not (tmp_path / "nope.db").exists(), "resolving must not create an empty registry"


@pytest.mark.parametrize("runtime", ["triton", "torchserve", "tfserving"])
@pytest.mark.parametrize("engine", ["sagemaker", "azureml"])
def test_hub_models_only_where_the_runtime_downloads_them(runtime: str, engine: str):
    assert "cannot download from the Hugging Face Hub" in errors(placed(engine, URIS["hf"], runtime))[0]
    for llm in ("vllm", "tgi"):
        p = placed(engine, URIS["hf"], llm)
        assert not errors(p) and p.artifact.method == "hub-download"


def test_preview_names_where_how_and_who_for_every_model():
    from modelfleet.preview import preview_stack
    from modelfleet.render_preview import preview_json

    [entry] = preview_json([preview_stack(ROOT, "lab-dev")])["stacks"]
    models = {m["model"]: m for m in entry["models"]}
    assert set(models) == {"fraud-xgb", "llama3-8b-chat", "resnet50-vision"}
    assert models["fraud-xgb"]["method"] == "init-container" and "mlflow artifacts download" in models["fraud-xgb"]["how"]
    assert models["llama3-8b-chat"]["source"] == "s3://acme-models/llama3-8b-instruct/1.4.0/"
    assert all(m["identity"] for m in models.values())


def test_schema_lists_secret_env():
    schema = (ROOT / "model_specs" / "schema.json").read_text()
    assert re.search(r'"secret_env"', schema)
