"""`modelfleet build --push` against a real dockerd and a real registry (see conftest.py).

Each push is read back over the registry HTTP API (`/v2/<name>/manifests/<tag>`) and the
manifest digest must equal the digest the command printed; the model-artifact image's
config must carry the OCI labels and the content digest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from modelfleet.build import CONTENT_LABEL, TITLE_LABEL, VERSION_LABEL, content_digest
from modelfleet.cli import app

from .conftest import ECR_PASSWORD, ECR_USER, PASSWORD, USER, Registry, _free_port

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
SPEC = """\
name: tiny-clf
version: 0.1.0
owner: ml-team
model: {uri: file://./tiny-model, framework: sklearn, size_gib: 0.001}
serving: {runtime: custom, image: registry.local/tiny-clf:0.1.0, port: 8080}
resources: {accelerator: none, cpu: 1, memory_gib: 1}
build: {context: ../serving, dockerfile: Dockerfile, args: {BASE: scratch}}
"""


def _stack(platform_block: str, registry: str) -> str:
    return f"config:\n  modelfleet:environment: dev\n{platform_block}  modelfleet:registry: {registry}\n  modelfleet:models: ['tiny-*']\n"


@pytest.fixture()
def tiny_project(tmp_path: Path, registry: Registry) -> Path:
    """A project with one small model: serving context (examples/serving-build) and a file:// model directory."""
    (tmp_path / "model_specs").mkdir()
    (tmp_path / "stacks").mkdir()
    (tmp_path / "model_specs" / "tiny-clf.yaml").write_text(SPEC)
    model = tmp_path / "model_specs" / "tiny-model"
    (model / "1").mkdir(parents=True)
    (model / "1" / "model.json").write_text('{"weights": [0.25, 0.75]}\n')
    (model / "config.pbtxt").write_text('name: "tiny-clf"\nbackend: "python"\n')
    shutil.copytree(ROOT / "examples" / "serving-build", tmp_path / "serving")
    onprem = "  modelfleet:platform: kubernetes\n  modelfleet:cluster: {kind: onprem, gpu_nodes: []}\n"
    (tmp_path / "stacks" / "Pulumi.lab.yaml").write_text(_stack(onprem, f"{{kind: external, url: '{registry.host}/ml'}}"))
    sagemaker = "  aws:region: us-east-1\n  modelfleet:platform: sagemaker\n"
    (tmp_path / "stacks" / "Pulumi.aws-dev.yaml").write_text(_stack(sagemaker, "{kind: ecr}"))
    return tmp_path


@pytest.fixture()
def daemon(monkeypatch: pytest.MonkeyPatch, docker_host: str) -> str:
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    return docker_host


def _run(cli, project: Path, *args: str):
    return cli.invoke(app, ["build", "tiny-clf", *args, "--format", "json", "--project-dir", str(project)])


def _manifest(registry: Registry, repository: str, tag: str, user: str = USER, password: str = PASSWORD) -> tuple[str, dict]:
    name = repository.split("/", 1)[1]  # drop host:port
    headers, body = registry.get(f"/v2/{name}/manifests/{tag}", user=user, password=password, accept=MANIFEST_TYPES)
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert headers.get("Docker-Content-Digest") == digest, "the registry's digest header must match the manifest bytes"
    return digest, json.loads(body)


def test_push_to_external_registry_and_read_back(cli, tiny_project: Path, registry: Registry, daemon: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELFLEET_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("MODELFLEET_REGISTRY_PASSWORD", PASSWORD)
    result = _run(cli, tiny_project, "--stack", "lab", "--push")
    assert result.exit_code == 0, result.output
    images = {i["role"]: i for i in json.loads(result.stdout)["images"]}
    assert set(images) == {"serving", "model"}
    model_digest = content_digest(tiny_project / "model_specs" / "tiny-model")
    assert images["model"]["content_digest"] == model_digest
    assert images["model"]["tags"] == ["model-0.1.0", f"model-sha256-{model_digest.split(':')[1]}"]
    for image in images.values():
        assert image["repository"] == f"{registry.host}/ml/tiny-clf"
        for tag in image["tags"]:
            digest, _ = _manifest(registry, image["repository"], tag)
            assert digest == image["digest"], f"{image['repository']}:{tag} in the registry is {digest}, command said {image['digest']}"
    _, manifest = _manifest(registry, images["model"]["repository"], "model-0.1.0")
    _, config = registry.get(f"/v2/ml/tiny-clf/blobs/{manifest['config']['digest']}")
    labels = json.loads(config)["config"]["Labels"]
    assert labels[TITLE_LABEL] == "tiny-clf" and labels[VERSION_LABEL] == "0.1.0" and labels[CONTENT_LABEL] == model_digest
    assert len(manifest["layers"]) == 1, "a FROM scratch model image is one layer: the model directory"


def test_ecr_login_with_authorization_token(cli, tiny_project: Path, registry: Registry, daemon: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """ECR path: credentials from GetAuthorizationToken (moto), host overridden to the local registry."""
    moto = pytest.importorskip("moto")
    for name in ("MODELFLEET_REGISTRY_USERNAME", "MODELFLEET_REGISTRY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        result = _run(cli, tiny_project, "--stack", "aws-dev", "--push", "--registry", registry.host)
    assert result.exit_code == 0, result.output
    images = json.loads(result.stdout)["images"]
    model = next(i for i in images if i["role"] == "model")
    assert model["repository"] == f"{registry.host}/aws-dev/tiny-clf", "ECR repositories are <stack>/<model>"
    digest, _ = _manifest(registry, model["repository"], "model-0.1.0", user=ECR_USER, password=ECR_PASSWORD)
    assert digest == model["digest"]


def test_wrong_credentials_exit_3(cli, tiny_project: Path, registry: Registry, daemon: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELFLEET_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("MODELFLEET_REGISTRY_PASSWORD", "wrong")
    result = _run(cli, tiny_project, "--stack", "lab", "--push")
    assert result.exit_code == 3, result.output
    problem = json.loads(result.output)["problems"][0]  # --format json: the error is JSON on stdout
    assert problem["fix"] and "credentials" in problem["fix"]


def test_unreachable_registry_exit_3(cli, tiny_project: Path, daemon: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELFLEET_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("MODELFLEET_REGISTRY_PASSWORD", PASSWORD)
    closed = f"127.0.0.1:{_free_port()}"
    result = _run(cli, tiny_project, "--stack", "lab", "--push", "--registry", f"{closed}/ml")
    assert result.exit_code == 3, result.output
    assert "unreachable" in result.output and "start the registry" in result.output


def test_build_without_push_tags_locally(cli, tiny_project: Path, registry: Registry, daemon: str) -> None:
    import docker

    result = _run(cli, tiny_project, "--stack", "lab")
    assert result.exit_code == 0, result.output
    serving = next(i for i in json.loads(result.stdout)["images"] if i["role"] == "serving")
    assert serving["digest"] is None
    client = docker.DockerClient(base_url=daemon)
    image = client.images.get(f"{serving['repository']}:0.1.0")
    assert f"{serving['repository']}:{serving['tags'][1]}" in image.tags
    assert image.labels[CONTENT_LABEL] == content_digest(tiny_project / "serving")
    assert image.labels["org.opencontainers.image.source"], "the Dockerfile's own labels are kept"
    client.close()


def test_an_interrupted_build_leaves_no_dangling_images(cli, tiny_project: Path, daemon: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the middle of a build: the steps already built are removed, not left dangling."""
    import docker

    import modelfleet.build as build_module

    client = docker.DockerClient(base_url=daemon)
    before = {i.id for i in client.images.list(filters={"dangling": True})}
    real_update = build_module.Progress.update

    def interrupt_at_step_5(self, task, **kwargs):  # the COPY steps before it have made images
        if "Step 5/" in str(kwargs.get("description", "")):
            raise KeyboardInterrupt
        return real_update(self, task, **kwargs)

    monkeypatch.setattr(build_module.Progress, "update", interrupt_at_step_5)
    # a fresh context so no step comes from the cache of an earlier test's build
    (tiny_project / "serving" / "serving.json").write_text('{"interrupted": true}\n')
    result = _run(cli, tiny_project, "--stack", "lab")
    assert result.exit_code == 130, result.output
    after = {i.id for i in client.images.list(filters={"dangling": True})}
    assert after - before == set(), f"dangling images left: {sorted(after - before)}"
