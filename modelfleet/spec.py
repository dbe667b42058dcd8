"""The model spec (`model_specs/<name>.yaml`, DESIGN §3) as frozen pydantic v2 models.

Contract:
- `load_spec_file(path)` → `SpecFile` (the validated base spec, its raw data and line
  marks). Every environment override is validated at load time by merging it over the base,
  so a typo inside `environments` fails `validate`, not a later deploy.
- `SpecFile.for_environment(env)` → the `ModelSpec` for that environment (deep-merged).
- `load_specs(paths)` also rejects the same model name in two files.
- Errors are `SpecError` with located `Problem`s; nothing else escapes for bad input.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from modelfleet import catalog, profiles
from modelfleet.credentials import arg_secrets, secret_kind
from modelfleet.environment import STACK_FILE_RE
from modelfleet.errors import CatalogError, Problem, SpecError
from modelfleet.labels import env_name_problem, label_value_problem, namespace_problem
from modelfleet.references import image_problem
from modelfleet.uris import carries_credentials, uri_problem
from modelfleet.validation import custom_error, problems_from, raise_problem
from modelfleet.yamlmarks import Marks, load_yaml, read_source

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
URI_SCHEMES = ("s3://", "az://", "gs://", "hf://", "oci://", "pvc://", "models:/", "file://")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
MAX_NAME = 40
MAX_GPUS_PER_REPLICA = 16

Framework = Literal["huggingface", "pytorch", "tensorflow", "onnx", "sklearn", "xgboost"]
Runtime = Literal["vllm", "tgi", "triton", "torchserve", "tfserving", "custom"]
Metric = Literal["concurrency", "rps", "gpu_utilization", "cpu_utilization", "queue_depth"]
Strategy = Literal["rolling", "canary", "blue_green"]
RollbackSignal = Literal["error_rate", "latency_p99"]


class _Frozen(BaseModel):
    # NaN and ±inf are refused everywhere: they pass `gt`/`le` checks badly and overflow later
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


def _to_str(value: Any) -> Any:
    """YAML reads `version: 1.4` as a float; a version is text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class ModelSource(_Frozen):
    uri: Annotated[str, Field(description="Where the weights live: s3:// az:// gs:// hf:// oci:// pvc:// models:/ (MLflow) or file:// (local dir, for `build`).",
                               examples=["s3://acme-models/llama3-8b-instruct/1.4.0/", "hf://meta-llama/Meta-Llama-3-8B-Instruct", "models:/fraud-xgb/5"])]
    framework: Annotated[Framework, Field(description="Framework the artifact was saved with.")]
    size_gib: Annotated[float, Field(gt=0, le=4096, description="Artifact size in GiB; sizes disks and download timeouts.")] = 1

    @field_validator("uri")
    @classmethod
    def _scheme(cls, uri: str) -> str:
        if not uri.startswith(URI_SCHEMES) or uri in URI_SCHEMES:
            raise custom_error(f"unsupported model URI {uri!r}", allowed=" ".join(URI_SCHEMES),
                               fix="point model.uri at one of the supported stores, e.g. s3://bucket/prefix/")
        raise_problem(uri_problem(uri) or _wildcard_problem(uri), redact=carries_credentials(uri))
        return uri


def _wildcard_problem(uri: str) -> tuple[str, str, str] | None:
    """A glob in a model URI: IAM grants built from it would cover every matching bucket."""
    if any(c in uri for c in "*?[]{}"):
        return (f"model.uri {uri!r} contains a wildcard", "one concrete bucket/container and prefix, e.g. s3://acme-models/chat/1.0/",
                "name the exact location; each model reads only its own prefix")
    return None


class Health(_Frozen):
    path: Annotated[str | None, Field(pattern=r"^/", description="HTTP path answering 200 when the model is ready; default: the runtime's readiness path (runtime profile).")] = None
    initial_delay_s: Annotated[int, Field(ge=0, le=3600, description="Seconds to wait before the first probe (model load time).")] = 60


class Serving(_Frozen):
    runtime: Annotated[Runtime, Field(description="Serving engine; `custom` needs `image`.")]
    image: Annotated[str | None, Field(description="Container image; resolved per platform unless runtime is custom.")] = None
    port: Annotated[int | None, Field(ge=1, le=65535, description="Port the server listens on; default: the runtime's own (runtime profile). KServe's built-in runtimes always listen on theirs.")] = None
    args: Annotated[tuple[str, ...], Field(description="Extra arguments for the server; flags the runtime profile sets (port, model location, metrics port) are not allowed.",
                                           examples=[["--max-model-len", "8192"]])] = ()
    env: Annotated[dict[str, str], Field(description="Environment variables for the server (no credentials: use secret_env).",
                                         examples=[{"HF_HUB_OFFLINE": "1"}])] = {}
    secret_env: Annotated[dict[str, str], Field(description="Environment variables filled from secrets: ENV -> logical secret name, "
                                                            "which each stack maps in modelfleet:secrets.",
                                                examples=[{"HF_TOKEN": "hf-token"}])] = {}
    health: Annotated[Health, Field(description="Readiness/liveness probe.")] = Health()

    @field_validator("env", mode="before")
    @classmethod
    def _env_strings(cls, env: Any) -> Any:
        return {k: _to_str(v) if not isinstance(v, bool) else str(v).lower() for k, v in env.items()} if isinstance(env, dict) else env

    @field_validator("image")
    @classmethod
    def _image_reference(cls, image: str | None) -> str | None:
        raise_problem(image_problem(image) if image is not None else None, "serving.image")
        return image

    @field_validator("env")
    @classmethod
    def _env_names_and_no_secrets(cls, env: dict[str, str]) -> dict[str, str]:
        for name, value in env.items():
            raise_problem(env_name_problem(name), "serving.env")
            kind = secret_kind(value, name)
            if kind:
                raise custom_error(f"serving.env.{name} holds {kind}; it would be written into the pod spec, the cloud model and the plan",
                                   allowed="non-secret settings; secrets through serving.secret_env",
                                   fix=f"remove the literal, rotate the credential, and add secret_env: {{{name}: <logical secret>}} "
                                       "mapped in each stack's modelfleet:secrets", redact=True)
        return env

    @field_validator("args")
    @classmethod
    def _no_secret_args(cls, args: tuple[str, ...]) -> tuple[str, ...]:
        found = arg_secrets(args)
        if found:
            index, kind = found[0]
            raise custom_error(f"serving.args[{index}] holds {kind}; server arguments are visible in the pod spec and process list",
                               allowed="non-secret arguments; secrets through serving.secret_env",
                               fix="remove the literal, rotate the credential, read it from an env var set by serving.secret_env",
                               redact=True)
        return args

    @field_validator("args")
    @classmethod
    def _no_profile_flags(cls, args: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        runtime = info.data.get("runtime")
        if not runtime:
            return args
        conflicts = profiles.flag_conflicts(runtime, args)
        if conflicts:
            index, flag = conflicts[0]
            raise custom_error(f"serving.args[{index}] {args[index]!r} sets {flag}, which the {runtime} runtime profile already sets "
                               "(port, model location and metrics port come from the runtime profile and the spec)",
                               allowed=f"any {runtime} flag except {', '.join(sorted({f for _, f in conflicts}))}",
                               fix="remove the argument; set serving.port for the port, and model.uri for the model location")
        return args
    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, mapping: dict[str, str]) -> dict[str, str]:
        for env, logical in mapping.items():
            if not ENV_NAME_RE.match(env):
                raise custom_error(f"secret_env key {env!r} is not an environment variable name", allowed="[A-Za-z_][A-Za-z0-9_]*",
                                   fix="name the variable the server reads, e.g. HF_TOKEN")
            if not SECRET_NAME_RE.match(logical):
                raise custom_error(f"secret_env.{env} names logical secret {logical!r}",
                                   allowed="a logical name: lowercase letters, digits, '-' and '.', e.g. hf-token",
                                   fix="use the logical name that modelfleet:secrets maps in each stack")
        return mapping

    @model_validator(mode="after")
    def _env_not_twice(self) -> Serving:
        both = sorted(set(self.env) & set(self.secret_env))
        if both:
            raise custom_error(f"{', '.join(both)} set in both serving.env and serving.secret_env", allowed="each variable in one of the two",
                               fix="keep the secret_env entry and remove the literal from serving.env")
        return self

    @model_validator(mode="after")
    def _custom_needs_image(self) -> Serving:
        if self.runtime == "custom" and not self.image:
            raise custom_error("runtime 'custom' needs serving.image", allowed="an image reference, e.g. registry/repo:tag@sha256:...",
                               fix="set serving.image, or pick a built-in runtime (vllm, tgi, triton, torchserve, tfserving)")
        return self


class AcceleratorRequest(_Frozen):
    """What one replica needs: a named GPU, or any GPU with at least `min_memory_gib`."""

    name: Annotated[str | None, Field(description="Canonical accelerator name (T4, A10G, ..., H200).", examples=list(catalog.ACCELERATOR_NAMES))] = None
    count: Annotated[int, Field(ge=1, le=MAX_GPUS_PER_REPLICA, description="GPUs per replica, 1-16.")] = 1
    min_memory_gib: Annotated[float | None, Field(gt=0, le=1024, description="Any GPU with at least this much memory.")] = None

    @model_validator(mode="after")
    def _known(self) -> AcceleratorRequest:
        if self.name is None and self.min_memory_gib is None:
            raise custom_error("an accelerator needs a name or min_memory_gib", allowed="NAME[:COUNT], {min_memory_gib, count} or none",
                               fix="write e.g. A10G:1 or min_memory_gib: 24")
        if self.name is not None:
            try:
                canonical = catalog.accelerator(self.name).name
            except CatalogError as e:
                near = ", ".join(catalog.nearest_accelerators(self.name)) or "none close"
                raise custom_error(f"unknown accelerator {self.name!r} (nearest: {near})", allowed=", ".join(catalog.ACCELERATOR_NAMES),
                                   fix="use a name from the accelerator vocabulary") from e
            object.__setattr__(self, "name", canonical)
        return self

    @property
    def label(self) -> str:
        return f"{self.name}:{self.count}" if self.name else f">={self.min_memory_gib:g}GiB:{self.count}"


def _parse_accelerator(value: Any) -> Any:
    """`A10G`, `A10G:2`, `none`/null, or a mapping → AcceleratorRequest input."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
        return None
    if isinstance(value, str):
        name, _, count = value.strip().partition(":")
        if count:
            try:
                return {"name": name, "count": int(count)}
            except ValueError as e:
                raise custom_error(f"accelerator count {count!r} is not a whole number", allowed="NAME[:COUNT] with COUNT 1-16",
                                   fix="write e.g. A100-80GB:4") from e
        return {"name": name}
    return value


class Resources(_Frozen):
    accelerator: Annotated[AcceleratorRequest | None,
                           BeforeValidator(_parse_accelerator, json_schema_input_type=str | AcceleratorRequest | None),
                           Field(description="GPU per replica: NAME[:COUNT], {min_memory_gib, count}, or none for CPU-only.",
                                 examples=["A10G:1", "H100:8", {"min_memory_gib": 24, "count": 1}, "none"])] = None
    cpu: Annotated[float, Field(gt=0, le=192, description="vCPUs per replica (request = limit).")] = 1
    memory_gib: Annotated[float, Field(gt=0, le=2048, description="Memory per replica in GiB (request = limit).")] = 2


class Autoscaling(_Frozen):
    min_replicas: Annotated[int, Field(ge=0, le=1000, description="Replicas kept running; 0 only with scale-to-zero capable platforms.")] = 1
    max_replicas: Annotated[int, Field(ge=1, le=1000, description="Upper bound the autoscaler may reach.")] = 1
    metric: Annotated[Metric, Field(description="Signal the autoscaler follows.")] = "concurrency"
    target: Annotated[float, Field(gt=0, le=1_000_000, description="Target value of the metric per replica (percent for utilization metrics).",
                                   examples=[8, 60])] = 8
    scale_to_zero: Annotated[bool, Field(description="Allow zero replicas when idle (implies min_replicas 0).")] = False

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise custom_error(f"min_replicas ({self.min_replicas}) is greater than max_replicas ({self.max_replicas})",
                               allowed="min_replicas ≤ max_replicas", fix="lower min_replicas or raise max_replicas")
        if self.metric.endswith("_utilization") and (self.target > 100 or self.target < 1 or self.target != int(self.target)):
            # the HPA's averageUtilization is a whole percent (autoscaling/v2 MetricTarget, int32): 0.4 would become 0
            raise custom_error(f"target {self.target:g} is not a whole percentage for a utilization metric", allowed="a whole number 1-100 (percent)",
                               fix=f"give the utilization target as a whole percentage, e.g. {min(100, max(1, round(self.target)))}")
        return self

    @property
    def floor(self) -> int:
        """Replicas that always run: 0 when scale-to-zero is on."""
        return 0 if self.scale_to_zero else self.min_replicas


DEFAULT_CANARY_PERCENT = 10


class Rollout(_Frozen):
    strategy: Annotated[Strategy, Field(description="How a new version replaces the old one (canary and blue_green while a "
                                                    "stack's modelfleet:stable differs from version).")] = "rolling"
    canary_percent: Annotated[int | None, Field(ge=1, le=99, description=f"Traffic share for the canary, 1-99 (canary only; "
                                                                         f"default {DEFAULT_CANARY_PERCENT}).")] = None
    bake_minutes: Annotated[int, Field(ge=0, le=1440, description="Minutes to watch the new version before shifting all traffic.")] = 10
    rollback_on: Annotated[tuple[RollbackSignal, ...], Field(description="Signals that roll the new version back (automatically "
                                                                           "where the platform can; an alert elsewhere).")] = ("error_rate", "latency_p99")

    @model_validator(mode="after")
    def _percent_is_for_canaries(self) -> Rollout:
        if self.canary_percent is not None and self.strategy != "canary":
            raise custom_error(f"canary_percent ({self.canary_percent}) only applies to strategy canary, not {self.strategy}",
                               allowed="canary_percent with strategy: canary",
                               fix="remove canary_percent, or set strategy: canary" + (
                                   " (blue_green switches all traffic at once on promote)" if self.strategy == "blue_green" else ""))
        return self

    @property
    def percent(self) -> int:
        """The canary's traffic share (the default when the spec gives none)."""
        return self.canary_percent if self.canary_percent is not None else DEFAULT_CANARY_PERCENT


class Network(_Frozen):
    public: Annotated[bool, Field(description="Expose the endpoint outside the private network.")] = False
    auth: Annotated[Literal["token", "none"], Field(description="Callers need a token (token) or not (none).")] = "token"


class Alerts(_Frozen):
    error_rate_percent: Annotated[float, Field(gt=0, le=100, description="5xx share over 5 minutes that pages.")] = 5
    latency_p99_ms: Annotated[float, Field(gt=0, le=600_000, description="p99 latency in ms that pages.")] = 2000
    gpu_utilization_percent: Annotated[float, Field(gt=0, le=100, description="GPU utilization that counts as saturated.")] = 95


class DataCapture(_Frozen):
    sample_percent: Annotated[float, Field(ge=0, le=100, description="Share of requests/responses captured; 0 turns capture off.")] = 0


def _series(key: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str):
            try:
                profiles.Series.parse(value)
            except ValueError as e:
                raise custom_error(str(e), allowed='a Prometheus series: metric_name or metric_name{label="value",...}',
                                   fix="write the series exactly as the server exports it on its metrics endpoint") from e
        return value
    return BeforeValidator(check)


class Metrics(_Frozen):
    """Series the server exports; built-in runtimes take them from their runtime profile, `custom`
    defaults to a FastAPI server instrumented with prometheus-client. Any one may be overridden."""

    requests: Annotated[str | None, _series("requests"), Field(description="Counter of all requests, e.g. http_requests_total.")] = None
    errors: Annotated[str | None, _series("errors"), Field(description='Counter of failed requests, e.g. http_requests_total{status=~"5.."}.')] = None
    latency: Annotated[str | None, _series("latency"), Field(description="Histogram base name (…_bucket must exist), e.g. http_request_duration_seconds.")] = None
    latency_unit: Annotated[Literal["seconds", "milliseconds", "microseconds"] | None,
                            Field(description="Unit of the latency histogram when `latency` is given; default seconds.")] = None
    in_flight: Annotated[str | None, _series("in_flight"), Field(description="Gauge of requests in progress, e.g. http_requests_in_flight.")] = None
    queue_depth: Annotated[str | None, _series("queue_depth"), Field(description="Gauge of requests waiting; no default.")] = None
    port: Annotated[int | None, Field(ge=1, le=65535, description="Port of the metrics endpoint; default: the runtime's.")] = None
    path: Annotated[str | None, Field(pattern=r"^/", description="Path of the metrics endpoint; default: the runtime's.")] = None


class Monitoring(_Frozen):
    enabled: Annotated[bool, Field(description="Provision alerts, dashboards and capture; false opts out.")] = True
    metrics: Annotated[Metrics, Field(description="Metric series the server exports (override the runtime profile; required for custom runtimes scaling on rps or queue_depth).")] = Metrics()
    alerts: Annotated[Alerts, Field(description="Alert thresholds.")] = Alerts()
    data_capture: Annotated[DataCapture, Field(description="Request/response capture for drift analysis.")] = DataCapture()


class Build(_Frozen):
    context: Annotated[str, Field(description="Build context, relative to the spec file.")] = "."
    dockerfile: Annotated[str, Field(description="Dockerfile path inside the context.")] = "Dockerfile"
    args: Annotated[dict[str, str], Field(description="Build arguments.")] = {}

    @field_validator("args")
    @classmethod
    def _no_secret_build_args(cls, args: dict[str, str]) -> dict[str, str]:
        for name, value in args.items():
            kind = secret_kind(value, name)
            if kind:
                raise custom_error(f"build.args.{name} holds {kind}; build arguments stay readable in the image history",
                                   allowed="non-secret build arguments", redact=True,
                                   fix="remove the literal and rotate the credential; use a BuildKit secret mount outside the spec")
        return args


class Smoke(_Frozen):
    """The request `modelfleet smoke` sends once the model is ready (after the runtime's own checks)."""

    path: Annotated[str | None, Field(pattern=r"^/", description="Request path; for `custom` the request to send (none: health check only), for built-in runtimes it replaces the runtime's inference path.")] = None
    method: Annotated[Literal["GET", "POST"], Field(description="HTTP method of the request.")] = "POST"
    body_file: Annotated[str | None, Field(min_length=1, description="JSON request body (a sample input), relative to the spec file; sent to `path`, or as the inference sample of Triton/KServe v2, TorchServe and TF Serving.")] = None
    expect_status: Annotated[int, Field(ge=100, le=599, description="HTTP status the request must answer with.")] = 200
    model_name: Annotated[str | None, Field(min_length=1, description="Name the server knows the model by (Triton/KServe v2, TorchServe, TF Serving); default: the spec name.")] = None


def _name(value: Any) -> Any:
    if isinstance(value, str) and (len(value) > MAX_NAME or not NAME_RE.match(value)):
        raise custom_error(f"invalid model name {value!r}", allowed=f"lowercase letters, digits and '-', starting and ending alphanumeric, at most {MAX_NAME} characters",
                           fix=f"rename it, e.g. {_suggest_name(value)!r}")
    problem = namespace_problem(value) if isinstance(value, str) else None
    if problem is not None:
        raise custom_error(problem[0], allowed=problem[1], fix=problem[2])
    return value


def _version(value: Any) -> Any:
    value = _to_str(value)
    problem = label_value_problem(value) if isinstance(value, str) and value else None
    if problem is not None:
        raise custom_error(f"version: {problem[0]} (the version is a label on every resource)", allowed=problem[1], fix=problem[2])
    return value


def _suggest_name(value: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:MAX_NAME].strip("-")
    return cleaned or "my-model"


def _label_value(value: Any) -> Any:
    if isinstance(value, str) and (len(value) > 63 or not LABEL_VALUE_RE.match(value)):
        raise custom_error(f"invalid owner {value!r}", allowed="a Kubernetes label value: letters, digits, '-', '_', '.', at most 63 characters",
                           fix="use a team slug such as nlp-team")
    return value


SPEC_FIELDS_NOT_OVERRIDABLE = ("name", "environments")


class ModelSpec(_Frozen):
    """One model and how to serve it, for one environment once overrides are applied."""

    name: Annotated[str, BeforeValidator(_name), Field(description="DNS-1123 label, at most 40 characters; platform names derive from it.",
                                                        examples=["llama3-8b-chat"])]
    version: Annotated[str, BeforeValidator(_version, json_schema_input_type=str | float | int),
                       Field(min_length=1, max_length=63, description="Model version; a label on every resource.", examples=["1.4.0"])]
    owner: Annotated[str, BeforeValidator(_label_value), Field(description="Owning team; a label/tag on every resource.", examples=["nlp-team"])]
    description: Annotated[str, Field(description="What the model does.")] = ""
    model: Annotated[ModelSource, Field(description="The artifact to serve.")]
    serving: Annotated[Serving, Field(description="The server that runs it.")]
    resources: Annotated[Resources, Field(description="Per-replica accelerator, CPU and memory.")] = Resources()
    autoscaling: Annotated[Autoscaling, Field(description="Replica bounds and scaling signal.")] = Autoscaling()
    rollout: Annotated[Rollout, Field(description="How new versions go live.")] = Rollout()
    network: Annotated[Network, Field(description="Exposure and authentication.")] = Network()
    monitoring: Annotated[Monitoring, Field(description="Alerts and data capture; defaults apply when absent.")] = Monitoring()
    build: Annotated[Build | None, Field(description="How `modelfleet build` makes the serving image.")] = None
    smoke: Annotated[Smoke, Field(description="The sample request `modelfleet smoke` sends after a deploy.")] = Smoke()
    spot: Annotated[bool, Field(description="Run on spot/preemptible capacity where the platform allows it (node pools).")] = False
    environments: Annotated[dict[str, dict[str, Any]], Field(description="Per-environment overrides, deep-merged over the base.", examples=[
        {"dev": {"autoscaling": {"min_replicas": 0, "max_replicas": 1}, "spot": True}, "prod": {"autoscaling": {"min_replicas": 2, "max_replicas": 8}}}])] = {}

    @field_validator("environments")
    @classmethod
    def _override_keys(cls, envs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for env, override in envs.items():
            for key in SPEC_FIELDS_NOT_OVERRIDABLE:
                if isinstance(override, dict) and key in override:
                    raise custom_error(f"environments.{env} cannot override {key!r}", allowed="any spec field except name and environments",
                                       fix=f"remove {key} from environments.{env}")
        return envs


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in `override` replaces the base value."""
    merged = copy.copy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class SpecFile:
    """A validated spec file: the base spec plus every environment's merged spec."""

    path: Path
    base: ModelSpec
    per_environment: dict[str, ModelSpec]
    marks: Marks

    @property
    def name(self) -> str:
        return self.base.name

    def for_environment(self, environment: str) -> ModelSpec:
        """The spec with that environment's overrides applied (the base if it has none)."""
        return self.per_environment.get(environment, self.base)

    def line_of(self, *path: str | int) -> int | None:
        return self.marks.locate(tuple(path))[0]


def parse_spec(text: str, file: str) -> SpecFile:
    """Validate one spec document; raise SpecError listing every problem found."""
    data, marks = load_yaml(text, file)
    if not isinstance(data, dict):
        raise SpecError([Problem(file, "a model spec must be a mapping", line=1, value=data,
                                 allowed="a YAML mapping with name, version, owner, model, serving, ...",
                                 fix="start from model_specs/ examples")])
    try:
        base = ModelSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError(problems_from(e, ModelSpec, file, marks)) from e

    per_environment: dict[str, ModelSpec] = {}
    problems: list[Problem] = []
    for env, override in base.environments.items():
        merged = deep_merge({k: v for k, v in data.items() if k != "environments"}, override)

        def to_doc(loc: tuple[Any, ...], env: str = env, override: dict[str, Any] = override) -> tuple[Any, ...]:
            inside = ("environments", env, *loc)
            return inside if _has_path(override, loc) or not marks.has(loc) else loc

        try:
            per_environment[env] = ModelSpec.model_validate(merged)
        except ValidationError as e:
            problems.extend(problems_from(e, ModelSpec, file, marks, path_map=to_doc))
    for env, spec in [("", base), *per_environment.items()]:
        for problem in _path_problems(spec, Path(file), marks, env):
            if problem.render() not in {p.render() for p in problems}:
                problems.append(problem)
    if problems:
        raise SpecError(problems)
    return SpecFile(Path(file), base, per_environment, marks)


def project_root(spec_file: Path) -> Path:
    """The repository a spec belongs to: the nearest folder up with Pulumi.yaml (as Pulumi finds
    the project), else the folder holding model_specs/."""
    start = spec_file.resolve().parent
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file() or (folder / "Pulumi.yml").is_file():
            return folder
    return start.parent


def _path_problems(spec: ModelSpec, file: Path, marks: Marks, env: str) -> list[Problem]:
    """build.context, build.dockerfile and file:// URIs must resolve (after symlinks) inside the
    repository: a build sends what they point at to the docker daemon and into an image."""
    root = project_root(file)
    base = file.resolve().parent
    checks: list[tuple[tuple[str, ...], str, Path]] = []
    if spec.build is not None:
        context = (base / spec.build.context).resolve()
        checks.append((("build", "context"), spec.build.context, context))
        checks.append((("build", "dockerfile"), spec.build.dockerfile, (context / spec.build.dockerfile).resolve()))
    if spec.model.uri.startswith("file://"):
        raw = spec.model.uri.removeprefix("file://")
        checks.append((("model", "uri"), spec.model.uri, (Path(raw) if raw.startswith("/") else base / raw).resolve()))
    problems = []
    for path, value, resolved in checks:
        if resolved == root or root in resolved.parents:
            continue
        doc_path = ("environments", env, *path) if env and marks.has(("environments", env, *path)) else path
        problems.append(Problem(str(file), f"{'.'.join(path)} resolves to {resolved}, outside the repository {root}",
                                line=marks.locate(doc_path)[0], field=".".join(doc_path), value=value,
                                allowed=f"a path inside {root} (symlinks are followed)",
                                fix="move the files into the repository and point at them relatively"))
    return problems


def _has_path(data: Any, path: tuple[Any, ...]) -> bool:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return False
    return True


def load_spec_file(path: Path) -> SpecFile:
    return parse_spec(read_source(path), str(path))


def load_specs(paths: list[Path]) -> list[SpecFile]:
    """Load every spec, collecting all problems; also reject duplicate model names."""
    specs: list[SpecFile] = []
    problems: list[Problem] = []
    seen: dict[str, SpecFile] = {}
    for path in paths:
        try:
            spec = load_spec_file(path)
        except SpecError as e:
            problems.extend(e.problems)
            continue
        if spec.name in seen:
            first = seen[spec.name]
            problems.append(Problem(str(path), f"model name {spec.name!r} is already used by {first.path}",
                                    line=spec.line_of("name"), field="name", value=spec.name,
                                    allowed="a name unique across model_specs/", fix="rename one of the two models"))
            continue
        seen[spec.name] = spec
        specs.append(spec)
    if problems:
        raise SpecError(problems)
    return specs


SPEC_SUFFIXES = (".yaml", ".yml")
# files that may sit in model_specs/ beside the specs without being one
SPEC_DIR_EXTRAS = ("schema.json",)
DOC_SUFFIXES = (".md", ".txt", ".rst")


def _looks_like_spec(path: Path) -> bool:
    """A nested YAML file that would be a model spec if it sat in model_specs/."""
    try:
        data, _ = load_yaml(read_source(path), str(path))
    except SpecError:
        return False
    return isinstance(data, dict) and "name" in data and bool({"model", "serving"} & set(data))


def spec_paths(directory: Path, *, required: bool = True) -> list[Path]:
    """Spec files directly in `directory`, sorted; SpecError for any `spec_layout` problem."""
    specs, problems = spec_layout(directory, required=required)
    if problems:
        raise SpecError(problems)
    return specs


def spec_layout(directory: Path, *, required: bool = True) -> tuple[list[Path], list[Problem]]:
    """Spec files directly in `directory`, and what is wrong with the directory. Nothing there
    is silently skipped: a file that is neither a spec, schema.json, documentation nor hidden,
    a spec-like YAML file in a sub-folder, a missing directory or (with `required`) no spec
    at all is a problem."""
    if not directory.is_dir():
        if not required:
            return [], []
        return [], [Problem(str(directory), "the model_specs directory does not exist",
                            fix="create model_specs/ with one <model>.yaml per model, or pass --project-dir")]
    specs: list[Path] = []
    problems: list[Problem] = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or STACK_FILE_RE.match(path.name):
            continue
        if path.is_dir():
            if path.is_symlink():  # a link out of the repository is not scanned (build paths are checked on their own)
                continue
            for nested in sorted(path.rglob("*")):
                if nested.suffix.lower() in SPEC_SUFFIXES and nested.is_file() and _looks_like_spec(nested):
                    problems.append(Problem(str(nested), "a model spec in a sub-folder is not loaded", line=1,
                                            allowed=f"spec files directly in {directory}",
                                            fix=f"move it to {directory / nested.name}"))
        elif path.suffix in SPEC_SUFFIXES:
            specs.append(path)
        elif path.name not in SPEC_DIR_EXTRAS and path.suffix.lower() not in DOC_SUFFIXES:
            problems.append(Problem(str(path), f"{path.name!r} is not a spec file and would be ignored",
                                    allowed="<model>.yaml or <model>.yml (lower-case extension), schema.json, documentation",
                                    fix=f"rename it to {path.stem.split('.')[0]}.yaml if it is a spec, or move it out of {directory}"))
    if not specs and not problems and required:
        problems.append(Problem(str(directory), "no model specs found", allowed="one <model>.yaml per model",
                                fix="add a spec (`modelfleet new MODEL` scaffolds one) or point --project-dir at the project"))
    return specs, problems


def json_schema() -> dict[str, Any]:
    """JSON Schema for editor completion (`model_specs/schema.json`)."""
    schema = ModelSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "modelfleet model spec"
    return schema
