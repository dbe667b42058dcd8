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
CACHE_DIR = "/cache"
NON_ROOT_UID = 1000


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


def resources_for(cpu: float, memory_gib: float, gpus: int) -> dict[str, dict[str, str]]:
    """Requests = limits (Guaranteed QoS); GPUs only in limits+requests when asked for."""
    amounts = {"cpu": _cpu(cpu), "memory": f"{int(round(memory_gib * 1024))}Mi"}
    if gpus:
        amounts[GPU_RESOURCE] = str(gpus)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _cpu(cpu: float) -> str:
    return str(int(cpu)) if float(cpu).is_integer() else f"{int(round(cpu * 1000))}m"
