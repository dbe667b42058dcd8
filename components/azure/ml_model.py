"""Model and environment registration in an Azure ML workspace, for `AzureMLEndpoint`.

- `model_reference`: az:// → `ModelContainer` + `ModelVersion` (Blob URL, mounted by Azure
  ML); models:/<name>/<version> → the workspace MLflow registry entry (no registration);
  anything else → no registration, the URI goes to the container as MODEL_URI.
- `environment_version`: `EnvironmentContainer` + `EnvironmentVersion` holding the serving
  image and its routes; the version is a hash of image and routes because environment
  versions are immutable in Azure ML.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from modelfleet.naming import short_hash
from modelfleet.placement import Placement
from modelfleet.runtimes import profile_for

MODEL_MOUNT = "/var/azureml-app/model"  # where Azure ML mounts a registered model


def blob_url(uri: str) -> str:
    """az://<account>/<container>/<path> → https://<account>.blob.core.windows.net/<container>/<path>."""
    account, _, rest = uri.removeprefix("az://").partition("/")
    return f"https://{account}.blob.core.windows.net/{rest}"


def model_reference(name: str, p: Placement, where: dict[str, Any],
                    opts: pulumi.ResourceOptions) -> tuple[pulumi.Output[str] | None, dict[str, str]]:
    """(model id for the deployment or None, environment variables telling the server where the weights are)."""
    spec = p.spec
    uri = spec.model.uri
    if uri.startswith("models:/"):
        model, _, model_version = uri.removeprefix("models:/").partition("/")
        return pulumi.Output.from_input(f"azureml:{model}:{model_version or 'latest'}"), {"MODEL_DIR": MODEL_MOUNT}
    if not uri.startswith("az://"):
        return None, {"MODEL_URI": uri}
    tags = {k: v for k, v in p.tags.items()}
    container = azure_native.machinelearningservices.ModelContainer(
        f"{name}-model", name=p.names["model"], properties={"description": spec.description or spec.name, "tags": tags},
        **where, opts=opts)
    version = azure_native.machinelearningservices.ModelVersion(
        f"{name}-model-version", name=p.names["model"], version=spec.version,
        properties={"model_uri": blob_url(uri), "model_type": "custom_model", "description": f"{spec.name} {spec.version}",
                    "tags": tags, "properties": {"framework": spec.model.framework}},
        **where,
        # a registered version is immutable and deployments may still reference it after an upgrade
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[container], retain_on_delete=True)))
    return version.id, {"MODEL_DIR": MODEL_MOUNT}


def container_routes(p: Placement) -> dict[str, dict[str, Any]]:
    """Liveness/readiness and scoring routes of the serving container, on the port and probe paths of
    the runtime profile (the spec's serving.port / serving.health.path override them)."""
    s = p.spec.serving
    profile = profile_for(p.spec, "deployment")
    live, ready = profile.health_path, profile.readiness_path
    scoring = {"vllm": "/v1/chat/completions", "tgi": "/generate", "triton": f"/v2/models/{p.model}/infer",
               "torchserve": f"/predictions/{p.model}", "tfserving": f"/v1/models/{p.model}:predict"}.get(s.runtime, "/")
    return {"liveness_route": {"path": live, "port": profile.port},
            "readiness_route": {"path": ready, "port": profile.port},
            "scoring_route": {"path": scoring, "port": profile.port}}


def environment_version(name: str, p: Placement, where: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    routes = container_routes(p)
    container = azure_native.machinelearningservices.EnvironmentContainer(
        f"{name}-environment", name=p.names["environment"],
        properties={"description": f"serving image for {p.model}", "tags": dict(p.tags)}, **where, opts=opts)
    version = azure_native.machinelearningservices.EnvironmentVersion(  # type: ignore[call-overload]
        f"{name}-environment-version", name=p.names["environment"],
        version=short_hash(json.dumps({"image": p.image, "routes": routes}, sort_keys=True), 12),
        properties={"image": p.image, "os_type": "Linux", "inference_config": routes, "tags": dict(p.tags),
                    "description": f"{p.spec.serving.runtime} for {p.model}"},
        **where,
        # versions are immutable; an older one may still back a deployment slot during rollout
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[container], retain_on_delete=True)))
    return version.id
