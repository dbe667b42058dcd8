"""The bundled `custom` server (serving/fraud-xgb) really exports what the runtime profile says.

A tiny XGBoost model is trained into a temporary MODEL_DIR, and the server is started with the
Dockerfile's own ENTRYPOINT (uvicorn; /app replaced by the checkout's serving directory) on
127.0.0.1 and a free port, with one worker and with two (prometheus-client multiprocess mode).
Requests that succeed, that are malformed (400) and that the model fails to score (500) are
sent; /metrics is parsed with prometheus-client's own parser, and every series the profile names
for fraud-xgb (`modelfleet.runtimes.profile_for`) must be there, with the profile's label
matchers applied, and move by exactly the requests sent. The in-flight gauge is read while a
request is held open by a client that has sent only part of its body.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelfleet.profiles import Series
from modelfleet.runtimes import RuntimeProfile, profile_for
from modelfleet.spec import load_spec_file

from .conftest import _free_port, _stop

for module in ("fastapi", "uvicorn", "xgboost", "prometheus_client"):
    pytest.importorskip(module, reason=f"the custom-server test needs {module}: pip install -e '.[dev]'")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SERVING = ROOT / "serving" / "fraud-xgb"
FEATURES = 4
GOOD = {"instances": [[0.0, 1.0, 2.0, 3.0], [1.0, 0.0, None, 0.0]]}
MALFORMED = [b"not json", b'{"rows": [[1, 2, 3, 4]]}', b'{"instances": [[1, 2, 3, 4], [1, 2]]}', b'{"instances": [["a", 2, 3, 4]]}']
# well-formed batches the model cannot score: the booster was trained on FEATURES columns
UNSCORABLE = [{"instances": [[0.0, 1.0, 2.0]]}, {"instances": [[0.0] * (FEATURES + 2)]}]


@dataclass(frozen=True)
class Server:
    base: str
    profile: RuntimeProfile
    port: int

    def post(self, body: bytes) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(f"{self.base}/predict", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback server
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def scrape(self) -> list[tuple[str, str, dict[str, str], float]]:
        """(family type, sample name, labels, value) of every sample on the metrics endpoint."""
        assert self.profile.metrics_port == self.profile.port, "the custom profile scrapes the serving port"
        with urllib.request.urlopen(f"{self.base}{self.profile.metrics_path}", timeout=10) as response:  # noqa: S310
            text = response.read().decode()
        return [(family.type, s.name, dict(s.labels), s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def _matches(series: Series, labels: dict[str, str]) -> bool:
    """PromQL label matching: =, !=, and fully anchored =~ / !~."""
    for matcher in series.matchers:
        name, op, value = re.fullmatch(r'([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"(.*)"', matcher).groups()  # type: ignore[union-attr]
        actual = labels.get(name, "")
        ok = {"=": actual == value, "!=": actual != value,
              "=~": re.fullmatch(value, actual) is not None, "!~": re.fullmatch(value, actual) is None}[op]
        if not ok:
            return False
    return True


def _samples(scrape: list[tuple[str, str, dict[str, str], float]], series: Series, suffix: str = "") -> list[tuple[str, dict[str, str], float]]:
    return [(kind, labels, value) for kind, name, labels, value in scrape if name == series.name + suffix and _matches(series, labels)]


def _sum(scrape: list[tuple[str, str, dict[str, str], float]], series: Series, suffix: str = "", **labels: str) -> float:
    return sum(v for _, got, v in _samples(scrape, series, suffix) if all(got.get(k) == x for k, x in labels.items()))


def _entrypoint() -> list[str]:
    """The Dockerfile's ENTRYPOINT, run from the checkout instead of /app."""
    text = (SERVING / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert entry[:2] == ["/bin/sh", "-c"] and "--app-dir /app " in entry[2], entry
    return [*entry[:2], entry[2].replace("--app-dir /app ", f"--app-dir {shlex.quote(str(SERVING))} ")]


def _train(model_dir: Path) -> None:
    import numpy as np
    import xgboost

    x = np.array([[0, 1, 2, 3], [1, 0, 1, 0], [3, 2, 1, 0], [0, 0, 1, 1], [2, 2, 0, 1], [1, 3, 3, 0]], dtype=float)
    y = np.array([0, 1, 1, 0, 1, 0])
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 1}, xgboost.DMatrix(x, label=y), num_boost_round=3)
    booster.save_model(str(model_dir / "model.json"))


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    profile = profile_for(load_spec_file(ROOT / "model_specs" / "fraud-xgb.yaml").base, "deployment")
    root = tmp_path_factory.mktemp(f"fraud-xgb-{request.param}")
    _train(root)
    port = _free_port()
    env = {**os.environ, "MODEL_DIR": str(root), "PORT": str(port), "WORKERS": str(request.param),
           "PROMETHEUS_MULTIPROC_DIR": str(root / "prometheus"), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = _entrypoint()
    # the image listens on all interfaces; here, loopback only
    command[2] = command[2].replace("--host 0.0.0.0", "--host 127.0.0.1")
    assert "--host 127.0.0.1" in command[2]
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}{profile.health_path}", timeout=2) as response:  # noqa: S310 - loopback server
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not answer {profile.health_path}:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield Server(base, profile, port)
    finally:
        _stop(process)


def test_the_spec_and_the_profile_agree_with_the_image() -> None:
    spec = load_spec_file(ROOT / "model_specs" / "fraud-xgb.yaml").base
    profile = profile_for(spec, "deployment")
    assert (profile.port, profile.health_path, profile.metrics_path) == (8080, "/healthz", "/metrics")
    assert "EXPOSE 8080" in (SERVING / "Dockerfile").read_text()
    assert profile.defaulted == ("requests", "errors", "latency", "in_flight"), "fraud-xgb relies on the custom defaults this test checks"


def test_every_series_the_profile_names_is_exported_and_moves(server: Server) -> None:
    profile = server.profile
    named = {key: profile.get(key) for key in ("requests", "errors", "latency", "in_flight")}
    assert all(named.values()), f"the custom profile names a series for each of {sorted(named)}: {named}"
    requests, errors, latency, in_flight = (named[k] for k in ("requests", "errors", "latency", "in_flight"))
    assert requests and errors and latency and in_flight

    before = server.scrape()
    for _ in range(5):
        status, body = server.post(json.dumps(GOOD).encode())
        assert status == 200 and len(body["scores"]) == 2, body  # type: ignore[arg-type]
    for bad in MALFORMED:
        status, body = server.post(bad)
        assert status == 400, (bad, status, body)
    for batch in UNSCORABLE:
        status, body = server.post(json.dumps(batch).encode())
        assert status == 500 and "cannot score" in str(body["error"]), (batch, status, body)
    after = server.scrape()

    sent, failed = 5 + len(MALFORMED) + len(UNSCORABLE), len(UNSCORABLE)
    assert _samples(after, requests) and {k for k, _, _ in _samples(after, requests)} == {"counter"}
    assert _sum(after, requests) - _sum(before, requests) == sent, "requests_include_errors: the request counter counts every answer"
    assert _sum(after, requests, status="400") - _sum(before, requests, status="400") == len(MALFORMED)
    # the profile's matcher (status=~"5..") selects exactly the failed requests, not the 400s
    assert _samples(after, errors), f"no sample of {errors.text()} after {failed} server failures"
    assert _sum(after, errors) - _sum(before, errors) == failed
    assert {labels["status"] for _, labels, _ in _samples(after, errors)} == {"500"}

    assert latency.kind == "histogram" and latency.unit == "seconds"
    buckets = _samples(after, latency, "_bucket")
    assert buckets and {k for k, _, _ in buckets} == {"histogram"}
    assert _sum(after, latency, "_count") - _sum(before, latency, "_count") == sent
    assert _sum(after, latency, "_bucket", le="+Inf") - _sum(before, latency, "_bucket", le="+Inf") == sent
    assert _sum(after, latency, "_sum") > _sum(before, latency, "_sum")
    per_route = [v for _, labels, v in buckets if labels.get("handler") == "/predict" and labels.get("method") == "POST"]
    assert per_route == sorted(per_route), "cumulative buckets"

    gauge = _samples(after, in_flight)
    assert [(k, v) for k, _, v in gauge] == [("gauge", 0.0)], "nothing is in flight once every request has been answered"


def test_in_flight_counts_a_request_that_is_still_being_received(server: Server) -> None:
    in_flight = server.profile.get("in_flight")
    assert in_flight is not None
    body = json.dumps(GOOD).encode()
    head = (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(head + body[:10])  # the server is now waiting for the rest of the body
        deadline = time.monotonic() + 10
        while (held := _sum(server.scrape(), in_flight)) != 1.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held == 1.0, "a request whose body is still arriving is in flight"
        client.sendall(body[10:])
        response = b""
        while chunk := client.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert _sum(server.scrape(), in_flight) == 0.0


def test_probes_and_scrapes_are_not_counted_as_load(server: Server) -> None:
    requests = server.profile.get("requests")
    assert requests is not None
    before = server.scrape()
    for _ in range(3):
        with urllib.request.urlopen(f"{server.base}{server.profile.health_path}", timeout=5):  # noqa: S310 - loopback server
            pass
        server.scrape()
    assert _sum(server.scrape(), requests) == _sum(before, requests)
