"""KServe's Python model server really has the ports, probe paths and metrics the KServe
runtime profiles say (`modelfleet/data/runtime_profiles.yaml`, section `kserve`).

The server is kserve_model.py (KServe's own REST application and DataPlane with a tiny linear
model), run on 127.0.0.1 by the interpreter of a separate virtualenv holding the KServe version
the profiles are written for: `.venv-kserve/` (`.ci/run` makes it from
tests/integration/kserve-requirements.txt) or $MODELFLEET_KSERVE_PYTHON. Checked against the
profile of KServe's Python server (the huggingface runtime) and of the TorchServe runtime's
KServe wrapper: the serving port, the liveness and readiness paths, the metrics endpoint on the
serving port, and the profile's claim that KServe's server counts no requests and no failures
(so modelfleet emits no request-rate or error-rate query for it) while its predict-latency
histogram moves with every request. The vLLM engine series the huggingface profile names need
vLLM and a GPU and are not exercised here.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelfleet.profiles import RuntimeProfile, base_profile

from .conftest import _free_port, _stop

pytest.importorskip("prometheus_client", reason="the KServe test parses metrics with prometheus-client: pip install -e '.[dev]'")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NAME = "tiny-linear"
# series every prometheus_client process exports from its default collectors (not KServe's)
DEFAULT_COLLECTORS = ("python_", "process_")
KSERVE_HISTOGRAMS = {"request_preprocess_seconds", "request_predict_seconds", "request_postprocess_seconds", "request_explain_seconds"}


def _interpreter() -> Path:
    configured = os.environ.get("MODELFLEET_KSERVE_PYTHON")
    path = Path(configured) if configured else ROOT / ".venv-kserve" / "bin" / "python"
    if not path.exists():
        pytest.skip(f"KServe's model server is not installed ({path} is missing): "
                    "python3 -m venv .venv-kserve && .venv-kserve/bin/pip install -r tests/integration/kserve-requirements.txt "
                    "(.ci/run does), or set MODELFLEET_KSERVE_PYTHON")
    return path


@dataclass(frozen=True)
class Server:
    base: str
    version: str
    default_port: int

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"{self.base}{path}", timeout=10) as response:  # noqa: S310 - loopback server
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def predict(self, body: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.base}/v1/models/{NAME}:predict", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback server
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def scrape(self, profile: RuntimeProfile) -> dict[str, tuple[str, list[tuple[str, dict[str, str], float]]]]:
        """family name → (type, samples) from the profile's metrics endpoint."""
        status, text = self.get(profile.metrics_path)
        assert status == 200, text[:300]
        return {f.name: (f.type, [(s.name, dict(s.labels), s.value) for s in f.samples])
                for f in text_string_to_metric_families(text.decode())}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    python = _interpreter()
    facts = subprocess.run([str(python), "-c", "import json, importlib.metadata as m; from kserve.constants.constants import DEFAULT_HTTP_PORT as p; "
                            "print(json.dumps([m.version('kserve'), p]))"], capture_output=True, text=True, timeout=120)
    assert facts.returncode == 0, facts.stderr[-2000:]
    version, default_port = json.loads(facts.stdout)
    port = _free_port()
    log = tmp_path_factory.mktemp("kserve") / "server.log"
    env = {**os.environ, "KSERVE_MODEL_NAME": NAME, "KSERVE_HTTP_PORT": str(port)}
    with log.open("wb") as out:
        process = subprocess.Popen([str(python), str(HERE / "kserve_model.py")], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/v2/health/live", timeout=2):  # noqa: S310 - loopback server
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"KServe's model server did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.25)
        yield Server(base, version, int(default_port))
    finally:
        _stop(process)


def test_the_profiled_version_port_and_probe_paths_answer(server: Server) -> None:
    for runtime in ("vllm", "torchserve"):  # KServe's huggingface runtime; the TorchServe runtime's KServe wrapper
        profile = base_profile(runtime, "kserve")
        assert profile.version == f"v{server.version}", f"the profile holds for KServe {profile.version}, the test runs {server.version}"
        assert profile.port == server.default_port == 8080
        for path in {profile.health_path, profile.readiness_path}:
            status, body = server.get(path.replace("{name}", NAME))
            assert status == 200, (runtime, path, body[:300])
        status, body = server.get(profile.readiness_path.replace("{name}", NAME))
        if "{name}" in profile.readiness_path:
            assert json.loads(body) == {"name": NAME, "ready": True}
        status, _ = server.get(profile.readiness_path.replace("{name}", "no-such-model"))
        assert status == 404 or "{name}" not in profile.readiness_path, "readiness is per model"


def test_metrics_are_histograms_only_so_the_profile_names_no_request_or_error_counter(server: Server) -> None:
    profile = base_profile("vllm", "kserve")  # KServe's Python server (huggingface runtime)
    assert profile.metrics_port == profile.port and profile.metrics_path == "/metrics"
    assert profile.get("requests") is None and profile.get("errors") is None, "KServe's server exports no counter to name"

    def predict_count(scrape: dict[str, tuple[str, list[tuple[str, dict[str, str], float]]]]) -> float:
        _, samples = scrape.get("request_predict_seconds", ("histogram", []))
        return sum(v for name, labels, v in samples if name == "request_predict_seconds_count" and labels.get("model_name") == NAME)

    before = server.scrape(profile)
    good = [server.predict(json.dumps({"instances": [[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]}).encode()) for _ in range(4)]
    assert {status for status, _ in good} == {200}, good
    assert json.loads(good[0][1]) == {"predictions": [0.375, 0.125]}
    failed = [server.predict(json.dumps({"instances": [[1.0, 2.0]]}).encode()) for _ in range(2)]
    assert {status for status, _ in failed} == {500}, failed
    after = server.scrape(profile)

    # prometheus-client's text parser reports a histogram's `_created` timestamp as a family of its own
    own = {name: kind for name, (kind, _) in after.items()
           if not name.startswith(DEFAULT_COLLECTORS) and not (name.endswith("_created") and name.removesuffix("_created") in after)}
    assert "request_predict_seconds" in own, sorted(after)
    assert set(own) <= KSERVE_HISTOGRAMS and set(own.values()) == {"histogram"}, \
        f"KServe's server exports only its latency histograms, no request or failure counter and no in-flight gauge: {own}"
    # the predict histogram observes every request that reached the model, failed ones included
    assert predict_count(after) - predict_count(before) == len(good) + len(failed)
