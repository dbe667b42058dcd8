"""Model and environment registration in an Azure ML workspace, for `AzureMLEndpoint`.

- `model_reference`: az:// → `ModelContainer` + `ModelVersion` (Blob URL, mounted by Azure
  ML at AZUREML_MODEL_DIR); models:/<name>/<version> → the workspace MLflow registry entry (no
  registration); hf:// (vLLM/TGI only, checked at placement) → nothing: the server downloads it.
- `environment_version`: `EnvironmentContainer` + `EnvironmentVersion` holding the image the
  deployment runs (`modelfleet.azureml_container`: the runtime's launcher or a custom image) and its
  liveness/readiness/scoring routes; the version is a hash of image and routes because
  environment versions are immutable in Azure ML.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from modelfleet.azureml_container import AzureMLContainer
from modelfleet.naming import short_hash
from modelfleet.placement import Placement


def blob_url(uri: str) -> str:
    """az://<account>/<container>/<path> → https://<account>.blob.core.windows.net/<container>/<path>."""
    account, _, rest = uri.removeprefix("az://").partition("/")
    return f"https://{account}.blob.core.windows.net/{rest}"


def model_reference(name: str, p: Placement, where: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Output[str] | None:
    """The model id the deployment mounts, or None (a Hub model the server downloads itself)."""
    spec = p.spec
    uri = spec.model.uri
    if uri.startswith("models:/"):
        model, _, model_version = uri.removeprefix("models:/").partition("/")
        return pulumi.Output.from_input(f"azureml:{model}:{model_version or 'latest'}")
    if not uri.startswith("az://"):
        return None
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
    return version.id


def environment_version(name: str, p: Placement, planned: AzureMLContainer, where: dict[str, Any],
                        opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    routes = planned.routes
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
