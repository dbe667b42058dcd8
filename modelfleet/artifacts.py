"""How a model's weights reach its server on each target: pure, no Pulumi.

Contract:
- `SUPPORT[(scheme, engine)]` is the table the README's "Model URIs" section shows (a test
  keeps them equal): engine is `deployment` | `kserve` | `sagemaker` | `azureml`; each cell is
  the method, or an `Unsupported` reason. `file://` is an error everywhere a server runs: build
  it into an image with `modelfleet build` and use the `oci://` reference it prints.
- `artifact_plan(spec, stack, target, engine, names)` → (`ArtifactPlan`, diagnostics): where the
  weights come from, how (init step, storage initializer, modelcar, volume, platform download,
  hub download, registered model), under which identity, and which secrets the server reads
  (references, never values). `models:/` URIs are resolved through the stack's MLflow tracking
  URI first (`modelfleet.mlflow_registry`) when that can happen offline.
- Fetch images per scheme family come from `runtime_images.json` (`model_fetch`), pinned with
  their sources; a stack overrides one with `modelfleet:images.<family>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelfleet import uris
from modelfleet.plan import Diagnostic
from modelfleet.sagemaker_hub import hub_environment
from modelfleet.secrets import SecretUse, secret_env

if TYPE_CHECKING:
    from modelfleet.environment import AnyStack
    from modelfleet.spec import ModelSpec

HUB_RUNTIMES = ("vllm", "tgi")  # runtimes whose own containers download a Hugging Face Hub model at start


@dataclass(frozen=True)
class Unsupported:
    reason: str
    fix: str


INIT = "init container"
BUILD_FIX = ("build the directory into a model image with `modelfleet build MODEL --stack S --push` and set model.uri to the "
             "oci:// reference it prints")
S3_FIX = "copy the weights to s3://<bucket>/<prefix>/ and point model.uri there"
BLOB_FIX = "copy the weights to Blob storage and use az://<account>/<container>/<path>"

# (scheme, engine) → method, or why not. The README "Model URIs" table renders this.
SUPPORT: dict[tuple[str, str], str | Unsupported] = {
    ("s3", "deployment"): f"{INIT}: storage initializer", ("s3", "kserve"): "storageUri s3://",
    ("s3", "sagemaker"): "SageMaker downloads the S3 prefix",
    ("s3", "azureml"): Unsupported("Azure ML registers models from Azure storage or its MLflow registry only", BLOB_FIX),
    ("gs", "deployment"): f"{INIT}: storage initializer", ("gs", "kserve"): "storageUri gs://",
    ("gs", "sagemaker"): Unsupported("SageMaker downloads model data only from Amazon S3", S3_FIX),
    ("gs", "azureml"): Unsupported("Azure ML registers models from Azure storage or its MLflow registry only", BLOB_FIX),
    ("az", "deployment"): f"{INIT}: storage initializer (Blob URL)", ("az", "kserve"): "storageUri https://<account>.blob.core.windows.net/…",
    ("az", "sagemaker"): Unsupported("SageMaker downloads model data only from Amazon S3", S3_FIX),
    ("az", "azureml"): "registered model (mounted at AZUREML_MODEL_DIR)",
    ("hf", "deployment"): f"{INIT}: storage initializer (hf://)", ("hf", "kserve"): "storageUri hf://",
    ("hf", "sagemaker"): "vllm/tgi: the AWS container downloads HF_MODEL_ID from the Hub (egress, no network isolation); others: error",
    ("hf", "azureml"): "vllm/tgi: the server downloads the Hub model itself; others: error",
    ("oci", "deployment"): f"{INIT}: the model image copies /models", ("oci", "kserve"): "storageUri oci:// (modelcar)",
    ("oci", "sagemaker"): Unsupported("SageMaker downloads model data only from Amazon S3", S3_FIX),
    ("oci", "azureml"): Unsupported("Azure ML registers models from Azure storage or its MLflow registry only", BLOB_FIX),
    ("pvc", "deployment"): "PersistentVolumeClaim mounted read-only (subPath)", ("pvc", "kserve"): "storageUri pvc://<claim>/<path>",
    ("pvc", "sagemaker"): Unsupported("a PersistentVolumeClaim exists only inside a Kubernetes cluster", S3_FIX),
    ("pvc", "azureml"): Unsupported("a PersistentVolumeClaim exists only inside a Kubernetes cluster", BLOB_FIX),
    ("models", "deployment"): "resolved at preview (sqlite MLflow registry), else init container: MLflow client",
    ("models", "kserve"): "resolved at preview (sqlite MLflow registry), else init container: MLflow client",
    ("models", "sagemaker"): "resolved at preview (sqlite MLflow registry) to s3://, else error",
    ("models", "azureml"): "the workspace's MLflow registry (registered model)",
    ("file", "deployment"): Unsupported("a local directory does not exist on the cluster", BUILD_FIX),
    ("file", "kserve"): Unsupported("a local directory does not exist on the cluster", BUILD_FIX),
    ("file", "sagemaker"): Unsupported("a local directory does not exist on the managed platform", BUILD_FIX),
    ("file", "azureml"): Unsupported("a local directory does not exist on the managed platform", BUILD_FIX),
}


ENGINES = ("deployment", "kserve", "sagemaker", "azureml")
SCHEMES = ("s3", "gs", "az", "hf", "oci", "pvc", "models", "file")
ENGINE_TITLES = {"deployment": "Kubernetes `serving: deployment`", "kserve": "Kubernetes `serving: kserve`",
                 "sagemaker": "SageMaker", "azureml": "Azure ML"}


def support_table() -> str:
    """`SUPPORT` as the Markdown table the README shows (a test keeps the README equal to it)."""
    rows = ["| `model.uri` | " + " | ".join(ENGINE_TITLES[e] for e in ENGINES) + " |", "|---" * (len(ENGINES) + 1) + "|"]
    for scheme in SCHEMES:
        cells = []
        for engine in ENGINES:
            cell = SUPPORT[(scheme, engine)]
            cells.append(f"error: {cell.reason}" if isinstance(cell, Unsupported) else cell)
        shown = "models:/" if scheme == "models" else f"{scheme}://"
        rows.append(f"| `{shown}` | " + " | ".join(cells) + " |")
    return "\n".join(rows)


@dataclass(frozen=True)
class ArtifactPlan:
    """Where one model's weights come from and how they reach the server.

    `source`: the URI as written; `fetch_uri`: what the fetch step reads (models:/ resolved,
    az:// as a Blob URL); `method`: one of init-container, storage-initializer, modelcar,
    pvc-mount, platform-download, hub-download, registered-model; `fetcher`: the fetch image
    family (storage_initializer, mlflow_fetch, model_image) for init containers;
    `resolved_from`: the models:/ URI when it was resolved; `identity`: who reads the store;
    `secrets`: environment variables filled from secret references."""

    source: str
    fetch_uri: str
    method: str
    how: str
    fetcher: str | None = None
    resolved_from: str | None = None
    identity: str = "none"
    secrets: tuple[SecretUse, ...] = ()
    notes: tuple[str, ...] = field(default=())
    engine: str = ""
    tracking_uri: str | None = None
    credentials_secret: str | None = None
    secrets_via: str = "platform"  # external-secrets | kubernetes | platform

    @property
    def scheme(self) -> str:
        return uris.parse(self.fetch_uri).scheme

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "fetch_uri": self.fetch_uri, "method": self.method, "how": self.how,
                               "identity": self.identity, "secrets": [s.as_dict() for s in self.secrets]}
        if self.resolved_from:
            out["resolved_from"] = self.resolved_from
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def engine_of(stack: AnyStack) -> str:
    from modelfleet.environment import KubernetesStack

    return stack.serving if isinstance(stack, KubernetesStack) else stack.platform


def _resolve(spec: ModelSpec, stack: AnyStack, out: list[Diagnostic]) -> tuple[str, str | None]:
    """(URI the fetch step reads, the models:/ URI it came from) — models:/ resolved where possible."""
    uri = spec.model.uri
    if not uri.startswith("models:/") or engine_of(stack) == "azureml":
        return uri, None
    from modelfleet import mlflow_registry

    if stack.mlflow is None:
        out.append(Diagnostic("error", spec.name, "model.uri",
                              f"{uri} is an MLflow registry URI, but stack {stack.stack!r} names no MLflow tracking URI. "
                              "To fix: add modelfleet:mlflow: {tracking_uri: sqlite:///<registry.db> or https://<tracking server>} to the stack"))
        return uri, None
    resolved, problem = mlflow_registry.resolve(uri, stack.mlflow.tracking_uri)
    if problem:
        out.append(Diagnostic("error", spec.name, "model.uri", problem))
        return uri, None
    if resolved is None:
        return uri, None
    if uris.uri_problem(resolved) is not None or not resolved.startswith(tuple(f"{s}://" for s in ("s3", "gs", "az", "hf", "oci", "pvc"))):
        out.append(Diagnostic("error", spec.name, "model.uri",
                              f"{uri} resolves to {resolved!r}, which no fetch step reads. To fix: register the model "
                              "version from s3://, gs://, az:// (Blob) or hf:// storage"))
        return uri, None
    return resolved, uri


def artifact_plan(spec: ModelSpec, stack: AnyStack, target: str, names: dict[str, str]) -> tuple[ArtifactPlan, list[Diagnostic]]:
    """The plan plus its diagnostics (errors where the URI cannot reach the server on this target)."""
    from dataclasses import replace

    plan, out = _plan(spec, stack, target, names)
    from modelfleet.environment import KubernetesStack

    extra: dict[str, Any] = {"engine": engine_of(stack), "tracking_uri": stack.mlflow.tracking_uri if stack.mlflow else None}
    if isinstance(stack, KubernetesStack):
        extra["secrets_via"] = "external-secrets" if stack.external_secrets else "kubernetes"
        if target == "onprem":
            extra["credentials_secret"] = stack.artifact_store.credentials_secret
    return replace(plan, **extra), out


def _plan(spec: ModelSpec, stack: AnyStack, target: str, names: dict[str, str]) -> tuple[ArtifactPlan, list[Diagnostic]]:
    out: list[Diagnostic] = []
    engine = engine_of(stack)
    fetch_uri, resolved_from = _resolve(spec, stack, out)
    if out:  # the models:/ URI cannot be resolved as configured; that error says what to fix
        return ArtifactPlan(spec.model.uri, fetch_uri, "none", "unresolved"), out
    parsed = uris.parse(fetch_uri)
    scheme = parsed.scheme
    support = SUPPORT[(scheme, engine)]
    uses, secret_problems = secret_env(spec, stack)
    out.extend(secret_problems)
    where = {"deployment": "plain Deployments", "kserve": "KServe", "sagemaker": "SageMaker", "azureml": "Azure ML"}[engine]
    if isinstance(support, Unsupported):
        out.append(Diagnostic("error", spec.name, "model.uri",
                              f"model.uri {fetch_uri!r} cannot be served on {where} (stack {stack.stack!r}): {support.reason}. "
                              f"To fix: {support.fix}"))
        return ArtifactPlan(spec.model.uri, fetch_uri, "none", support.reason, secrets=tuple(uses)), out
    if scheme == "az" and target in ("aks", "azureml") and parsed.host not in stack.artifact_store.storage_accounts:
        out.append(Diagnostic("error", spec.name, "model.uri",
                              f"{fetch_uri} is in storage account {parsed.host!r}, which stack {stack.stack!r} does not list, so no "
                              f"identity can be granted read access to container {parsed.container!r} alone. To fix: add "
                              f"modelfleet:artifact_store.storage_accounts.{parsed.host}: <its resource id> to the stack"))
        return ArtifactPlan(spec.model.uri, fetch_uri, "none", "no storage account id", secrets=tuple(uses)), out
    identity = identity_of(spec, stack, target, parsed, names)
    if scheme == "models" and engine in ("deployment", "kserve"):  # unresolved: an http(s) tracking server answers at start
        how = (f"init container runs MLflow's client: `mlflow artifacts download -u {fetch_uri}` against "
               f"{stack.mlflow.tracking_uri if stack.mlflow else '?'} at start")
        return ArtifactPlan(spec.model.uri, fetch_uri, "init-container", how, "mlflow_fetch", None, identity, tuple(uses)), out
    if scheme == "models" and engine == "sagemaker":
        out.append(Diagnostic("error", spec.name, "model.uri",
                              f"{fetch_uri} can only be resolved by the tracking server at start, and SageMaker downloads model data "
                              "from S3 before any step of ours runs. To fix: give the stack a database tracking store "
                              "(modelfleet:mlflow.tracking_uri: sqlite:///…) so preview resolves it to its s3:// URI, or point "
                              "model.uri at the artifact's s3:// URI"))
        return ArtifactPlan(spec.model.uri, fetch_uri, "none", "unresolved", secrets=tuple(uses)), out
    if scheme == "hf" and engine in ("sagemaker", "azureml") and spec.serving.runtime not in HUB_RUNTIMES:
        out.append(Diagnostic("error", spec.name, "model.uri",
                              f"{fetch_uri}: the {spec.serving.runtime} container on {where} cannot download from the Hugging Face Hub "
                              f"(only {', '.join(HUB_RUNTIMES)} load a Hub model themselves). To fix: "
                              + (S3_FIX if engine == "sagemaker" else BLOB_FIX) + ", or serve with runtime vllm or tgi"))
        return ArtifactPlan(spec.model.uri, fetch_uri, "none", "unsupported", secrets=tuple(uses)), out
    if scheme == "hf" and engine == "sagemaker" and spec.serving.image:
        out.append(Diagnostic("error", spec.name, "serving.image",
                              f"{fetch_uri}: on SageMaker the Hub download is done by AWS's {spec.serving.runtime} container "
                              f"(HF_MODEL_ID), and serving.image {spec.serving.image!r} replaces it with an image that may not. "
                              "To fix: remove serving.image so the AWS container serves the model, or " + S3_FIX))
        return ArtifactPlan(spec.model.uri, fetch_uri, "none", "unsupported", secrets=tuple(uses)), out
    method, how, fetcher = _method(scheme, engine, parsed, spec)
    out.extend(_credentials_warning(spec, stack, target, scheme, method, uses))
    notes: tuple[str, ...] = ()
    if method == "hub-download" and engine == "sagemaker":
        notes, egress = _sagemaker_hub_egress(spec, stack, parsed.hf_repo, uses)
        out.extend(egress)
    return ArtifactPlan(spec.model.uri, fetch_uri, method, how, fetcher, resolved_from, identity, tuple(uses), notes), out


def _sagemaker_hub_egress(spec: ModelSpec, stack: AnyStack, repo: str, uses: list[SecretUse]) -> tuple[tuple[str, ...], list[Diagnostic]]:
    """What a Hub download on SageMaker needs from the network (and a token), said in preview (a warning
    where the stack's subnets must provide the egress, with the S3 copy that keeps the model isolated).

    SageMaker developer guide, "Run training and inference containers in internet-free mode": inference
    containers are internet-enabled by default, and network isolation (EnableNetworkIsolation) leaves them
    no outbound calls at all, so a model the container downloads itself runs without it. With a VPC
    config its traffic leaves through the stack's subnets, which reach the internet only through a NAT
    device ("Give SageMaker hosted endpoints access to resources in your Amazon VPC")."""
    subnets = getattr(stack, "subnet_ids", ())
    notes = []
    out = []
    if subnets:
        message = (f"network isolation is off for this model: the container downloads {repo} from "
                   f"huggingface.co at start through the stack's subnets ({', '.join(subnets)}), which need a route to the "
                   "internet (NAT gateway) and security groups allowing HTTPS (443) egress. To fix without internet egress: "
                   f"{S3_FIX} (SageMaker then downloads it and the container stays isolated)")
        out.append(Diagnostic("warning", spec.name, "model.uri", message))
        notes.append("egress: HTTPS to huggingface.co through the stack's subnets (NAT); network isolation off for this model")
    else:
        notes.append("egress: HTTPS to huggingface.co over the internet access SageMaker gives a container without a VPC config; "
                     "network isolation off for this model")
    if not any(u.env in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN") for u in uses):
        notes.append("no Hub token: only public (ungated) repositories download. For a gated one set serving.secret_env: "
                     "{HF_TOKEN: <logical secret>} and map it in modelfleet:secrets")
    return tuple(notes), out


# which object stores each cluster kind reaches with the model's own cloud identity
NATIVE_STORES = {"eks": ("s3",), "aks": ("az",), "onprem": ()}
STORE_ENV = {"s3": "AWS_", "gs": "GOOGLE_", "az": "AZURE_"}


def _credentials_warning(spec: ModelSpec, stack: AnyStack, target: str, scheme: str, method: str,
                         uses: list[SecretUse]) -> list[Diagnostic]:
    """A fetch from a store the cluster has no identity for works only with credentials the spec names
    (or a public bucket): say so instead of promising a download."""
    if target not in NATIVE_STORES or scheme not in STORE_ENV or method not in ("init-container", "storage-initializer"):
        return []
    if scheme in NATIVE_STORES[target] or any(u.env.startswith(STORE_ENV[scheme]) for u in uses):
        return []
    if target == "onprem" and stack.artifact_store.credentials_secret:
        return []
    where = "modelfleet:artifact_store.credentials_secret, or " if target == "onprem" else ""
    return [Diagnostic("warning", spec.name, "model.uri",
                       f"nothing on this {target} cluster holds credentials for {scheme}:// (no workload identity reaches that "
                       "store): the fetch step downloads only from a public location. To read a private store set "
                       f"{where}serving.secret_env with its {STORE_ENV[scheme]}* variables mapped in modelfleet:secrets")]


def _method(scheme: str, engine: str, parsed: uris.ModelUri, spec: ModelSpec) -> tuple[str, str, str | None]:
    if engine == "deployment":
        if scheme == "pvc":
            sub = f" sub-path {parsed.path}" if parsed.path else ""
            return "pvc-mount", f"PersistentVolumeClaim {parsed.host}{sub} mounted read-only at the model directory", None
        if scheme == "oci":
            return "init-container", "init container runs the model image and copies its /models into the model volume", "model_image"
        shown = uris.blob_url(parsed.raw) if scheme == "az" else parsed.raw
        return "init-container", f"init container (KServe storage initializer) downloads {shown} before the server starts", "storage_initializer"
    if engine == "kserve":
        if scheme == "oci":
            return "modelcar", "KServe modelcar: the model image runs beside the server and shares /mnt/models", None
        if scheme == "pvc":
            return "pvc-mount", "KServe mounts the PersistentVolumeClaim (storageUri pvc://) read-only", None
        return "storage-initializer", "KServe's storage initializer downloads storageUri before the server starts", None
    if engine == "sagemaker":
        if scheme == "hf":
            env = ", ".join(f"{k}={v}" for k, v in hub_environment(spec.serving.runtime, parsed.raw).items())
            return "hub-download", (f"the AWS {spec.serving.runtime} container downloads {parsed.hf_repo} from the Hugging Face Hub "
                                    f"at start ({env}); no S3 model data"), None
        return "platform-download", "SageMaker copies the S3 data to /opt/ml/model before the container starts", None
    if scheme == "hf":
        return "hub-download", f"the {spec.serving.runtime} server downloads {parsed.hf_repo} from the Hugging Face Hub at start", None
    return "registered-model", "Azure ML mounts the registered model version; the server reads AZUREML_MODEL_DIR", None


def identity_of(spec: ModelSpec, stack: AnyStack, target: str, parsed: uris.ModelUri, names: dict[str, str]) -> str:
    """Who reads the model store, in words (the components create exactly this)."""
    from modelfleet.environment import EksCluster, KubernetesStack

    sa = f"ServiceAccount {names.get('namespace', spec.name)}/{names.get('service_account', spec.name)}"
    if parsed.scheme in ("pvc", "oci") or (parsed.scheme == "hf" and target not in ("sagemaker",)):
        public = "the Hub (token from secret_env when set)" if parsed.scheme == "hf" else (
            "the cluster's image pull credentials" if parsed.scheme == "oci" else "the volume")
        return f"no cloud identity: {public}"
    if target == "eks" and isinstance(stack, KubernetesStack) and isinstance(stack.cluster, EksCluster):
        via = "EKS Pod Identity association" if stack.cluster.identity == "pod_identity" else "IRSA (OIDC web identity)"
        if parsed.scheme == "s3":
            key = " + kms:Decrypt" if stack.artifact_store.kms_key_arn else ""
            return f"IAM role {names.get('model_role', '?')} via {via} for {sa}: s3 read on {parsed.host}/{parsed.path}*{key}"
        return f"no cloud identity: {parsed.scheme}:// is not an AWS store"
    if target == "aks":
        if parsed.scheme == "az":
            return (f"user-assigned identity {names.get('model_identity', '?')} (workload identity, federated for {sa}): "
                    f"Storage Blob Data Reader on container {parsed.host}/{parsed.container}")
        return f"no cloud identity: {parsed.scheme}:// is not Azure storage"
    if target == "onprem":
        secret = stack.artifact_store.credentials_secret
        return f"Secret {secret} mounted as env of the fetch step" if secret else "none (the store must allow the cluster anonymously)"
    if target == "sagemaker":
        if parsed.scheme == "hf":
            return f"execution role {names.get('endpoint', spec.name)} (no S3 read: the container downloads from the Hub)"
        return f"execution role of endpoint {names.get('endpoint', spec.name)}: read {parsed.host}/{parsed.path}"
    # azureml: the endpoint's system-assigned identity. Azure ML itself grants it AcrPull on the workspace
    # registry and Storage Blob Data Reader on the workspace's default datastore ("Secret injection in online
    # endpoints": roles assigned automatically to a system-assigned endpoint identity); the stack adds only
    # what this model reads.
    who = f"system-assigned identity of endpoint {names.get('endpoint', spec.name)}"
    if parsed.scheme == "az":
        return (f"{who}: Storage Blob Data Reader on container {parsed.host}/{parsed.container} only (granted by the stack); "
                "Azure ML adds AcrPull on the workspace registry and read on the workspace's default datastore")
    return (f"{who}: the workspace's registered model (Azure ML grants it read on the workspace's default datastore); "
            "no store role from the stack")
