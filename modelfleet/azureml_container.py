"""What an Azure ML managed online deployment runs for one model: image, environment, routes.

Azure ML runs a deployment's environment image with the image's own ENTRYPOINT/CMD: neither the
environment version (image, inference_config routes, build context) nor the managed deployment
(environment variables, model, model mount path, probes, request settings) has a command or
argument field (ARM Microsoft.MachineLearningServices 2025-12-01, azure-native 3.29
`ManagedOnlineDeploymentArgs`/`EnvironmentVersion`). The upstream vLLM, TGI, Triton, TorchServe and
TF Serving images started that way serve no model (vLLM's `vllm serve` falls back to its default
model, Triton and TorchServe start with no repository, TF Serving expects MODEL_NAME/MODEL_BASE_PATH).

Choice: a launcher image per runtime, made from the SAME runtime profile as Kubernetes
(`modelfleet/data/runtime_profiles.yaml`: command or image_entrypoint, default_args, port, probe
paths, config file) — `FROM <the pinned upstream image>`, a POSIX sh launcher as ENTRYPOINT that
execs the profile's command with the model directory, plus the profile's config file. This is what
Azure's own custom-container examples do (Azure/azureml-examples
cli/endpoints/online/custom-container: triton/single-model, torchserve/densenet and huggingface-tgi
each build `FROM` the upstream image with their own CMD/ENTRYPOINT and push it to the workspace's ACR).
Curated Azure ML environments were not chosen: they pin other server versions with their own
scoring contracts (Azure ML's inference server and score.py), so probes, ports and arguments
would differ from every other target. `modelfleet build MODEL --stack S --push` builds and pushes
the launcher to the stack's registry (a content-hash tag), and the environment references it.

Model directory: Azure ML mounts a registered model version at
`/var/azureml-app/azureml-models/<name>/<version>` (`AZUREML_MODEL_DIR`), keeping the registered
folder's own name inside it ("Use a custom container to deploy a model to an online endpoint":
the model registered from `half_plus_two` is served from `.../tfserving-mounted/1/half_plus_two`).
`MODEL_DIR` on the deployment names it for az:// models (folder = the URI's last segment); for
`models:/` (folder unknown offline) the launcher uses `AZUREML_MODEL_DIR`; for `hf://` (vLLM/TGI only)
it is the Hub repository, which the server downloads itself.

Contract (pure; no Pulumi, no I/O):
- `container_for(spec, stack, base_image, model_name)` → `AzureMLContainer` (image, launcher or None,
  environment variables, inference routes).
- `secret_references(uses)` → deployment environment variables that Azure ML's secret injection fills
  from Key Vault with the endpoint identity (`${{keyvault:<secret URI>}}`); `secret_scope(uri, vaults)`
  → the role-assignment scope of that one secret (None when the stack does not give the vault's id).
- `Launcher.files()` → the build context (Dockerfile, launcher script, config file); `Launcher.tag`
  is a hash of that context, so the same profile and spec always name the same image.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field
from typing import Any

from modelfleet import uris
from modelfleet.profiles import profile_data
from modelfleet.runtimes import RuntimeProfile, profile_for
from modelfleet.secret_refs import KEY_VAULT_URI
from modelfleet.spec import ModelSpec

# "Use a custom container to deploy a model to an online endpoint" (learn.microsoft.com, azure-ai-docs
# articles/machine-learning/how-to-deploy-custom-container.md): default mount of model <name> version <v>
MODEL_ROOT = "/var/azureml-app/azureml-models"
LAUNCHER = "/usr/local/bin/modelfleet-launch"
# request paths a caller scores on, per runtime (the scoring_route Azure ML forwards /score to)
SCORING_PATHS = {
    "vllm": "/v1/chat/completions",  # vllm@v0.11.0 vllm/entrypoints/openai/api_server.py
    "tgi": "/generate",  # text-generation-inference@v3.3.6 router/src/server.rs
    "triton": "/v2/models/{name}/infer",  # KServe v2 protocol, triton server@v2.61.0 src/http_server.cc
    "torchserve": "/predictions/{name}",  # pytorch/serve@v0.12.0 docs/inference_api.md
    "tfserving": "/v1/models/{name}:predict",  # tensorflow/serving@2.19.0 g3doc/api_rest.md
}


def secret_references(uses: Any) -> dict[str, str]:
    """env → `${{keyvault:<uri>}}`: Azure ML resolves these at deployment creation with the endpoint identity
    ("Secret injection in online endpoints", azure-ai-docs how-to-deploy-online-endpoint-with-secret-injection.md)."""
    return {u.env: "${{keyvault:" + u.ref.key_vault + "}}" for u in uses if u.ref.key_vault}


def secret_scope(uri: str, key_vaults: dict[str, str]) -> str | None:
    """`<vault resource id>/secrets/<name>` for a Key Vault secret URI (Key Vault RBAC scopes a role to one secret)."""
    match = KEY_VAULT_URI.match(uri)
    if not match:
        return None
    ids = {name.lower(): rid for name, rid in key_vaults.items()}
    rid = ids.get(match["vault"].lower())
    return f"{rid}/secrets/{match['name']}" if rid else None


@dataclass(frozen=True)
class Launcher:
    """The launcher image: `base` (the pinned upstream image), the launcher `script`, the runtime's
    config file (`config_path` → `config`), and the image reference `image` it is pushed as."""

    runtime: str
    base: str
    script: str
    repository: str
    config_path: str | None = None
    config: str | None = None

    def dockerfile(self) -> str:
        lines = [f"FROM {self.base}", f"COPY modelfleet-launch {LAUNCHER}"]
        if self.config_path:
            lines.append(f"COPY runtime-config {self.config_path}")
        # run through /bin/sh: no executable bit needed (COPY --chmod is BuildKit-only)
        lines += [f'ENTRYPOINT ["/bin/sh", "{LAUNCHER}"]', "CMD []"]
        return "\n".join(lines) + "\n"

    def files(self) -> dict[str, str]:
        out = {"Dockerfile": self.dockerfile(), "modelfleet-launch": self.script}
        if self.config_path and self.config is not None:
            out["runtime-config"] = self.config
        return out

    @property
    def digest(self) -> str:
        """sha256 hex over the build context (name and content of each file, sorted)."""
        return hashlib.sha256("\0".join(f"{k}\0{v}" for k, v in sorted(self.files().items())).encode()).hexdigest()

    @property
    def tag(self) -> str:
        return f"azureml-{self.runtime}-{self.digest[:16]}"

    @property
    def image(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class AzureMLContainer:
    """`image` Azure ML runs; `launcher` when modelfleet builds it; `env` for the deployment (values
    are literal: Azure ML does not expand variables); `routes` the environment's inference_config;
    `model_dir` where the server reads the weights (None = the launcher uses AZUREML_MODEL_DIR)."""

    image: str
    launcher: Launcher | None
    env: dict[str, str]
    routes: dict[str, dict[str, Any]]
    model_dir: str | None
    how: str
    notes: tuple[str, ...] = field(default=())


def registered_model_dir(uri: str, model_name: str, version: str) -> str | None:
    """Where Azure ML mounts the weights of `uri` registered as `model_name`:`version`, when known offline."""
    parsed = uris.parse(uri)
    if parsed.scheme != "az":
        return None
    folder = parsed.blob_path.rstrip("/").rsplit("/", 1)[-1]
    base = f"{MODEL_ROOT}/{model_name}/{version}"
    return f"{base}/{folder}" if folder else base


def _shell_word(arg: str) -> str:
    """One shell word; `{model_dir}` becomes the (quoted) $MODEL_DIR expansion."""
    parts = arg.split("{model_dir}")
    return '"$MODEL_DIR"'.join(shlex.quote(p) if p else "" for p in parts) or "''"


def launch_command(profile: RuntimeProfile, spec: ModelSpec) -> list[str]:
    """The argv the launcher execs, `{model_dir}` left in place for the shell to fill."""
    entry = profile_data()["runtimes"].get(spec.serving.runtime, {})
    entrypoint = list(profile.command) or list((entry.get("image_entrypoint") or {}).get("value") or [])
    values = {"port": str(profile.port), "name": spec.name, "metrics_port": str(profile.metrics_port)}
    args = [a.replace("{model_dir}", "\0").format(**values).replace("\0", "{model_dir}") for a in profile.default_args]
    uri = uris.parse(spec.model.uri)
    revision_flag = (entry.get("hub_revision_flag") or {}).get("value")
    if uri.scheme == "hf" and uri.revision and revision_flag:
        args += [revision_flag, uri.revision]
    return [*entrypoint, *args, *spec.serving.args]


def launch_script(profile: RuntimeProfile, spec: ModelSpec) -> str:
    argv = launch_command(profile, spec)
    return "\n".join([
        "#!/bin/sh",
        f"# modelfleet launcher: {spec.serving.runtime} {profile.version} as its runtime profile runs it on every target.",
        "# Azure ML has no command field; MODEL_DIR is set by the deployment (registered or Hub model),",
        "# else the mount Azure ML names in AZUREML_MODEL_DIR.",
        "set -eu",
        'MODEL_DIR="${MODEL_DIR:-${AZUREML_MODEL_DIR:-}}"',
        "export MODEL_DIR",
        "exec " + " ".join(_shell_word(a) for a in argv) + ' "$@"',
        "",
    ])


def routes(profile: RuntimeProfile, spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """inference_config: liveness/readiness from the profile's probe paths, scoring on the runtime's API."""
    scoring = SCORING_PATHS.get(spec.serving.runtime, "/").replace("{name}", spec.name)
    return {"liveness_route": {"path": profile.health_path, "port": profile.port},
            "readiness_route": {"path": profile.readiness_path, "port": profile.port},
            "scoring_route": {"path": scoring, "port": profile.port}}


def _config_text(content: str, profile: RuntimeProfile, name: str) -> str:
    # plain replacement, not str.format: TF Serving's text proto has braces of its own
    for key, value in (("{port}", profile.port), ("{metrics_port}", profile.metrics_port), ("{name}", name)):
        content = content.replace(key, str(value))
    return content


def container_for(spec: ModelSpec, repository: str, base_image: str, model_name: str) -> AzureMLContainer:
    """The container plan; `repository` is where `modelfleet build` pushes the model's images."""
    profile = profile_for(spec, "deployment")
    parsed = uris.parse(spec.model.uri)
    model_dir = parsed.hf_repo if parsed.scheme == "hf" else registered_model_dir(spec.model.uri, model_name, spec.version)
    env = dict(spec.serving.env)
    if model_dir:
        env["MODEL_DIR"] = model_dir
    notes: list[str] = []
    if spec.serving.runtime == "custom":
        how = f"the image's own entrypoint; it reads the weights from MODEL_DIR ({model_dir or 'AZUREML_MODEL_DIR'})"
        return AzureMLContainer(base_image, None, env, routes(profile, spec), model_dir, how)
    config = profile.config_file
    launcher = Launcher(
        runtime=spec.serving.runtime, base=base_image, script=launch_script(profile, spec), repository=repository,
        config_path=f"{config['mount_path']}/{config['name']}" if config else None,
        config=_config_text(config["content"], profile, spec.name) if config else None)
    how = (f"launcher image {launcher.image} (FROM {base_image}) runs `{' '.join(launch_command(profile, spec))}` "
           f"with MODEL_DIR={model_dir or '$AZUREML_MODEL_DIR'}; built and pushed by `modelfleet build {spec.name} --push`")
    if parsed.scheme == "models":
        notes.append("the MLflow model's files are read from AZUREML_MODEL_DIR (the registered version's mount)")
    return AzureMLContainer(launcher.image, launcher, env, routes(profile, spec), model_dir, how, tuple(notes))
