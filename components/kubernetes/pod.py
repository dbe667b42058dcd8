"""The serving container and pod spec, shared by the Deployment and KServe engines.

Hardened by default: non-root, read-only root filesystem with emptyDir for /tmp and the
model cache, all capabilities dropped, no privilege escalation, seccomp RuntimeDefault,
requests = limits. Port, probes, metrics port and the runtime's own arguments come from the
model's runtime profile (`modelfleet.runtimes`), so the container port, the Service, the
probes and the scrape endpoint agree; a runtime that needs a config file to listen on all
interfaces or to export metrics (TorchServe, TF Serving) gets it from a ConfigMap mounted
read-only. How the model reaches the pod (fetch step, volume, secret environment) is
`components.kubernetes.artifacts`, from the placement's artifact plan.
"""

from __future__ import annotations

from typing import Any

from components.kubernetes import artifacts
from components.kubernetes.objects import (
    CACHE_DIR,
    METRICS_PORT_NAME,
    MODEL_DIR,
    POOL_LABEL,
    RUNTIME_CONFIG_VOLUME,
    container_security_context,
    gpu_tolerations,
    pull_policy,
    resources_for,
)
from modelfleet.placement import Placement
from modelfleet.runtimes import RuntimeProfile


def server_args(p: Placement, profile: RuntimeProfile) -> list[str]:
    """The runtime profile's args (model dir, port, metrics) followed by the spec's own args; spec
    validation refuses an arg that repeats or contradicts a profile flag, so none is doubled."""
    return profile.args(MODEL_DIR, p.model) + list(p.spec.serving.args)


def probes(p: Placement, profile: RuntimeProfile) -> dict[str, Any]:
    """Readiness on the runtime's readiness path, liveness on its liveness path, both on its port."""
    delay = p.spec.serving.health.initial_delay_s
    ready = {"path": profile.readiness_path, "port": profile.port}
    live = {"path": profile.health_path, "port": profile.port}
    return {
        "readinessProbe": {"httpGet": ready, "initialDelaySeconds": delay, "periodSeconds": 10,
                           "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {"httpGet": live, "initialDelaySeconds": delay + 30, "periodSeconds": 20,
                          "timeoutSeconds": 5, "failureThreshold": 6},
    }


def container_ports(profile: RuntimeProfile) -> list[dict[str, Any]]:
    ports = [{"name": "http", "containerPort": profile.port, "protocol": "TCP"}]
    if profile.separate_metrics_port:
        ports.append({"name": METRICS_PORT_NAME, "containerPort": profile.metrics_port, "protocol": "TCP"})
    return ports


def runtime_config(p: Placement, profile: RuntimeProfile) -> dict[str, str]:
    """Files the runtime needs (file name → content), mounted at the profile's path; {} for none."""
    cfg = profile.config_file
    if not cfg:
        return {}
    content = cfg["content"]
    # plain replacement, not str.format: config formats (TF Serving's text proto) have braces of their own
    for key, value in (("{port}", profile.port), ("{metrics_port}", profile.metrics_port), ("{name}", p.model)):
        content = content.replace(key, str(value))
    return {cfg["name"]: content}


def runtime_config_name(p: Placement) -> str:
    return f"{p.name}-runtime-config"


def container_env(p: Placement) -> list[dict[str, Any]]:
    """Literal variables (sorted), then `serving.secret_env` as secret references."""
    env = {"HOME": CACHE_DIR, "HF_HOME": f"{CACHE_DIR}/hf", "XDG_CACHE_HOME": CACHE_DIR, "MODEL_DIR": MODEL_DIR,
           "MODEL_NAME": p.model, "MODEL_VERSION": p.version}
    env.update(p.spec.serving.env)
    return [*({"name": k, "value": v} for k, v in sorted(env.items())), *artifacts.secret_env(p)]


def serving_container(p: Placement, profile: RuntimeProfile) -> dict[str, Any]:
    r = p.spec.resources
    container = {
        "name": "server",
        "image": p.image,
        **({"command": list(profile.command)} if profile.command else {}),
        "args": server_args(p, profile),
        "ports": container_ports(profile),
        "env": container_env(p),
        "imagePullPolicy": pull_policy(p.image),
        "resources": resources_for(r.cpu, r.memory_gib, p.gpus_per_replica, scratch_gib(p)),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "cache", "mountPath": CACHE_DIR},
                         artifacts.model_mount(p)],
        **probes(p, profile),
    }
    if profile.config_file:
        container["volumeMounts"].append({"name": RUNTIME_CONFIG_VOLUME, "mountPath": profile.config_file["mount_path"], "readOnly": True})
    if p.gpus_per_replica:
        # /dev/shm: tensor-parallel NCCL needs more than the 64 MiB container default
        container["volumeMounts"].append({"name": "dshm", "mountPath": "/dev/shm"})
    return container


def scratch_gib(p: Placement) -> float:
    """Node disk a replica may use: the downloaded model plus 10 GiB for /tmp and caches."""
    return p.spec.model.size_gib * 1.2 + 10


def volumes(p: Placement, profile: RuntimeProfile) -> list[dict[str, Any]]:
    out = [{"name": "tmp", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}, artifacts.model_volume(p)]
    if profile.config_file:
        out.append({"name": RUNTIME_CONFIG_VOLUME, "configMap": {"name": runtime_config_name(p)}})
    if p.gpus_per_replica:
        out.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}})
    return out


def init_containers(p: Placement, images: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The model's fetch step before the server starts (`images` overrides the pinned fetch images)."""
    return artifacts.init_containers(p, images)


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
