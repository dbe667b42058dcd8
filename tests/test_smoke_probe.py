"""The probing half of `smoke` against real servers on 127.0.0.1 standing in for a port-forwarded
Service: the bundled fraud-xgb server (custom runtime) and KServe's model server (Open Inference
Protocol V2, as Triton speaks it, and KServe V1, as KServe's TorchServe runtime speaks it).

vLLM, TGI, TorchServe and TF Serving cannot run on this CPU-only machine: their protocols are
tested against small loopback servers that answer exactly as those runtimes' API documentation
says (paths and bodies from data/smoke_protocols.yaml) — and fail the way a broken model would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from servers.json_api import json_api
from servers.local import fraud_server, free_port, kserve_server, train_fraud_model

from modelfleet.smoke import probe as probe_module
from modelfleet.smoke.probe import probe
from modelfleet.smoke.result import exit_code
from modelfleet.smoke.target import SmokeInputError, smoke_target
from modelfleet.spec import load_specs, parse_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_module, "POLL_S", 0.2)


def _bundled(name: str) -> tuple[Path, Any]:
    (spec_file,) = [s for s in load_specs([ROOT / "model_specs" / f"{name}.yaml"])]
    return spec_file.path, spec_file.base


def _spec(tmp_path: Path, text: str, samples: dict[str, Any] | None = None) -> tuple[Path, Any]:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    for name, body in (samples or {}).items():
        (tmp_path / name).write_text(body if isinstance(body, str) else json.dumps(body))
    return path, parse_spec(text, str(path)).base


BASE = """\
name: {name}
version: "1"
owner: ml-team
model: {{uri: "s3://b/m/", framework: {framework}}}
serving: {{runtime: {runtime}, {extra}}}
resources: {{accelerator: none, cpu: 1, memory_gib: 1}}
smoke: {{{smoke}}}
"""


def _text(name: str, framework: str, runtime: str, extra: str) -> str:
    """BASE with `extra` as the serving keys; a `}, smoke: {...` tail becomes the smoke section."""
    serving, _, smoke = extra.partition("}, smoke: {")
    return BASE.format(name=name, framework=framework, runtime=runtime, extra=serving, smoke=smoke)


@pytest.fixture(scope="module")
def fraud_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fraud_server(train_fraud_model(tmp_path_factory.mktemp("fraud") / "model")) as url:
        yield url


def test_bundled_custom_model_scores_its_sample(fraud_url: str) -> None:
    path, spec = _bundled("fraud-xgb")
    result = probe(fraud_url, smoke_target(path, spec, "fraud-xgb", "deployment"), timeout_s=20)
    assert result.status == "ok", result
    assert [(c.name, c.status) for c in result.checks] == [("ready", 200), ("request", 200)]
    assert "GET /healthz" in result.checks[0].detail and "POST /predict" in result.checks[1].detail
    assert result.ready_s is not None and result.latency_ms is not None and result.latency_ms > 0 and result.http_status == 200
    assert exit_code([result]) == 0


def test_custom_request_with_the_wrong_answer_fails(tmp_path: Path, fraud_url: str) -> None:
    extra = 'image: "r/fraud:1", port: 8080, health: {path: /healthz}}, smoke: {path: /predict, body_file: bad.json'
    path, spec = _spec(tmp_path, _text(name="fraud", framework="xgboost", runtime="custom", extra=extra),
                       {"bad.json": {"rows": [[1, 2]]}})
    result = probe(fraud_url, smoke_target(path, spec, "fraud", "deployment"), timeout_s=20)
    assert result.status == "failed" and result.http_status == 400 and "HTTP 400" in result.message
    assert exit_code([result]) == 1


def test_expect_status_is_what_the_request_must_answer(tmp_path: Path, fraud_url: str) -> None:
    extra = 'image: "r/fraud:1", port: 8080, health: {path: /healthz}}, smoke: {path: /predict, body_file: bad.json, expect_status: 400'
    path, spec = _spec(tmp_path, _text(name="fraud", framework="xgboost", runtime="custom", extra=extra), {"bad.json": {"rows": []}})
    assert probe(fraud_url, smoke_target(path, spec, "fraud", "deployment"), timeout_s=20).status == "ok"


def test_custom_without_a_request_checks_health_only(tmp_path: Path, fraud_url: str) -> None:
    path, spec = _spec(tmp_path, _text(name="fraud", framework="xgboost", runtime="custom",
                                             extra='image: "r/fraud:1", health: {path: /healthz}'))
    result = probe(fraud_url, smoke_target(path, spec, "fraud", "deployment"), timeout_s=20)
    assert result.status == "ok" and [c.name for c in result.checks] == ["ready"] and "health check only" in result.message


def test_a_model_that_never_becomes_ready_fails_with_the_last_status(tmp_path: Path, fraud_url: str) -> None:
    path, spec = _spec(tmp_path, _text(name="fraud", framework="xgboost", runtime="custom",
                                             extra='image: "r/fraud:1", health: {path: /not-here}'))
    result = probe(fraud_url, smoke_target(path, spec, "fraud", "deployment"), timeout_s=1)
    assert result.status == "failed" and "HTTP 404" in result.message and result.ready_s is None


def test_nothing_listening_is_unreachable() -> None:
    path, spec = _bundled("fraud-xgb")
    result = probe(f"http://127.0.0.1:{free_port()}", smoke_target(path, spec, "fraud-xgb", "deployment"), timeout_s=1)
    assert result.status == "unreachable" and exit_code([result]) == 3


@pytest.mark.parametrize("sample", ["missing.json", "broken.json"])
def test_sample_file_missing_or_not_json_is_bad_input(tmp_path: Path, sample: str) -> None:
    extra = f'image: "r/x:1"}}, smoke: {{path: /p, body_file: {sample}'
    path, spec = _spec(tmp_path, _text(name="x", framework="xgboost", runtime="custom", extra=extra), {"broken.json": "{not json"})
    with pytest.raises(SmokeInputError, match=r"smoke.body_file.*(no such file|not JSON).*To fix"):
        smoke_target(path, spec, "x", "deployment")


def test_expect_status_outside_100_599_is_a_located_spec_error(tmp_path: Path) -> None:
    from modelfleet.errors import SpecError

    text = _text(name="x", framework="xgboost", runtime="custom", extra='image: "r/x:1"}, smoke: {expect_status: 700')
    with pytest.raises(SpecError) as raised:
        parse_spec(text, str(tmp_path / "x.yaml"))
    (problem,) = raised.value.problems
    assert problem.field == "smoke.expect_status" and problem.line == 7


# --- Open Inference Protocol V2 and KServe V1 against KServe's own model server ---------------

V2_SAMPLE = {"inputs": [{"name": "INPUT__0", "shape": [1, 3], "datatype": "FP32", "data": [1.0, 2.0, 3.5]}]}


def test_v2_ready_metadata_and_inference_on_a_kserve_server(tmp_path: Path) -> None:
    extra = "port: 8000, health: {path: /v2/health/ready}}, smoke: {body_file: sample.json"
    path, spec = _spec(tmp_path, _text(name="resnet50-vision", framework="onnx", runtime="triton", extra=extra), {"sample.json": V2_SAMPLE})
    with kserve_server("resnet50-vision") as url:
        result = probe(url, smoke_target(path, spec, "resnet50-vision", "deployment"), timeout_s=30)
        renamed = probe(url, replace(smoke_target(path, spec, "resnet50-vision", "deployment"), server_model="resnet"), timeout_s=30)
    assert result.status == "ok", result
    assert [c.name for c in result.checks] == ["ready", "model ready", "metadata", "inference"]
    assert result.http_status == 200 and result.latency_ms is not None
    assert renamed.status == "failed" and "no model 'resnet'" in renamed.message and "smoke.model_name" in renamed.message


def test_v2_without_a_sample_stops_at_metadata_and_says_so(tmp_path: Path) -> None:
    path, spec = _spec(tmp_path, _text(name="resnet50-vision", framework="onnx", runtime="triton", extra="health: {path: /v2/health/ready}"))
    with kserve_server("resnet50-vision") as url:
        result = probe(url, smoke_target(path, spec, "resnet50-vision", "deployment"), timeout_s=30)
    assert result.status == "ok" and [c.name for c in result.checks] == ["ready", "model ready", "metadata"]
    assert "smoke.body_file" in result.message


def test_kserve_v1_predict_for_torchserve_on_kserve(tmp_path: Path) -> None:
    extra = "health: {path: /v2/health/ready}}, smoke: {body_file: sample.json"
    path, spec = _spec(tmp_path, _text(name="digits", framework="pytorch", runtime="torchserve", extra=extra),
                       {"sample.json": {"instances": [[1, 2, 3]]}})
    target = smoke_target(path, spec, "digits", "kserve")
    assert target.protocol == "kserve_v1"
    with kserve_server("digits") as url:
        result = probe(url, replace(target, readiness_path="/v2/health/ready"), timeout_s=30)
    assert result.status == "ok", result
    assert [c.name for c in result.checks] == ["ready", "model ready", "predict"]


# --- runtimes that cannot run here: loopback servers answering as their API docs say ----------

def _loopback(routes: dict[tuple[str, str], tuple[int, Any]], seen: list[tuple[str, str, Any]]) -> Any:
    def route(method: str, path: str, headers: Any, body: Any) -> tuple[int, Any]:
        seen.append((method, path, body))
        return routes.get((method, path), (404, {"error": "not found"}))

    return json_api(route)


CHAT = {"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ready"}, "finish_reason": "stop"}]}


@pytest.mark.parametrize(("engine", "prefix"), [("deployment", ""), ("kserve", "/openai")])
def test_openai_chat_completion_with_the_listed_model(tmp_path: Path, engine: str, prefix: str) -> None:
    path, spec = _bundled("llama3-8b-chat")
    seen: list[tuple[str, str, Any]] = []
    routes = {("GET", "/health"): (200, {}), ("GET", f"{prefix}/v1/models"): (200, {"data": [{"id": "llama3-8b-chat", "object": "model"}]}),
              ("POST", f"{prefix}/v1/chat/completions"): (200, CHAT)}
    target = replace(smoke_target(path, spec, "llama3-8b-chat", engine), readiness_path="/health")
    with _loopback(routes, seen) as url:
        result = probe(url, target, timeout_s=10)
    assert result.status == "ok", result
    chat = [body for method, p, body in seen if p.endswith("/chat/completions")]
    assert chat and chat[0]["model"] == "llama3-8b-chat" and chat[0]["messages"][0]["role"] == "user" and chat[0]["max_tokens"] > 0
    assert "'ready'" in result.checks[-1].detail


def test_openai_answer_without_choices_fails(tmp_path: Path) -> None:
    path, spec = _bundled("llama3-8b-chat")
    routes = {("GET", "/health"): (200, {}), ("GET", "/v1/models"): (200, {"data": []}),
              ("POST", "/v1/chat/completions"): (200, {"object": "error"})}
    with _loopback(routes, []) as url:
        result = probe(url, replace(smoke_target(path, spec, "llama3-8b-chat", "deployment"), readiness_path="/health"), timeout_s=10)
    assert result.status == "failed" and "choices[0].message" in result.message


def test_torchserve_ping_and_predictions(tmp_path: Path) -> None:
    extra = "health: {path: /ping}}, smoke: {body_file: sample.json, model_name: mnist"
    path, spec = _spec(tmp_path, _text(name="digits", framework="pytorch", runtime="torchserve", extra=extra), {"sample.json": {"data": [0.0]}})
    seen: list[tuple[str, str, Any]] = []
    routes = {("GET", "/ping"): (200, {"status": "Healthy"}), ("POST", "/predictions/mnist"): (200, [7])}
    with _loopback(routes, seen) as url:
        target = replace(smoke_target(path, spec, "digits", "deployment"), readiness_path="/ping")
        ok = probe(url, target, timeout_s=10)
    assert ok.status == "ok" and [c.name for c in ok.checks] == ["ready", "ping", "predictions"]
    assert ("POST", "/predictions/mnist", {"data": [0.0]}) in seen
    routes[("GET", "/ping")] = (200, {"status": "Unhealthy"})
    with _loopback(routes, []) as url:
        assert probe(url, target, timeout_s=10).status == "failed"


def test_tfserving_model_status_and_predict(tmp_path: Path) -> None:
    extra = "health: {path: /v1/models/sentiment}}, smoke: {body_file: sample.json"
    path, spec = _spec(tmp_path, _text(name="sentiment", framework="tensorflow", runtime="tfserving", extra=extra),
                       {"sample.json": {"instances": [[0.5]]}})
    status = {"model_version_status": [{"version": "3", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    routes = {("GET", "/v1/models/sentiment"): (200, status), ("POST", "/v1/models/sentiment:predict"): (200, {"predictions": [[0.9]]})}
    target = replace(smoke_target(path, spec, "sentiment", "deployment"), readiness_path="/v1/models/sentiment")
    with _loopback(routes, []) as url:
        ok = probe(url, target, timeout_s=10)
    assert ok.status == "ok" and [c.name for c in ok.checks] == ["ready", "model status", "predict"]
    routes[("GET", "/v1/models/sentiment")] = (200, {"model_version_status": [{"version": "3", "state": "LOADING"}]})
    with _loopback(routes, []) as url:
        loading = probe(url, target, timeout_s=10)
    assert loading.status == "failed" and "AVAILABLE" in loading.message
