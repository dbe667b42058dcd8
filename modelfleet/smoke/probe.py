"""The probing half of `modelfleet smoke`: one model behind one base URL.

Contract: `probe(base_url, target, timeout_s, headers=None, via="")` → `ModelResult`.
1. Readiness: GET `target.readiness_path` until it answers 200 or `timeout_s` passes;
   `ready_s` is the time that took. Never connected → "unreachable"; connected but never 200
   → "failed" with the last status.
2. The protocol's checks (paths and bodies from data/smoke_protocols.yaml), one real request:
   - openai / kserve_openai: list models, then one chat completion with the listed model id;
     the answer must carry `choices[0].message`.
   - v2 (Triton, KServe v2): model ready and metadata; with a sample, an inference whose answer
     carries `outputs`. An unknown model name lists what the server has (Triton's repository index).
   - kserve_v1: model ready (`ready: true`); with a sample, `:predict`.
   - torchserve: `/ping` says Healthy; with a sample, `/predictions/<model>`.
   - tfserving: some version is AVAILABLE; with a sample, `:predict`.
   - custom: with `smoke.path`, that request (`smoke.method`, the sample as body).
   `smoke.path` replaces the protocol's inference path; `smoke.expect_status` is the status the
   request must answer with (2xx otherwise for protocol checks).
   `latency_ms`/`http_status` are those of the model request (or of the last check when the
   runtime needs a sample to be asked anything, which the message then says).
"""

from __future__ import annotations

import time
from typing import Any

import requests

from modelfleet.smoke.result import Check, ModelResult
from modelfleet.smoke.target import SmokeTarget, fact

POLL_S = 2.0
REQUEST_TIMEOUT_S = 120.0  # a first LLM request may compile kernels / fill caches


class _Client:
    def __init__(self, base_url: str, headers: dict[str, str] | None, result: ModelResult) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.result = result

    def call(self, name: str, method: str, path: str, body: Any = None, expect: int | None = None,
             timeout: float = REQUEST_TIMEOUT_S) -> tuple[Check, Any]:
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, json=body, timeout=timeout)
        except requests.RequestException as e:
            check = Check(name, False, None, None, f"{method} {path}: {type(e).__name__}: {e}")
            self.result.checks.append(check)
            return check, None
        elapsed = (time.perf_counter() - started) * 1000
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        ok = response.status_code == expect if expect is not None else 200 <= response.status_code < 300
        detail = f"{method} {path} → HTTP {response.status_code}"
        if not ok:
            detail += f": {str(payload)[:300]}"
        check = Check(name, ok, response.status_code, elapsed, detail)
        self.result.checks.append(check)
        return check, payload


def _wait_ready(client: _Client, target: SmokeTarget, timeout_s: float) -> bool:
    started = time.monotonic()
    deadline = started + timeout_s
    last: requests.Response | None = None
    error = ""
    while True:
        try:
            last = client.session.get(client.base + target.readiness_path, timeout=min(30.0, max(1.0, deadline - time.monotonic())))
            if last.status_code == 200:
                client.result.ready_s = time.monotonic() - started
                client.result.checks.append(Check("ready", True, 200, last.elapsed.total_seconds() * 1000,
                                                  f"GET {target.readiness_path} → HTTP 200"))
                return True
        except requests.RequestException as e:
            error = f"{type(e).__name__}: {e}"
        if time.monotonic() + POLL_S > deadline:
            break
        time.sleep(POLL_S)
    if last is None:
        client.result.checks.append(Check("ready", False, None, None, f"GET {target.readiness_path}: {error}"))
        client.result.fail(f"no connection to {client.base} within {timeout_s:.0f}s ({error})", "unreachable")
    else:
        client.result.checks.append(Check("ready", False, last.status_code, None, f"GET {target.readiness_path} → HTTP {last.status_code}"))
        client.result.fail(f"not ready after {timeout_s:.0f}s: GET {target.readiness_path} answers HTTP {last.status_code}")
    return False


def _main(result: ModelResult, check: Check) -> None:
    result.latency_ms, result.http_status = check.latency_ms, check.status


def _openai(client: _Client, t: SmokeTarget) -> None:
    p = t.protocol
    check, models = client.call("models", "GET", fact(p, "models_path"))
    listed = [m.get("id") for m in models.get("data", [])] if check.ok and isinstance(models, dict) else []
    model_id = listed[0] if listed else t.server_model
    body = {"model": model_id, **fact(p, "chat_body")}
    path = t.path or fact(p, "chat_path")
    check, answer = client.call("chat completion", "POST", path, body, expect=t.expect_status)
    _main(client.result, check)
    if check.ok:
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not choices or not isinstance(choices[0], dict) or "message" not in choices[0]:
            check.ok = False
            check.detail += f": no choices[0].message in {str(answer)[:200]}"
        else:
            check.detail += f": {str(choices[0]['message'].get('content', ''))[:80]!r}"


def _sample_request(client: _Client, t: SmokeTarget, protocol_path: str, name: str = "inference") -> tuple[Check | None, Any]:
    if not t.has_sample and not t.path:
        client.result.message = "ready; no sample request sent (set smoke.body_file to send one)"
        return None, None
    check, answer = client.call(name, t.method if t.path else "POST", t.path or protocol_path,
                                t.sample if t.has_sample else None, expect=t.expect_status)
    _main(client.result, check)
    return check, answer


def _v2(client: _Client, t: SmokeTarget) -> None:
    m = t.server_model
    check, _ = client.call("model ready", "GET", fact("v2", "model_ready_path", model=m))
    if check.status == 404:
        index_check, index = client.call("repository index", "POST", fact("v2", "repository_index_path"), {})
        names = [i.get("name") for i in index if isinstance(i, dict)] if index_check.ok and isinstance(index, list) else []
        check.detail += f": the server has no model {m!r}" + (f" (it has: {', '.join(map(str, names))})" if names else "") + \
            ". To fix: set smoke.model_name to the name in the model repository"
        return
    check, metadata = client.call("metadata", "GET", fact("v2", "metadata_path", model=m))
    if check.ok and not (isinstance(metadata, dict) and "name" in metadata):
        check.ok, check.detail = False, check.detail + f": not v2 model metadata: {str(metadata)[:200]}"
    inference, answer = _sample_request(client, t, fact("v2", "infer_path", model=m))
    if inference is not None and inference.ok and not t.path and not (isinstance(answer, dict) and answer.get("outputs")):
        inference.ok, inference.detail = False, inference.detail + f": not a v2 inference response (no outputs): {str(answer)[:200]}"


def _kserve_v1(client: _Client, t: SmokeTarget) -> None:
    check, state = client.call("model ready", "GET", fact("kserve_v1", "model_ready_path", model=t.server_model))
    if check.ok and not (isinstance(state, dict) and state.get("ready") is True):
        check.ok, check.detail = False, check.detail + f": model not ready: {str(state)[:200]}"
    _sample_request(client, t, fact("kserve_v1", "infer_path", model=t.server_model), "predict")


def _torchserve(client: _Client, t: SmokeTarget) -> None:
    check, state = client.call("ping", "GET", fact("torchserve", "ping_path"))
    healthy = fact("torchserve", "healthy")
    if check.ok and not (isinstance(state, dict) and state.get("status") == healthy):
        check.ok, check.detail = False, check.detail + f": status is not {healthy}: {str(state)[:200]}"
    _sample_request(client, t, fact("torchserve", "infer_path", model=t.server_model), "predictions")


def _tfserving(client: _Client, t: SmokeTarget) -> None:
    check, state = client.call("model status", "GET", fact("tfserving", "status_path", model=t.server_model))
    available = fact("tfserving", "available")
    versions = state.get("model_version_status", []) if isinstance(state, dict) else []
    if check.ok and not any(isinstance(v, dict) and v.get("state") == available for v in versions):
        check.ok, check.detail = False, check.detail + f": no version is {available}: {str(state)[:200]}"
    _sample_request(client, t, fact("tfserving", "infer_path", model=t.server_model), "predict")


def _custom(client: _Client, t: SmokeTarget) -> None:
    if not t.path:
        client.result.message = "ready; health check only (set smoke.path and smoke.body_file to send a request)"
        return
    _sample_request(client, t, t.path, "request")


PROTOCOLS = {"openai": _openai, "kserve_openai": _openai, "v2": _v2, "kserve_v1": _kserve_v1,
             "torchserve": _torchserve, "tfserving": _tfserving, "custom": _custom}


def probe(base_url: str, target: SmokeTarget, timeout_s: float, headers: dict[str, str] | None = None,
          via: str = "") -> ModelResult:
    result = ModelResult(target.model, via=via or base_url)
    client = _Client(base_url, headers, result)
    if not _wait_ready(client, target, timeout_s):
        return result
    PROTOCOLS[target.protocol](client, target)
    failed = [c for c in result.checks if not c.ok]
    if failed:
        result.fail("; ".join(f"{c.name}: {c.detail}" for c in failed))
    elif result.latency_ms is None:
        last = result.checks[-1]
        result.latency_ms, result.http_status = last.latency_ms, last.status
    return result
