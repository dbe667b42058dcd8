"""Serving containers on SageMaker: which image, which environment, what happens to `serving.args`.

Contract:
- `sagemaker_image(spec, stack, instance_type)` → `(image, diagnostics)`: the stack's pin for the
  model (`modelfleet:images.<model>`), the spec's image, the stack's per-runtime override (`modelfleet:images`), or the AWS Deep Learning Container for the
  runtime, resolved OFFLINE from the `sagemaker.core.image_uris` tables shipped with
  sagemaker-core (imported lazily: only SageMaker stacks pay for it). DLC versions are pinned in
  `DLC` so an upgrade of the SDK never changes a running endpoint's image by itself.
- An image outside ECR is served through an ECR pull-through cache rule when ECR mirrors its
  registry (`modelfleet.pull_through`; the stack's `modelfleet:pull_through` gives credentials),
  else it is an error naming `modelfleet build --push`. `cached_image(image, stack)` says how.
- `container_environment(spec, gpus, model_uri)` → (environment, diagnostics): the variables each
  DLC reads (model location, GPU count / tensor-parallel degree) plus `serving.env`; for an
  `hf://` model the LMI / TGI container downloads the Hub repository itself
  (`modelfleet.sagemaker_hub`);
  `serving.args` become environment variables where the container maps them (LMI `OPTION_*`,
  TGI flags), else a warning says they are not passed.
- `ecr_repository_arn(image)` → the repository ARN of an ECR image URI, or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from modelfleet.environment import AnyStack, SageMakerStack
from modelfleet.plan import Diagnostic
from modelfleet.pull_through import CachedImage, credential_note, resolve
from modelfleet.sagemaker_hub import hub_environment
from modelfleet.spec import ModelSpec
from modelfleet.targets.aws_offers import partition

MODEL_DIR = "/opt/ml/model"  # where SageMaker unpacks ModelDataUrl / S3 model data
ECR_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)")


@dataclass(frozen=True)
class Dlc:
    framework: str  # key of sagemaker.core.image_uris
    version: str
    scoped: bool  # pass image_scope="inference" and instance_type (framework DLCs with cpu/gpu builds)


# runtime → the AWS DLC that serves it. vLLM runs inside the LMI container (DJL Serving with
# the vLLM engine); TGI is the Hugging Face LLM DLC.
DLC = {
    "vllm": Dlc("djl-lmi", "0.33.0", scoped=False),
    "tgi": Dlc("huggingface-llm", "3.3.6", scoped=False),
    "triton": Dlc("sagemaker-tritonserver", "25.09", scoped=True),
    "torchserve": Dlc("pytorch", "2.6", scoped=True),
    "tfserving": Dlc("tensorflow", "2.19", scoped=True),
}


def sagemaker_image(spec: ModelSpec, stack: AnyStack, instance_type: str) -> tuple[str, list[Diagnostic]]:
    if spec.name in stack.images:  # a promoted pin (see placed.default_image)
        return stack.images[spec.name], _reachable(spec, stack, stack.images[spec.name], f"modelfleet:images.{spec.name}")
    if spec.serving.image:
        return spec.serving.image, _reachable(spec, stack, spec.serving.image, "serving.image")
    if spec.serving.runtime in stack.images:
        image = stack.images[spec.serving.runtime]
        return image, _reachable(spec, stack, image, f"modelfleet:images.{spec.serving.runtime}")
    dlc = DLC[spec.serving.runtime]
    region = stack.region or "us-east-1"
    try:
        return _retrieve(dlc, region, instance_type if dlc.scoped else None), []
    except ValueError as e:
        return "", [Diagnostic("error", spec.name, "serving.runtime",
                               f"no AWS Deep Learning Container {dlc.framework} {dlc.version} for {spec.serving.runtime} "
                               f"in {region}: {e}. To fix: set serving.image to an ECR image, or "
                               f"modelfleet:images.{spec.serving.runtime} in the stack")]


@lru_cache(maxsize=256)
def _retrieve(dlc: Dlc, region: str, instance_type: str | None) -> str:
    """The DLC image URI; cached because the SDK re-reads its JSON config on every call."""
    from sagemaker.core import image_uris  # lazy: ~1.5 s import, SageMaker stacks only

    kwargs = {"image_scope": "inference", "instance_type": instance_type} if instance_type else {}
    uri: str = image_uris.retrieve(dlc.framework, region, version=dlc.version, **kwargs)
    return uri


def cached_image(image: str, stack: AnyStack) -> CachedImage | None:
    """How SageMaker pulls a non-ECR image (its pull-through cache rule), None for ECR images or unreachable ones."""
    if ECR_IMAGE.match(image) or not isinstance(stack, SageMakerStack):
        return None
    return resolve(image, stack.pull_through, stack.stack)[0]


def image_source(image: str, stack: AnyStack) -> dict[str, object]:
    """Preview: {"image": {source, pull_through}} for an image served through a pull-through cache rule, else {}."""
    cached = cached_image(image, stack)
    if cached is None:
        return {}
    return {"image": {"source": image, "pull_through": {
        "rule_prefix": cached.prefix, "upstream_registry_url": cached.upstream_url,
        "credential": cached.credential_arn or cached.credential_name, "credential_by_name": cached.credential_name is not None,
        "pulled_as": cached.uri("<account>", stack.region or "us-east-1")}}}


def _reachable(spec: ModelSpec, stack: AnyStack, image: str, field: str) -> list[Diagnostic]:
    if ECR_IMAGE.match(image):
        return []
    cached, problem = resolve(image, stack.pull_through if isinstance(stack, SageMakerStack) else {}, stack.stack)
    if problem is None:
        note = credential_note(cached) if cached is not None else None
        return [Diagnostic("warning", spec.name, field, note)] if note else []
    return [Diagnostic("error", spec.name, field,
                       f"SageMaker pulls serving images from Amazon ECR only, and {field} is {image!r}: {problem[0]}. "
                       f"To fix: {problem[1]}, or use a built-in runtime so the AWS container is used")]


def ecr_repository_arn(image: str) -> str | None:
    match = ECR_IMAGE.match(image)
    if not match:
        return None
    return (f"arn:{partition(match['region'])}:ecr:{match['region']}:{match['account']}:"
            f"repository/{match['repo']}")


def _flags_to_env(args: tuple[str, ...], prefix: str) -> tuple[dict[str, str], list[str]]:
    """`--max-model-len 8192` / `--x=y` → {PREFIX + MAX_MODEL_LEN: 8192}; leftovers returned."""
    env: dict[str, str] = {}
    left: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            key, eq, value = arg[2:].partition("=")
            if not eq:
                has_value = i + 1 < len(args) and not args[i + 1].startswith("--")
                value = args[i + 1] if has_value else "true"
                i += 1 if has_value else 0
            env[prefix + key.replace("-", "_").upper()] = value
        else:
            left.append(arg)
        i += 1
    return env, left


def container_environment(spec: ModelSpec, gpus: int, model_uri: str | None = None) -> tuple[dict[str, str], list[Diagnostic]]:
    """`model_uri`: what the server loads (a resolved models:/ URI), default `model.uri`."""
    runtime = spec.serving.runtime
    env: dict[str, str] = {}
    diagnostics: list[Diagnostic] = []
    args = spec.serving.args
    if spec.serving.image or runtime == "custom":
        env = {}
        if args:
            diagnostics.append(Diagnostic("warning", spec.name, "serving.args",
                                          "SageMaker starts the container with `serve` and no arguments: serving.args "
                                          "are not passed. Bake them into the image's entrypoint or use serving.env"))
    elif runtime == "vllm":
        mapped, left = _flags_to_env(args, "OPTION_")
        # LMI passes every OPTION_<vLLM engine arg> through to vLLM
        env = {"HF_MODEL_ID": MODEL_DIR, "OPTION_ROLLING_BATCH": "vllm", "OPTION_SERVED_MODEL_NAME": spec.name,
               "TENSOR_PARALLEL_DEGREE": str(max(gpus, 1)), **mapped}
        env.pop("OPTION_TENSOR_PARALLEL_SIZE", None)  # the degree above is the LMI spelling
        _leftover(spec, left, diagnostics)
    elif runtime == "tgi":
        mapped, left = _flags_to_env(args, "")  # every TGI launcher flag has an env twin
        env = {"HF_MODEL_ID": MODEL_DIR, "SM_NUM_GPUS": str(max(gpus, 1)), **mapped}
        _leftover(spec, left, diagnostics)
    else:
        if runtime == "triton":
            env = {"SAGEMAKER_TRITON_DEFAULT_MODEL_NAME": spec.name}
        elif runtime == "tfserving":
            env = {"SAGEMAKER_TFS_DEFAULT_MODEL_NAME": spec.name}
        elif runtime == "torchserve":
            env = {"SAGEMAKER_MODEL_SERVER_WORKERS": str(max(gpus, 1))}
        if args:
            diagnostics.append(Diagnostic("warning", spec.name, "serving.args",
                                          f"the SageMaker {runtime} container serves {MODEL_DIR} with its own launcher: "
                                          f"serving.args ({' '.join(args)}) are not passed. Put the settings in the model "
                                          "artifact (e.g. config.pbtxt) or serving.env"))
    if not spec.serving.image:
        env.update(hub_environment(runtime, model_uri or spec.model.uri))  # the container downloads the Hub model itself
    env.update(spec.serving.env)
    return env, diagnostics


def _leftover(spec: ModelSpec, left: list[str], diagnostics: list[Diagnostic]) -> None:
    if left:
        diagnostics.append(Diagnostic("warning", spec.name, "serving.args",
                                      f"positional serving.args {left} have no environment form on SageMaker and are dropped"))
