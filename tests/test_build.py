"""`modelfleet build` without a daemon: content digests, build contexts, input errors, exit 3
when docker is not there, and registry credentials per kind (ECR via moto, ACR token
exchange against a local HTTP server, external via env). Real builds and pushes are in
tests/integration/."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelfleet.build import content_digest, model_context, tag_safe
from modelfleet.cli import app
from modelfleet.environment import load_stack_file
from modelfleet.errors import EnvironmentError_
from modelfleet.registry_auth import Login, acr_exchange, acr_host, login_for, split_url

TINY = """\
name: tiny-clf
version: 0.1.0
owner: ml-team
model: {uri: file://./tiny-model, framework: sklearn}
serving: {runtime: custom, image: registry.local/tiny-clf:0.1.0}
resources: {accelerator: none, cpu: 1, memory_gib: 1}
"""


@pytest.fixture()
def tiny(project: Path) -> Path:
    """The bundled project plus a model whose weights are a local directory."""
    (project / "model_specs" / "tiny-clf.yaml").write_text(TINY)
    (project / "model_specs" / "tiny-model").mkdir()
    (project / "model_specs" / "tiny-model" / "w.bin").write_bytes(b"\x00\x01")
    return project


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_content_digest_is_the_documented_formula(tmp_path: Path) -> None:
    root = _write(tmp_path / "m", {"b/w.bin": b"weights", "a.json": b"{}"})
    expected = hashlib.sha256()
    for rel, data in (("a.json", b"{}"), ("b/w.bin", b"weights")):
        expected.update(f"{rel}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    assert content_digest(root) == f"sha256:{expected.hexdigest()}"


def test_content_digest_ignores_mtimes_but_not_names_or_bytes(tmp_path: Path) -> None:
    files = {"config.json": b"{}", "1/model.onnx": b"abc"}
    first = content_digest(_write(tmp_path / "one", files))
    os.utime(tmp_path / "one" / "config.json", (1, 1))
    assert content_digest(tmp_path / "one") == first
    assert content_digest(_write(tmp_path / "two", files)) == first
    assert content_digest(_write(tmp_path / "three", {**files, "1/model.onnx": b"abd"})) != first
    assert content_digest(_write(tmp_path / "four", {"config.json": b"{}", "2/model.onnx": b"abc"})) != first


def test_model_context_is_a_scratch_image_copying_to_models(tmp_path: Path) -> None:
    root = _write(tmp_path / "m", {"w.bin": b"x"})
    with model_context(root, "scratch") as handle, tarfile.open(fileobj=handle) as tar:
        names = tar.getnames()
        dockerfile = tar.extractfile("Dockerfile").read().decode()  # type: ignore[union-attr]
        assert all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers()), "layers must not depend on local mtimes/owners"
    assert dockerfile == "FROM scratch\nCOPY models/ /models/\n"
    assert "models/w.bin" in names


def test_tags_are_docker_safe() -> None:
    assert tag_safe("1.4.0+cu121") == "1.4.0-cu121"
    assert len(tag_safe("x" * 300)) == 128


@pytest.mark.parametrize(("args", "message"), [
    (["nope", "--stack", "lab-dev"], "no model named 'nope'"),
    (["llama3-70b-instruct", "--stack", "lab-dev"], "does not serve"),
    (["llama3-8b-chat", "--stack", "lab-dev"], "nothing to build"),
])
def test_input_errors_exit_2(cli, project: Path, args: list[str], message: str) -> None:
    result = cli.invoke(app, ["build", *args, "--project-dir", str(project)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "To fix" in result.output


def test_missing_model_directory_exit_2(cli, tiny: Path) -> None:
    (tiny / "model_specs" / "tiny-model" / "w.bin").unlink()
    (tiny / "model_specs" / "tiny-model").rmdir()
    (tiny / "stacks" / "Pulumi.lab-dev.yaml").write_text((tiny / "stacks" / "Pulumi.lab-dev.yaml").read_text().replace('"fraud-*"', '"fraud-*", "tiny-*"'))
    result = cli.invoke(app, ["build", "tiny-clf", "--stack", "lab-dev", "--project-dir", str(tiny)])
    assert result.exit_code == 2 and "is not a directory" in result.output


def test_daemon_unreachable_exit_3(cli, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    result = cli.invoke(app, ["build", "tiny-clf", "--stack", "lab-kserve", "--project-dir", str(tiny)])
    assert result.exit_code == 3, result.output
    assert "docker daemon unreachable" in result.output and "dockerd" in result.output


def test_split_url_and_repository_names() -> None:
    assert split_url("https://123.dkr.ecr.us-east-1.amazonaws.com") == ("123.dkr.ecr.us-east-1.amazonaws.com", "")
    assert split_url("harbor.lab.local/ml/") == ("harbor.lab.local", "ml")
    assert Login("h:5000", "ml").repository("lab", "m", "external") == "h:5000/ml/m"
    assert Login("h", "").repository("eks-prod", "m", "ecr") == "h/eks-prod/m"
    assert Login("", "").repository("eks-prod", "m", "ecr") == "eks-prod/m"


def test_ecr_credentials_from_authorization_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    path = tmp_path / "Pulumi.aws.yaml"
    path.write_text("config:\n  aws:region: eu-west-1\n  modelfleet:environment: dev\n  modelfleet:platform: sagemaker\n"
                    "  modelfleet:registry: {kind: ecr}\n")
    stack = load_stack_file(path)
    with moto.mock_aws():
        login = login_for(stack)
        overridden = login_for(stack, "127.0.0.1:5000")
    assert login.host == "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "the host comes from the token's proxyEndpoint"
    assert (login.username, login.password) == ("AWS", "123456789012-auth-token")
    assert overridden.host == "127.0.0.1:5000" and overridden.password == login.password


def test_external_credentials_from_env_else_docker_config(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    stack = load_stack_file(root / "stacks" / "Pulumi.lab-dev.yaml")
    monkeypatch.delenv("MODELFLEET_REGISTRY_USERNAME", raising=False)
    assert login_for(stack).auth_config is None, "without env credentials the docker config is used"
    monkeypatch.setenv("MODELFLEET_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("MODELFLEET_REGISTRY_PASSWORD", "pw")
    assert login_for(stack).auth_config == {"username": "ci", "password": "pw", "serveraddress": "harbor.lab.local"}


class _Exchange(http.server.BaseHTTPRequestHandler):
    seen: dict[str, list[str]] = {}

    def do_POST(self) -> None:  # noqa: N802 - http.server hook
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Exchange.seen = urllib.parse.parse_qs(body.decode())
        payload = json.dumps({"refresh_token": "acr-refresh"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture()
def exchange_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Exchange)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_acr_token_exchange(exchange_server: str) -> None:
    token = base64.b64encode(b"aad").decode()
    assert acr_exchange(exchange_server, token, scheme="http") == "acr-refresh"
    assert _Exchange.seen == {"grant_type": ["access_token"], "service": [exchange_server], "access_token": [token]}


def test_acr_without_a_token_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pulumi_azure_native")
    for name in ("MODELFLEET_AZURE_ACCESS_TOKEN", "AZURE_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(__import__("sys").modules, "azure.identity", None)  # as if azure-identity were not installed
    path = tmp_path / "Pulumi.az.yaml"
    path.write_text("config:\n  azure-native:location: eastus\n  modelfleet:environment: dev\n  modelfleet:platform: azureml\n"
                    "  modelfleet:registry: {kind: acr}\n  modelfleet:workspace: {name: ws, resource_group: rg}\n")
    stack = load_stack_file(path)
    assert acr_host(stack).endswith(".azurecr.io") and acr_host(stack) == acr_host(stack)
    with pytest.raises(EnvironmentError_, match="MODELFLEET_AZURE_ACCESS_TOKEN") as info:
        login_for(stack)
    assert info.value.exit_code == 3


def test_tar_helper_reads_back(tmp_path: Path) -> None:
    """The temporary context is a readable tar stream (what the docker SDK uploads)."""
    root = _write(tmp_path / "m", {"a": b"1"})
    with model_context(root, "busybox") as handle:
        data = handle.read()
    assert tarfile.open(fileobj=io.BytesIO(data)).extractfile("Dockerfile").read().startswith(b"FROM busybox")  # type: ignore[union-attr]
