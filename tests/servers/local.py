"""Real servers on 127.0.0.1 for the smoke tests: the bundled fraud-xgb server (serving/fraud-xgb, FastAPI on uvicorn)
with a small XGBoost model trained here, and a KServe ModelServer (kserve 0.15.2, in the venv
.ci/run creates at .venv-kserve) speaking KServe V1 and the Open Inference Protocol V2.
Each is a subprocess stopped by its own handle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KSERVE_PYTHON = ROOT / ".venv-kserve" / "bin" / "python"  # .ci/run makes it (tests/integration/kserve-requirements.txt)
FEATURES = 6  # the bundled sample (model_specs/smoke/fraud-xgb.json) scores one 6-feature transaction


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def _running(command: list[str], port: int, env: dict[str, str] | None = None, cwd: Path | None = None) -> Iterator[str]:
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def train_fraud_model(directory: Path) -> Path:
    """A small booster with the sample's feature count, saved where the server loads it."""
    import numpy as np
    import xgboost

    rows = np.random.RandomState(7).rand(64, FEATURES)
    labels = (rows[:, 0] > 0.5).astype(int)
    booster = xgboost.train({"objective": "binary:logistic"}, xgboost.DMatrix(rows, label=labels), num_boost_round=3)
    directory.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(directory / "model.json"))
    return directory


@contextmanager
def fraud_server(model_dir: Path) -> Iterator[str]:
    port = free_port()
    # as the image's entrypoint runs it: uvicorn serving server:app (serving/fraud-xgb/Dockerfile)
    with _running([sys.executable, "-m", "uvicorn", "server:app", "--host", "127.0.0.1", "--port", str(port)], port,
                  {"MODEL_DIR": str(model_dir)}, cwd=ROOT / "serving" / "fraud-xgb") as url:
        yield url


@contextmanager
def kserve_server(model: str) -> Iterator[str]:
    if not KSERVE_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{KSERVE_PYTHON} is missing: .ci/run creates it (pip install -r tests/integration/kserve-requirements.txt)")
        pytest.skip("the KServe model server venv is missing (python3 -m venv .venv-kserve && .venv-kserve/bin/pip install -r tests/integration/kserve-requirements.txt)")
    port = free_port()
    with _running([str(KSERVE_PYTHON), str(Path(__file__).parent / "kserve_sum.py"), model, str(port)], port) as url:
        # the port opens before the model is registered: wait until the server says ready
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        yield url
