"""The reaching half of `modelfleet smoke` on Kubernetes (on-prem, EKS, AKS).

Contract:
- `connect(context)` → a `CoreV1Api` for that kubeconfig context (KUBECONFIG or ~/.kube/config;
  exec plugins such as `aws eks get-token` and `kubelogin` work as in kubectl). No kubeconfig,
  no such context, or the `kubernetes` package missing → `SmokeEnvironmentError` (exit 3).
- `context_for(stack, override)` → the override, else on-prem `cluster.context`, else the
  cluster name (the context `aws eks update-kubeconfig --alias <name>` and
  `az aks get-credentials --name <name>` create).
- `wait_for_pod(core, namespace, selector, deadline)` → name of a pod whose Ready condition is
  True (the selector is the one the model's Deployment / InferenceService uses); None at the
  deadline.
- `public_url(core, custom, namespace, name, engine)` → the model's public base URL when it has
  one (LoadBalancer Service ingress on `deployment`, InferenceService `status.url` on KServe).
- `port_forward(core, namespace, pod, port)` → context manager yielding
  `http://127.0.0.1:<local port>`: a local listener whose every connection is tunnelled to the
  pod's port through the API server (the Kubernetes client's `portforward`, as `kubectl
  port-forward` does). `forward` is injectable for tests.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from modelfleet.environment import AnyStack, KubernetesStack
from modelfleet.smoke.target import SmokeEnvironmentError

# KServe's CRD coordinates (serving.kserve.io/v1beta1 InferenceService, KServe v0.15)
KSERVE_GROUP, KSERVE_VERSION, KSERVE_PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
POLL_S = 2.0


def context_for(stack: AnyStack, override: str | None) -> str | None:
    if override:
        return override
    if isinstance(stack, KubernetesStack):
        cluster = stack.cluster
        return getattr(cluster, "context", None) or getattr(cluster, "name", None)
    return None


def connect(context: str | None) -> tuple[Any, Any]:
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError as e:
        raise SmokeEnvironmentError("the kubernetes package is not installed. To fix: pip install 'modelfleet[smoke]'") from e
    try:
        # KUBECONFIG read now (the client reads it once, at import), colon-separated lists merged as kubectl does
        api = config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"), context=context)
    except (ConfigException, OSError) as e:
        raise SmokeEnvironmentError(f"no kubeconfig context {context!r}: {str(e).rstrip('.')}. To fix: point KUBECONFIG at a kubeconfig with "
                                    "that context (on-prem: modelfleet:cluster.context; EKS: aws eks update-kubeconfig "
                                    "--name N --alias N; AKS: az aks get-credentials --name N), or pass --context") from e
    return client.CoreV1Api(api), client.CustomObjectsApi(api)


def _ready(pod: Any) -> bool:
    conditions = (pod.status.conditions or []) if pod.status else []
    return pod.status is not None and pod.status.phase == "Running" and any(c.type == "Ready" and c.status == "True" for c in conditions)


def wait_for_pod(core: Any, namespace: str, selector: dict[str, str], deadline: float) -> str | None:
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    while True:
        pods = core.list_namespaced_pod(namespace, label_selector=label_selector).items
        ready = sorted(p.metadata.name for p in pods if _ready(p))
        if ready:
            return str(ready[0])
        if time.monotonic() + POLL_S > deadline:
            return None
        time.sleep(POLL_S)


def public_url(core: Any, custom: Any, namespace: str, name: str, engine: str) -> str | None:
    if engine == "kserve":
        isvc = custom.get_namespaced_custom_object(KSERVE_GROUP, KSERVE_VERSION, namespace, KSERVE_PLURAL, name)
        url = (isvc.get("status") or {}).get("url")
        return str(url) if url else None
    service = core.read_namespaced_service(name, namespace)
    ingress = (service.status.load_balancer.ingress or []) if service.status and service.status.load_balancer else []
    for entry in ingress:
        host = entry.hostname or entry.ip
        if host:
            port = service.spec.ports[0].port if service.spec and service.spec.ports else 80
            return f"http://{host}:{port}"
    return None


def _default_forward(core: Any, namespace: str, pod: str, port: int) -> Any:
    from kubernetes.stream import portforward

    return portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port)).socket(port)


def _pipe(a: Any, b: Any) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 60)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)
    except OSError:
        return
    finally:
        for each in sockets:
            with contextlib.suppress(OSError):
                each.close()


@contextlib.contextmanager
def port_forward(core: Any, namespace: str, pod: str, port: int,
                 forward: Callable[[Any, str, str, int], Any] | None = None) -> Iterator[str]:
    connect_pod = forward or _default_forward
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                local, _ = listener.accept()
            except OSError:
                return
            try:
                remote = connect_pod(core, namespace, pod, port)
            except Exception:  # noqa: BLE001 - the API server refused the tunnel: this connection fails, the probe reports it
                local.close()
                continue
            threading.Thread(target=_pipe, args=(local, remote), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
