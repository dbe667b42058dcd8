"""Kubernetes constants and small builders shared by every Kubernetes component.

Group/version constants, the GPU resource name and taint, and the metadata / toleration /
security-context builders live here once, so labels and hardening never drift apart.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
ACCELERATOR_LABEL = "modelfleet.io/accelerator"
POOL_LABEL = "modelfleet.io/gpu-pool"
KSERVE_API = "serving.kserve.io/v1beta1"
KEDA_API = "keda.sh/v1alpha1"
MODEL_DIR = "/mnt/models"
METRICS_PORT_NAME = "metrics"
KSERVE_CONTAINER = "kserve-container"  # the predictor container name KServe requires for custom containers
RUNTIME_CONFIG_VOLUME = "runtime-config"
CACHE_DIR = "/cache"
NON_ROOT_UID = 10001  # above 10000: no clash with host users (CKV_K8S_40)


@lru_cache(maxsize=1)
def runtime_data() -> dict[str, Any]:
    text = resources.files("modelfleet.data").joinpath("runtime_images.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def metadata(name: str, namespace: str | None, labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def gpu_tolerations() -> list[dict[str, str]]:
    return [{"key": GPU_TAINT["key"], "operator": "Equal", "value": GPU_TAINT["value"], "effect": GPU_TAINT["effect"]}]


def pod_security_context() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": NON_ROOT_UID, "runAsGroup": NON_ROOT_UID, "fsGroup": NON_ROOT_UID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": NON_ROOT_UID, "allowPrivilegeEscalation": False, "privileged": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def resources_for(cpu: float, memory_gib: float, gpus: int, ephemeral_gib: float | None = None) -> dict[str, dict[str, str]]:
    """Requests = limits (Guaranteed QoS); GPUs only when asked for; ephemeral storage bounds
    the node disk a pod may fill (model download, caches) so one pod cannot evict its neighbours."""
    amounts = {"cpu": _cpu(cpu), "memory": f"{int(round(memory_gib * 1024))}Mi"}
    if ephemeral_gib is not None:
        amounts["ephemeral-storage"] = f"{int(ephemeral_gib + 0.999)}Gi"
    if gpus:
        amounts[GPU_RESOURCE] = str(gpus)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def pull_policy(image: str) -> str:
    """A digest never changes, so the cached copy is right; a tag may move, so ask the registry."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


def digest_waiver(images: list[str], environment: str) -> dict[str, str]:
    """Outside prod, images may follow a tag (policy MF-K8S-010 demands digests in prod only);
    say so in the manifest, in the annotation Checkov reads, instead of leaving a silent finding."""
    if environment == "prod" or all("@sha256:" in image for image in images):
        return {}
    return {"checkov.io/skip9": f"CKV_K8S_43={environment} follows image tags; prod pins digests (policy MF-K8S-010)"}


def _cpu(cpu: float) -> str:
    return str(int(cpu)) if float(cpu).is_integer() else f"{int(round(cpu * 1000))}m"
