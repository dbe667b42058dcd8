"""The model's weights and secrets inside a Kubernetes pod, from the placement's `ArtifactPlan`.

Pure builders (no resources), used by `pod` and `model_server`:
- `init_containers(p, images)`: the fetch step of the plan's scheme family — KServe's storage
  initializer (s3, gs, Blob URL, hf), MLflow's client (unresolved models:/), or the model image
  copying its /models (oci) — writing into the `model` volume; none for pvc or KServe-fetched URIs.
- `model_volume(p)` / `model_mount(p)`: emptyDir for fetched weights, or the claim (read-only,
  `subPath` for `pvc://claim/path`).
- `secret_env(p)`: `valueFrom.secretKeyRef` entries for `serving.secret_env` (never a value).
- `kserve_storage(p)`: how KServe gets the weights: `storageUri` for the model spec, or the
  `STORAGE_URI` variable on a custom container (KServe injects its storage initializer for either).
- `SECRET_NAME(p)`: the per-model Secret that `components.kubernetes.secrets` fills.
"""

from __future__ import annotations

from typing import Any

from components.kubernetes.objects import CACHE_DIR, MODEL_DIR, container_security_context, pull_policy, resources_for, runtime_data
from modelfleet import uris
from modelfleet.placement import Placement

# variables a fetch step may need to reach a store (Hub token, tracking server, object-store keys)
FETCH_ENV_PREFIXES = ("HF_", "HUGGING_FACE_", "MLFLOW_", "AWS_", "AZURE_", "GOOGLE_", "GCS_")


def secret_name(p: Placement) -> str:
    return f"{p.name}-secrets"


def _scratch_gib(p: Placement) -> float:
    return p.spec.model.size_gib * 1.2 + 10


def secret_env(p: Placement, only_fetch: bool = False) -> list[dict[str, Any]]:
    """`serving.secret_env` as secretKeyRef entries: the per-model Secret (keyed by logical name), or the
    referenced Secret itself when it lives in the model's namespace (a kubernetes ref without namespace)."""
    if p.artifact is None:
        return []
    out = []
    for use in p.artifact.secrets:
        if only_fetch and not use.env.startswith(FETCH_ENV_PREFIXES):
            continue
        k = use.ref.kubernetes
        direct = k is not None and k.namespace is None and p.artifact.secrets_via == "kubernetes"
        ref = {"name": k.secret, "key": k.key} if direct and k is not None else {"name": secret_name(p), "key": use.logical}
        out.append({"name": use.env, "valueFrom": {"secretKeyRef": ref}})
    return out


def model_volume(p: Placement) -> dict[str, Any]:
    a = p.artifact
    if a is not None and a.method == "pvc-mount" and not _kserve_fetches(p):
        return {"name": "model", "persistentVolumeClaim": {"claimName": uris.parse(a.fetch_uri).host, "readOnly": True}}
    return {"name": "model", "emptyDir": {"sizeLimit": f"{int(p.spec.model.size_gib * 1.2) + 1}Gi"}}


def model_mount(p: Placement) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": "model", "mountPath": MODEL_DIR, "readOnly": True}
    a = p.artifact
    if a is not None and a.method == "pvc-mount":
        path = uris.parse(a.fetch_uri).path.strip("/")
        if path:
            mount["subPath"] = path
    return mount


def _kserve_fetches(p: Placement) -> bool:
    return p.artifact is not None and p.artifact.engine == "kserve" and p.artifact.method in ("storage-initializer", "modelcar", "pvc-mount")


def init_containers(p: Placement, images: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The fetch step, or [] when nothing must run before the server (pvc mount, KServe's own initializer)."""
    a = p.artifact
    if a is None or a.method != "init-container" or a.fetcher is None:
        return []
    images = images or {}
    env: list[dict[str, Any]] = secret_env(p, only_fetch=True)
    env_from: list[dict[str, Any]] = []
    # KServe's storage initializer and MLflow's client write caches under HOME; the root filesystem is read-only
    env.append({"name": "HOME", "value": "/tmp"})
    if a.fetcher == "storage_initializer":
        image = images.get("storage_initializer") or runtime_data()["storage_initializer"]
        source = uris.blob_url(a.fetch_uri) if a.fetch_uri.startswith("az://") else a.fetch_uri
        spec: dict[str, Any] = {"image": image, "args": [source, MODEL_DIR]}
    elif a.fetcher == "mlflow_fetch":
        image = images.get("mlflow_fetch") or runtime_data()["mlflow_fetch"]
        env.append({"name": "MLFLOW_TRACKING_URI", "value": a.tracking_uri or ""})
        spec = {"image": image, "command": ["mlflow", "artifacts", "download"],
                "args": ["--artifact-uri", a.fetch_uri, "--dst-path", MODEL_DIR]}
    else:  # model_image: an oci:// model image built by `modelfleet build` (files under /models, a /bin/sh base)
        image = a.fetch_uri.removeprefix("oci://")
        spec = {"image": image, "command": ["/bin/sh", "-c", f"cp -R /models/. {MODEL_DIR}/"]}
    if a.credentials_secret:
        env_from.append({"secretRef": {"name": a.credentials_secret}})
    container = {
        "name": "fetch-model",
        **spec,
        "imagePullPolicy": pull_policy(spec["image"]),
        "env": env,
        "resources": resources_for(1, 2, 0, _scratch_gib(p)),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "model", "mountPath": MODEL_DIR}, {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "cache", "mountPath": CACHE_DIR}],
    }
    if env_from:
        container["envFrom"] = env_from
    return [container]


def kserve_storage(p: Placement) -> str | None:
    """The URI KServe's storage initializer (or modelcar) fetches, in KServe's own schemes; None when an
    init container of ours fetches instead."""
    a = p.artifact
    if a is None or a.method not in ("storage-initializer", "modelcar", "pvc-mount"):
        return None
    return uris.blob_url(a.fetch_uri) if a.fetch_uri.startswith("az://") else a.fetch_uri
