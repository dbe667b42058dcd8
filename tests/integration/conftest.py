"""Real parts for integration tests: a private dockerd and an htpasswd-protected registry.

The session starts `dockerd` (overlay2, falling back to vfs) on its own socket, data root
and exec root, and `docker-registry` (distribution 2.8, the Debian package) on
127.0.0.1:<free port> with htpasswd users `modelfleet` and `AWS` (the password moto's ECR
`GetAuthorizationToken` hands out). Both are stopped at teardown. Tests skip only when the
binaries are absent (CI installs docker.io, docker-registry and apache2-utils).
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD = "modelfleet", "s3cret-push"
ECR_USER, ECR_PASSWORD = "AWS", "123456789012-auth-token"  # moto: base64("AWS:<account>-auth-token")
BINARIES = ("dockerd", "docker-registry", "htpasswd")


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:PORT

    def get(self, path: str, *, user: str = USER, password: str = PASSWORD, accept: str = "") -> tuple[dict[str, str], bytes]:
        request = urllib.request.Request(f"http://{self.host}{path}")
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
        if accept:
            request.add_header("Accept", accept)
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local test registry
            return dict(response.headers.items()), response.read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        pytest.skip(f"integration tests need {', '.join(missing)} (apt-get install docker.io docker-registry apache2-utils)")
    pytest.importorskip("docker", reason="the docker SDK is needed: pip install 'modelfleet[build]'")
    # short path: unix socket paths are limited to 108 bytes
    path = Path(tempfile.mkdtemp(prefix="mf-it-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _start_dockerd(root: Path, driver: str) -> tuple[subprocess.Popen[bytes], str] | None:
    sock = root / "docker.sock"
    with (root / f"dockerd-{driver}.log").open("wb") as log:
        process = subprocess.Popen(
            ["dockerd", "--iptables=false", "--bridge=none", "--storage-driver", driver, "--data-root", str(root / f"data-{driver}"),
             "--exec-root", str(root / "exec"), "--pidfile", str(root / "docker.pid"), "--host", f"unix://{sock}"],
            stdout=log, stderr=subprocess.STDOUT)
    import docker

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        if sock.exists():
            try:
                client = docker.DockerClient(base_url=f"unix://{sock}", timeout=5)
                client.ping()
                client.close()
                return process, f"unix://{sock}"
            except docker.errors.DockerException:
                pass
        time.sleep(0.2)
    _stop(process)
    return None


@pytest.fixture(scope="session")
def docker_host(workdir: Path) -> Iterator[str]:
    """DOCKER_HOST of a private dockerd (overlay2, else vfs)."""
    if os.geteuid() != 0:
        pytest.skip("dockerd needs root here")
    started = _start_dockerd(workdir, "overlay2") or _start_dockerd(workdir, "vfs")
    if started is None:
        logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(workdir.glob("dockerd-*.log")))
        pytest.fail(f"dockerd did not start with overlay2 or vfs:\n{logs}")
    process, host = started
    yield host
    _stop(process)


@pytest.fixture(scope="session")
def registry(workdir: Path) -> Iterator[Registry]:
    """A distribution 2.8 registry with htpasswd (bcrypt) auth on 127.0.0.1."""
    htpasswd = workdir / "htpasswd"
    lines = [subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True, text=True).stdout.strip()
             for user, password in ((USER, PASSWORD), (ECR_USER, ECR_PASSWORD))]
    htpasswd.write_text("\n".join(lines) + "\n")
    host = f"127.0.0.1:{_free_port()}"
    config = workdir / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {workdir / 'registry-data'}}}}}\n"
        f"http: {{addr: '{host}', secret: modelfleet-integration}}\n"
        f"auth: {{htpasswd: {{realm: modelfleet-test, path: {htpasswd}}}}}\n")
    with (workdir / "registry.log").open("wb") as log:
        process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=2)  # noqa: S310 - local test registry
            break
        except urllib.error.HTTPError as e:
            if e.code == 401:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            _stop(process)
            pytest.fail(f"docker-registry did not start:\n{(workdir / 'registry.log').read_text(errors='replace')[-1500:]}")
        time.sleep(0.1)
    yield Registry(host)
    _stop(process)
