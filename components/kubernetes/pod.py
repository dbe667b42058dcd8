"""The serving container and pod spec, shared by the Deployment and KServe engines.

Hardened by default: non-root, read-only root filesystem with emptyDir for /tmp and the
model cache, all capabilities dropped, no privilege escalation, seccomp RuntimeDefault,
requests = limits, probes from `serving.health`. The model reaches the pod through KServe's
storage initializer (s3/gs/az/hf URIs) or a read-only PVC mount (pvc://).
"""

from __future__ import annotations

from typing import Any

from components.kubernetes.objects import (
    CACHE_DIR,
    MODEL_DIR,
    POOL_LABEL,
    container_security_context,
    gpu_tolerations,
    pull_policy,
    resources_for,
    runtime_data,
)
from modelfleet.placement import Placement

FETCHED_SCHEMES = ("s3://", "gs://", "az://", "hf://")


def server_args(p: Placement) -> list[str]:
    """Runtime defaults (model dir, port) followed by the spec's own args."""
    template = runtime_data()["default_args"][p.spec.serving.runtime]
    values = {"model_dir": MODEL_DIR, "port": str(p.spec.serving.port), "name": p.model}
    return [arg.format(**values) for arg in template] + list(p.spec.serving.args)


def probes(p: Placement) -> dict[str, Any]:
    health = p.spec.serving.health
    http = {"path": health.path, "port": p.spec.serving.port}
    return {
        "readinessProbe": {"httpGet": http, "initialDelaySeconds": health.initial_delay_s, "periodSeconds": 10,
                           "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {"httpGet": http, "initialDelaySeconds": health.initial_delay_s + 30, "periodSeconds": 20,
                          "timeoutSeconds": 5, "failureThreshold": 6},
    }


def container_env(p: Placement) -> list[dict[str, str]]:
    env = {"HOME": CACHE_DIR, "HF_HOME": f"{CACHE_DIR}/hf", "XDG_CACHE_HOME": CACHE_DIR, "MODEL_DIR": MODEL_DIR,
           "MODEL_NAME": p.model, "MODEL_VERSION": p.version}
    env.update(p.spec.serving.env)
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def serving_container(p: Placement) -> dict[str, Any]:
    r = p.spec.resources
    container = {
        "name": "server",
        "image": p.image,
        "args": server_args(p),
        "ports": [{"name": "http", "containerPort": p.spec.serving.port, "protocol": "TCP"}],
        "env": container_env(p),
        "imagePullPolicy": pull_policy(p.image),
        "resources": resources_for(r.cpu, r.memory_gib, p.gpus_per_replica, scratch_gib(p)),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "cache", "mountPath": CACHE_DIR},
                         {"name": "model", "mountPath": MODEL_DIR, "readOnly": True}],
        **probes(p),
    }
    if p.gpus_per_replica:
        # /dev/shm: tensor-parallel NCCL needs more than the 64 MiB container default
        container["volumeMounts"].append({"name": "dshm", "mountPath": "/dev/shm"})
    return container


def scratch_gib(p: Placement) -> float:
    """Node disk a replica may use: the downloaded model plus 10 GiB for /tmp and caches."""
    return p.spec.model.size_gib * 1.2 + 10


def volumes(p: Placement) -> list[dict[str, Any]]:
    uri = p.spec.model.uri
    model: dict[str, Any]
    if uri.startswith("pvc://"):
        claim, _, _ = uri[len("pvc://"):].partition("/")
        model = {"name": "model", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
    else:
        model = {"name": "model", "emptyDir": {"sizeLimit": f"{int(p.spec.model.size_gib * 1.2) + 1}Gi"}}
    out = [{"name": "tmp", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}, model]
    if p.gpus_per_replica:
        out.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}})
    return out


def init_containers(p: Placement, image: str | None = None) -> list[dict[str, Any]]:
    """Download the model into the shared volume before the server starts (`image` overrides
    the pinned storage-initializer image)."""
    if not p.spec.model.uri.startswith(FETCHED_SCHEMES):
        return []
    return [{
        "name": "fetch-model",
        "image": image or runtime_data()["storage_initializer"],
        "imagePullPolicy": pull_policy(image or runtime_data()["storage_initializer"]),
        "args": [p.spec.model.uri, MODEL_DIR],
        "resources": resources_for(1, 2, 0, scratch_gib(p)),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "model", "mountPath": MODEL_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
    }]


def scheduling(p: Placement, node_selector: dict[str, str]) -> dict[str, Any]:
    """GPU pods tolerate the GPU taint and select their pool; CPU pods stay off GPU nodes."""
    if not p.gpus_per_replica or p.shape is None:
        return {}
    tolerations = gpu_tolerations()
    if p.shape.spot and p.target == "aks":
        # AKS taints every spot node itself; pods placed on a spot pool must accept that too
        tolerations.append({"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot",
                            "effect": "NoSchedule"})
    return {"tolerations": tolerations, "nodeSelector": node_selector or {POOL_LABEL: p.shape.key}}


def spread(p: Placement, selector: dict[str, str]) -> dict[str, Any]:
    """Prefer replicas on different nodes and zones, so one node or zone loss never takes all of them."""
    if p.max_replicas < 2:
        return {}
    term = {"labelSelector": {"matchLabels": selector}}
    return {
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {**term, "topologyKey": "kubernetes.io/hostname"}},
            {"weight": 50, "podAffinityTerm": {**term, "topologyKey": "topology.kubernetes.io/zone"}},
        ]}},
    }
