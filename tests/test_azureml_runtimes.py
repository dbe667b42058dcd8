"""Built-in runtimes on Azure ML managed online deployments start with their model.

Azure ML has no command field, so each built-in runtime runs from a launcher image made from the
same runtime profile as Kubernetes. Per runtime: the rendered deployment (under Pulumi mocks) and
environment carry the profile's port, probe routes and MODEL_DIR; the launcher script, run by a real
/bin/sh, execs exactly the profile's command with the mounted model directory; the build context is
FROM the runtime's pinned image and carries the profile's config file.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from modelfleet import mocked_cloud, preview
from modelfleet.azureml_container import LAUNCHER, MODEL_ROOT
from modelfleet.build import files_context, plan_build
from modelfleet.environment import parse_stack
from modelfleet.placed import default_image
from modelfleet.placement import place_stack
from modelfleet.profiles import profile_data
from modelfleet.runtimes import profile_for
from modelfleet.spec import parse_spec
from modelfleet.targets.azureml import deployment_name, launcher_of

RUNTIMES = ("vllm", "tgi", "triton", "torchserve", "tfserving")
STACK = """config:
  azure-native:location: eastus
  modelfleet:environment: staging
  modelfleet:platform: azureml
  modelfleet:workspace: {name: ml-ws, resource_group: ml-rg}
  modelfleet:registry: {kind: acr}
  modelfleet:artifact_store: {storage_accounts: {acmemodels: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml-data-rg/providers/Microsoft.Storage/storageAccounts/acmemodels"}}
"""
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ENVIRONMENT = "azure-native:machinelearningservices:EnvironmentVersion"
MODEL_VERSION = "azure-native:machinelearningservices:ModelVersion"


def spec_text(runtime: str, uri: str | None = None, args: str = "[]") -> str:
    return f"""name: {runtime}-m
version: "3"
owner: t
model: {{uri: "{uri or f'az://acmemodels/models/{runtime}/weights-3/'}", framework: huggingface}}
serving: {{runtime: {runtime}, args: {args}}}
resources: {{accelerator: T4:1, cpu: 4, memory_gib: 16}}
autoscaling: {{min_replicas: 1, max_replicas: 2, metric: concurrency, target: 4}}
"""


def stack():
    return parse_stack(STACK, "Pulumi.azml.yaml")


def run_launcher(script: str, env: dict[str, str], tmp_path: Path) -> list[str]:
    """Run the launcher with a real /bin/sh; `exec` is turned into printing the argv it would exec."""
    probe = tmp_path / "launch.sh"
    probe.write_text(script.replace("\nexec ", "\nexec printf '%s\\n' ", 1))
    out = subprocess.run(["/bin/sh", str(probe)], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_launcher_runs_the_profiles_command_with_the_mounted_model(runtime: str, tmp_path: Path) -> None:
    spec = parse_spec(spec_text(runtime, args='["--extra-flag", "two words"]'), "m.yaml").base
    container, diagnostics = launcher_of(spec, stack())
    profile = profile_for(spec, "deployment")
    launcher = container.launcher
    assert launcher is not None
    model_dir = f"{MODEL_ROOT}/{runtime}-m/3/weights-3"  # the registered folder keeps its name under the mount
    assert container.env["MODEL_DIR"] == model_dir
    entry = profile_data()["runtimes"][runtime]
    entrypoint = list(profile.command) or list((entry.get("image_entrypoint") or {}).get("value") or [])
    expected = [*entrypoint, *profile.args(model_dir, spec.name), "--extra-flag", "two words"]
    assert run_launcher(launcher.script, {"MODEL_DIR": model_dir}, tmp_path) == expected
    assert any(str(profile.port) in a for a in expected) or str(profile.port) in (launcher.config or ""), \
        "the server is told to listen on the profile's port"
    # the Dockerfile: FROM the runtime's pinned image, the launcher as ENTRYPOINT
    assert launcher.base == default_image(spec, stack())
    dockerfile = launcher.dockerfile()
    assert dockerfile.startswith(f"FROM {launcher.base}\n") and f'ENTRYPOINT ["/bin/sh", "{LAUNCHER}"]' in dockerfile
    if profile.config_file:  # TorchServe's listen addresses / TF Serving's metrics config, as on Kubernetes
        assert launcher.config_path == f"{profile.config_file['mount_path']}/{profile.config_file['name']}"
        assert str(profile.port) in launcher.config or "prometheus" in launcher.config
    # routes: the profile's port and probe paths
    assert container.routes["liveness_route"] == {"path": profile.health_path, "port": profile.port}
    assert container.routes["readiness_route"] == {"path": profile.readiness_path, "port": profile.port}
    assert container.routes["scoring_route"]["port"] == profile.port
    [warning] = [d for d in diagnostics if d.field == "serving.runtime"]
    assert f"modelfleet build {spec.name} --stack azml --push" in warning.message and container.image in warning.message


def test_without_model_dir_the_launcher_reads_azureml_model_dir(tmp_path: Path) -> None:
    spec = parse_spec(spec_text("vllm", uri="models:/chat/4"), "m.yaml").base
    container, _ = launcher_of(spec, stack())
    assert "MODEL_DIR" not in container.env, "an MLflow model's folder is not known offline"
    argv = run_launcher(container.launcher.script, {"AZUREML_MODEL_DIR": "/var/azureml-app/azureml-models/chat/4"}, tmp_path)
    assert argv[:4] == ["vllm", "serve", "--model", "/var/azureml-app/azureml-models/chat/4"]


def test_hub_models_are_downloaded_by_vllm_and_tgi_with_their_revision(tmp_path: Path) -> None:
    for runtime in ("vllm", "tgi"):
        spec = parse_spec(spec_text(runtime, uri="hf://meta-llama/Llama-3.1-8B-Instruct:main"), "m.yaml").base
        container, _ = launcher_of(spec, stack())
        assert container.env["MODEL_DIR"] == "meta-llama/Llama-3.1-8B-Instruct"
        argv = run_launcher(container.launcher.script, container.env, tmp_path)
        assert "meta-llama/Llama-3.1-8B-Instruct" in argv and argv[-2:] == ["--revision", "main"]


def test_a_custom_image_runs_as_it_is() -> None:
    spec = parse_spec(spec_text("custom").replace("serving: {runtime: custom, args: []}",
                                                  "serving: {runtime: custom, image: acme.azurecr.io/clf:1, port: 9000}"), "m.yaml").base
    container, diagnostics = launcher_of(spec, stack())
    assert container.launcher is None and container.image == "acme.azurecr.io/clf:1" and not diagnostics
    assert container.routes["readiness_route"]["port"] == 9000


def test_the_launcher_tag_is_a_hash_of_its_build_context() -> None:
    one, _ = launcher_of(parse_spec(spec_text("vllm"), "m.yaml").base, stack())
    two, _ = launcher_of(parse_spec(spec_text("vllm", args='["--max-model-len", "4096"]'), "m.yaml").base, stack())
    assert re.fullmatch(r"mf[a-z0-9]+\.azurecr\.io/vllm-m:azureml-vllm-[0-9a-f]{16}", one.image)
    assert one.image != two.image, "different arguments are a different image"
    assert launcher_of(parse_spec(spec_text("vllm"), "m.yaml").base, stack())[0].image == one.image


def test_build_plans_the_launcher_with_the_tag_preview_references(tmp_path: Path) -> None:
    (tmp_path / "model_specs").mkdir()
    (tmp_path / "stacks").mkdir()
    (tmp_path / "model_specs" / "tgi-m.yaml").write_text(spec_text("tgi"))
    (tmp_path / "stacks" / "Pulumi.azml.yaml").write_text(STACK)
    plan = plan_build(tmp_path, "tgi-m", "azml")
    assert plan.launcher is not None and plan.context is None and plan.model_dir is None
    container, _ = launcher_of(plan.spec, plan.stack)
    assert plan.launcher.image == container.image
    with files_context(plan.launcher.files()) as handle:
        tar = tarfile.open(fileobj=handle)
        assert sorted(tar.getnames()) == ["Dockerfile", "modelfleet-launch"]
        assert tar.extractfile("modelfleet-launch").read().decode() == plan.launcher.script  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("azml")
    (project / "model_specs").mkdir()
    (project / "stacks").mkdir()
    for runtime in RUNTIMES:
        (project / "model_specs" / f"{runtime}-m.yaml").write_text(spec_text(runtime))
    (project / "stacks" / "Pulumi.azml.yaml").write_text(STACK)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(preview._Mocks, "call", lambda self, args: mocked_cloud.call_result(args.token, args.args, self.region))
        return preview.preview_stack(project, "azml")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rendered_deployment_matches_the_runtime_profile(plan, runtime: str) -> None:
    spec = parse_spec(spec_text(runtime), "m.yaml").base
    profile = profile_for(spec, "deployment")
    container, _ = launcher_of(spec, stack())
    [deployment] = [r for r in plan.of_type(DEPLOYMENT) if r.name.endswith(f"-{runtime}-m-{deployment_name('3')}")]
    props = deployment.inputs["properties"]
    assert props["environmentVariables"]["MODEL_DIR"] == f"{MODEL_ROOT}/{runtime}-m/3/weights-3"
    assert "SERVING_ARGS" not in props["environmentVariables"] and "MODEL_URI" not in props["environmentVariables"]
    assert props["model"] == f"azml-{runtime}-m-model-version-id", "the registered version is mounted"
    assert props["livenessProbe"]["initialDelay"] == f"PT{spec.serving.health.initial_delay_s}S"
    [env] = [r for r in plan.of_type(ENVIRONMENT) if r.name == f"azml-{runtime}-m-environment-version"]
    config = env.inputs["properties"]["inferenceConfig"]
    assert config["livenessRoute"] == {"path": profile.health_path, "port": float(profile.port)}
    assert config["readinessRoute"] == {"path": profile.readiness_path, "port": float(profile.port)}
    assert env.inputs["properties"]["image"] == container.image
    [version] = [r for r in plan.of_type(MODEL_VERSION) if r.name == f"azml-{runtime}-m-model-version"]
    assert version.inputs["properties"]["modelUri"] == f"https://acmemodels.blob.core.windows.net/models/{runtime}/weights-3/"


@pytest.mark.parametrize("runtime", ("triton", "torchserve", "tfserving"))
def test_hub_model_where_the_server_cannot_download_is_a_located_error(runtime: str) -> None:
    sp = place_stack(stack(), [parse_spec(spec_text(runtime, uri="hf://acme/clf"), "m.yaml")])
    [error] = [d for d in sp.errors if d.field == "model.uri"]
    assert "cannot download from the Hugging Face Hub" in error.message and "To fix" in error.message
    assert not [d for d in sp.diagnostics if d.level == "warning" and d.field == "model.uri"], "no warning promising a download"
