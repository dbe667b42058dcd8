"""The reaching half of `smoke`, end to end through the CLI with each platform's own client:
- Kubernetes: the real Kubernetes client against a loopback API server (kubeconfig context,
  pod list by the model's label selector, readiness), the port-forward tunnel stubbed to a
  socket into the real fraud-xgb server (a websocket API-server tunnel cannot be faked here);
- Azure ML: azure-identity's real managed-identity flow against a loopback token endpoint, a
  loopback Resource Manager for the endpoint state, and the scoring URI — each checking the
  bearer token's audience.
SageMaker (moto) is in test_smoke.py."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from servers.json_api import json_api as _api
from servers.local import fraud_server, train_fraud_model
from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.smoke import azureml as azureml_module
from modelfleet.smoke import kubernetes as k8s_module
from modelfleet.smoke import probe as probe_module

ROOT = Path(__file__).resolve().parents[1]
Route = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (probe_module, k8s_module, azureml_module):
        monkeypatch.setattr(module, "POLL_S", 0.2)


@pytest.fixture(scope="module")
def fraud_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fraud_server(train_fraud_model(tmp_path_factory.mktemp("fraud") / "model")) as url:
        yield url


# --- Kubernetes --------------------------------------------------------------------------------

def _pod(name: str, ready: bool) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "fraud-xgb"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def _kubeconfig(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "clusters": [{"name": "lab", "cluster": {"server": server}}],
        "users": [{"name": "ci", "user": {"token": "kube-token"}}],
        "contexts": [{"name": "lab-cluster", "context": {"cluster": "lab", "user": "ci"}},
                     {"name": "other", "context": {"cluster": "lab", "user": "ci"}}]}))
    return path


def _smoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["smoke", *args, "--format", "json", "--project-dir", str(ROOT)])


def test_kubernetes_port_forward_to_a_ready_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fraud_url: str) -> None:
    asked: list[tuple[str, dict[str, list[str]], str]] = []

    def route(method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        url = urlparse(path)
        asked.append((url.path, parse_qs(url.query), headers.get("Authorization", "")))
        if url.path == "/api/v1/namespaces/fraud-xgb/pods":
            # the first list finds the pod starting, the next one Ready: the wait counts into ready time
            return 200, {"apiVersion": "v1", "kind": "PodList", "metadata": {},
                         "items": [_pod("fraud-xgb-7d9f-abcde", ready=len(asked) > 1)]}
        return 404, {"kind": "Status", "code": 404}

    tunnels: list[tuple[str, str, int]] = []

    def forward(core: Any, namespace: str, pod: str, port: int) -> socket.socket:
        tunnels.append((namespace, pod, port))
        return socket.create_connection(("127.0.0.1", urlparse(fraud_url).port or 0))

    monkeypatch.setattr(k8s_module, "_default_forward", forward)
    with _api(route) as server:
        monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path, server)))
        result = _smoke("fraud-xgb", "--stack", "lab-dev", "--timeout", "30")
    assert result.exit_code == 0, result.output
    (model,) = json.loads(result.stdout)["models"]
    assert model["status"] == "ok" and model["http_status"] == 200 and model["ready_s"] >= 0.2
    assert model["via"] == "port-forward pod/fraud-xgb-7d9f-abcde:8080 (namespace fraud-xgb)"
    assert [c["name"] for c in model["checks"]] == ["ready", "request"]
    # the stack's context (lab-cluster, not the kubeconfig's current one) and the Deployment's selector
    assert asked[0][1]["labelSelector"] == ["app.kubernetes.io/name=fraud-xgb"] and asked[0][2] == "Bearer kube-token"
    assert tunnels and all(t == ("fraud-xgb", "fraud-xgb-7d9f-abcde", 8080) for t in tunnels)


def test_kubernetes_without_a_ready_pod_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def route(method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        return 200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [_pod("fraud-xgb-1", ready=False)]}

    with _api(route) as server:
        monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path, server)))
        result = _smoke("fraud-xgb", "--stack", "lab-dev", "--timeout", "1")
    assert result.exit_code == 1, result.output
    (model,) = json.loads(result.stdout)["models"]
    assert model["status"] == "failed" and "no Ready pod" in model["message"] and "kubectl -n fraud-xgb" in model["message"]


def test_kubernetes_without_the_context_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path, "http://127.0.0.1:9")))
    result = _smoke("fraud-xgb", "--stack", "lab-dev", "--context", "missing-context")
    assert result.exit_code == 3 and "missing-context" in result.stdout and "Traceback" not in result.output


# --- Azure ML ----------------------------------------------------------------------------------

ARM_AUDIENCE, SCORING_AUDIENCE = "https://management.azure.com", "https://ml.azure.com"
ENDPOINT = "fraud-xgb-260770"  # the endpoint name placement gives fraud-xgb on azureml-prod


@pytest.fixture()
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Loopback token endpoint (App Service managed identity protocol, as azure-identity speaks it),
    Resource Manager and scoring URI. `state` sets the endpoint's provisioningState."""
    seen: dict[str, Any] = {"state": "Succeeded", "scored": [], "tokens": []}
    base: list[str] = []

    def route(method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        url = urlparse(path)
        query = parse_qs(url.query)
        if url.path == "/msi/token":
            assert headers.get("X-IDENTITY-HEADER") == "identity-secret"
            resource = query["resource"][0]
            seen["tokens"].append(resource)
            return 200, {"access_token": f"token-for {resource}", "expires_on": str(int(time.time()) + 3600),
                         "resource": resource, "token_type": "Bearer"}
        arm = (f"/subscriptions/sub-1/resourceGroups/ml-prod-rg/providers/Microsoft.MachineLearningServices"
               f"/workspaces/ml-prod-ws/onlineEndpoints/{ENDPOINT}")
        if url.path == arm:
            if headers.get("Authorization") != f"Bearer token-for {ARM_AUDIENCE}" or query["api-version"] != [azureml_module.API_VERSION]:
                return 401, {"error": {"code": "InvalidAuthenticationToken"}}
            return 200, {"name": ENDPOINT, "properties": {"provisioningState": seen["state"], "authMode": "AADToken",
                                                          "scoringUri": f"{base[0]}/score/{ENDPOINT}"}}
        if url.path == f"/score/{ENDPOINT}" and method == "POST":
            if headers.get("Authorization") != f"Bearer token-for {SCORING_AUDIENCE}":
                return 401, {"error": "wrong audience"}
            seen["scored"].append(body)
            return 200, {"scores": [0.07]}
        return 404, {}

    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "MSI_ENDPOINT", "MSI_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with _api(route) as server:
        base.append(server)
        monkeypatch.setenv("IDENTITY_ENDPOINT", f"{server}/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", "identity-secret")
        monkeypatch.setenv("MODELFLEET_AZURE_ARM_ENDPOINT", server)
        monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub-1")
        yield seen


def test_azureml_scoring_uri_with_an_entra_token(azure: dict[str, Any]) -> None:
    result = _smoke("fraud-xgb", "--stack", "azureml-prod", "--timeout", "5")
    assert result.exit_code == 0, result.output
    (model,) = json.loads(result.stdout)["models"]
    assert model["status"] == "ok" and model["http_status"] == 200 and model["latency_ms"] is not None
    assert model["via"] == f"Azure ML endpoint {ENDPOINT}" and [c["name"] for c in model["checks"]] == ["provisioned", "score"]
    sample = json.loads((ROOT / "model_specs" / "smoke" / "fraud-xgb.json").read_text())
    assert azure["scored"] == [sample], "the spec's smoke.body_file is what the scoring URI receives"
    assert set(azure["tokens"]) == {ARM_AUDIENCE, SCORING_AUDIENCE}


def test_azureml_failed_endpoint_is_exit_1(azure: dict[str, Any]) -> None:
    azure["state"] = "Failed"
    result = _smoke("fraud-xgb", "--stack", "azureml-prod", "--timeout", "5")
    assert result.exit_code == 1 and "is Failed" in json.loads(result.stdout)["models"][0]["message"]
    assert azure["scored"] == []


def test_azureml_without_subscription_is_exit_3(azure: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID")
    result = _smoke("fraud-xgb", "--stack", "azureml-prod")
    assert result.exit_code == 3 and "AZURE_SUBSCRIPTION_ID" in result.stdout
