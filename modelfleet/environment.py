"""The stack (`stacks/Pulumi.<stack>.yaml`, DESIGN §4): one environment on one platform.

Contract:
- `load_stack_file(path)` → `StackConfig`, validated, with located errors (exit 2).
- `stack_from_pulumi_config()` builds the same object inside a real `pulumi up` from
  `pulumi.Config`, so preview and deploy read one model.
- `StackConfig.platform_config` is a union discriminated by `platform`; Kubernetes
  clusters are a union discriminated by `kind`. Each platform's model forbids unknown keys.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from modelfleet.credentials import secret_kind, userinfo
from modelfleet.errors import Problem, SpecError
from modelfleet.labels import label_value_problem, tag_key_problem
from modelfleet.pull_through import setting_problem
from modelfleet.references import image_problem, registry_problem
from modelfleet.secret_refs import reference_problem
from modelfleet.selection import glob_problem, selects
from modelfleet.validation import custom_error, problems_from, raise_problem
from modelfleet.yamlmarks import load_yaml, read_source

STACK_FILE_RE = re.compile(r"^Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.ya?ml$")
NAMESPACE = "modelfleet"
REGION_KEYS = ("aws:region", "azure-native:location")
PLATFORM = ("Where the models run: kubernetes (an on-prem, EKS or AKS cluster; see cluster), sagemaker (SageMaker "
            "real-time endpoints) or azureml (Azure ML managed online endpoints).")
CLUSTER_KIND = "onprem (your GPU nodes, listed in gpu_nodes), eks or aks (an existing cluster by name, or create: true)."


class _Frozen(BaseModel):
    # NaN and ±inf are refused everywhere (a NaN price or budget compares false with everything)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RegistryConfig(_Frozen):
    kind: Annotated[Literal["ecr", "acr", "external"], Field(description="ecr / acr (provisioned by the stack) or external (an existing registry).")]
    url: Annotated[str | None, Field(description="Registry host and path, for external registries.")] = None
    pull_secret: Annotated[str | None, Field(description="Name of an image pull secret in each model namespace (external).")] = None
    keep_images: Annotated[int, Field(ge=1, le=1000, description="Images kept by the lifecycle/retention policy.")] = 30
    kms_key_arn: Annotated[str | None, Field(description="Customer-managed KMS key for ECR encryption.")] = None

    @field_validator("url")
    @classmethod
    def _registry_url(cls, url: str | None) -> str | None:
        problem = registry_problem(url) if url is not None else None
        if problem is not None:
            raise custom_error(f"registry.url: {problem[0]}", allowed=problem[1], fix=problem[2], redact=userinfo(url or ""))
        return url

    @model_validator(mode="after")
    def _external_url(self) -> RegistryConfig:
        if self.kind == "external" and not self.url:
            raise custom_error("an external registry needs url", allowed="host[/path], e.g. harbor.lab.local/ml",
                               fix="add url to modelfleet:registry")
        return self


class KubernetesSecretRef(_Frozen):
    secret: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253, description="Secret name.")]
    key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]+$", description="Key inside the Secret.")]
    namespace: Annotated[str | None, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                                           description="Namespace holding the Secret; the stack copies it into each model namespace. "
                                                       "Without it the Secret must exist in the model's namespace.")] = None


class SecretRef(_Frozen):
    """Where one logical secret lives: exactly one of the three stores."""

    aws_secrets_manager: Annotated[str | None, Field(description="Secrets Manager secret ARN.")] = None
    key_vault: Annotated[str | None, Field(description="Key Vault secret URI https://<vault>.vault.azure.net/secrets/<name>[/<version>].")] = None
    kubernetes: Annotated[KubernetesSecretRef | None, Field(description="A Kubernetes Secret and key.")] = None

    @model_validator(mode="after")
    def _one_store(self) -> SecretRef:
        stores = [name for name in ("aws_secrets_manager", "key_vault", "kubernetes") if getattr(self, name) is not None]
        if len(stores) != 1:
            raise custom_error(f"a secret reference names {len(stores)} stores ({', '.join(stores) or 'none'})",
                               allowed="exactly one of aws_secrets_manager: <ARN>, key_vault: <secret URI>, "
                                       "kubernetes: {secret, key}",
                               fix="keep one store per logical secret")
        raise_problem(reference_problem(self.aws_secrets_manager, self.key_vault))
        return self

    @property
    def store(self) -> str:
        return "aws_secrets_manager" if self.aws_secrets_manager else "key_vault" if self.key_vault else "kubernetes"

    def describe(self) -> str:
        """The reference as a reviewer reads it (never a value)."""
        if self.kubernetes is not None:
            k = self.kubernetes
            return f"kubernetes Secret {k.namespace + '/' if k.namespace else ''}{k.secret} key {k.key}"
        return f"{self.store} {self.aws_secrets_manager or self.key_vault}"


class MlflowConfig(_Frozen):
    tracking_uri: Annotated[str, Field(min_length=1, description="MLflow tracking/registry URI that resolves models:/ URIs: "
                                                                  "a sqlite registry (sqlite:///…) is read at preview "
                                                                  "time; an http(s) server is asked at start by an init step.")]


class ArtifactStore(_Frozen):
    """How serving pods reach the model store."""

    kms_key_arn: Annotated[str | None, Field(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[-a-f0-9]+$",
                                             description="KMS key encrypting the model bucket: model roles may decrypt with it.")] = None
    storage_accounts: Annotated[dict[str, str], Field(description="az:// storage account name -> its Azure resource id, so the "
                                                                  "model identity's role assignment is scoped to the model's container.")] = {}
    credentials_secret: Annotated[str | None, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                                                    description="On-prem: a Secret (in each model namespace) whose keys are the "
                                                                "model store's credential variables, mounted as env by the fetch step.")] = None
    key_vaults: Annotated[dict[str, str], Field(description="Key Vault name -> its Azure resource id, so an Azure ML endpoint "
                                                            "identity is granted Key Vault Secrets User on each secret it reads, "
                                                            "and nothing else in the vault.")] = {}

    @model_validator(mode="after")
    def _account_ids(self) -> ArtifactStore:
        for vault, rid in self.key_vaults.items():
            if not re.match(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/" + re.escape(vault) + "$",
                            rid, re.IGNORECASE):
                raise custom_error(f"key_vaults.{vault} is {rid!r}, not the resource id of Key Vault {vault!r}",
                                   allowed="/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<vault>",
                                   fix=f"copy it from `az keyvault show -n {vault} --query id -o tsv`")
        for account, rid in self.storage_accounts.items():
            if not re.match(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/" + re.escape(account) + "$",
                            rid, re.IGNORECASE):
                raise custom_error(f"storage_accounts.{account} is {rid!r}, not the resource id of storage account {account!r}",
                                   allowed="/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>",
                                   fix="copy the id from `az storage account show -n <account> --query id`")
        return self


class ExternalSecrets(_Frozen):
    """External Secrets Operator: secrets reach model namespaces as ExternalSecrets, never through Pulumi."""

    store: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", description="SecretStore / ClusterSecretStore name.")]
    kind: Annotated[Literal["ClusterSecretStore", "SecretStore"], Field(description="Kind of the store.")] = "ClusterSecretStore"
    refresh: Annotated[str, Field(pattern=r"^[0-9]+[smh]$", description="refreshInterval of each ExternalSecret.")] = "1h"


class Budget(_Frozen):
    monthly_usd: Annotated[Decimal, Field(gt=0, le=1_000_000_000, description="Monthly ceiling; `cost` exits 1 when the stack's max exceeds it.")]


class AlertsDestination(_Frozen):
    sns_topic_arn: Annotated[str | None, Field(pattern=r"^arn:aws[a-z-]*:sns:", description="SNS topic for SageMaker/EKS alarms.")] = None
    action_group_id: Annotated[str | None, Field(description="Azure Monitor action group resource id.")] = None
    alertmanager_receiver: Annotated[str | None, Field(description="Alertmanager receiver for Kubernetes PrometheusRules.")] = None


AddonMode = Literal["install", "present"]


class Addons(_Frozen):
    """Cluster add-ons an engine needs: `install` (the stack installs it) or `present` (assumed installed)."""

    nvidia_device_plugin: Annotated[AddonMode, Field(description="NVIDIA device plugin DaemonSet.")] = "install"
    keda: Annotated[AddonMode, Field(description="KEDA, for concurrency/rps/gpu/queue autoscaling and scale-to-zero on Deployments.")] = "present"
    kserve: Annotated[AddonMode, Field(description="KServe (serving: kserve).")] = "present"
    prometheus_operator: Annotated[AddonMode, Field(description="Prometheus Operator CRDs (ServiceMonitor, PrometheusRule).")] = "present"
    dcgm_exporter: Annotated[AddonMode, Field(description="NVIDIA DCGM exporter for GPU metrics.")] = "install"
    prometheus_url: Annotated[str, AfterValidator(lambda url: _url_without_credentials("addons.prometheus_url", url)),
                              Field(pattern=r"^https?://[^\s/]+", description="Prometheus that KEDA (autoscaling) and Argo Rollouts (canary analysis) query.")] = "http://prometheus-operated.monitoring.svc:9090"
    argo_rollouts: Annotated[AddonMode | None, Field(description="Argo Rollouts, for canary and blue/green on serving: deployment "
                                                                 "(unset = not available: rolling updates only).")] = None
    monitoring_namespace: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63,
                                               description="Namespace Prometheus scrapes from; the model NetworkPolicies admit it to the metrics port.")] = "monitoring"
    monitor_labels: Annotated[dict[str, str], Field(description="Labels put on every PodMonitor and PrometheusRule (and the DCGM exporter's "
                                                                "ServiceMonitor) so an existing Prometheus selects them: kube-prometheus-stack "
                                                                "selects only objects labelled release=<its release name> by default.")] = {}
    dcgm_namespace_label: Annotated[Literal["namespace", "exported_namespace"] | None,
                                    Field(description="Label that carries the pod namespace on DCGM series. Default: `namespace` when the stack "
                                                      "installs the exporter (with honorLabels), `exported_namespace` for an existing exporter "
                                                      "scraped with the chart's default honorLabels: false.")] = None


def _version_text(value: Any) -> Any:
    """YAML reads `3.2` as a float; a version is text (the writer quotes such versions)."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


VersionText = Annotated[str, BeforeValidator(_version_text), Field(min_length=1, max_length=63, pattern=r"^\S+$")]


class StableEntry(_Frozen):
    """One model's rollout state on a stack, written by `modelfleet promote` / `abort`."""

    version: Annotated[VersionText, Field(description="The version that serves all traffic.")]
    aborted: Annotated[VersionText | None, Field(description="A version `abort` sent back to zero traffic.")] = None


def _stable_entry(value: Any) -> Any:
    """`model: 1.3.2` is shorthand for `model: {version: 1.3.2}`."""
    return value if isinstance(value, dict) else {"version": value}


Stable = Annotated[StableEntry, BeforeValidator(_stable_entry, json_schema_input_type=str | StableEntry)]


class GpuNode(_Frozen):
    name: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                               description="Kubernetes node name (a DNS subdomain).")]
    accelerator: Annotated[str, Field(description="Accelerator on the node (vocabulary name).")]
    count: Annotated[int, Field(ge=1, le=16, description="GPUs on the node.")]
    cpu: Annotated[float | None, Field(gt=0, le=4096, description="Allocatable vCPUs, if known.")] = None
    memory_gib: Annotated[float | None, Field(gt=0, le=65536, description="Allocatable memory, if known.")] = None


class OnPremCluster(_Frozen):
    kind: Annotated[Literal["onprem"], Field(description=CLUSTER_KIND)]
    context: Annotated[str | None, Field(description="kubeconfig context of the cluster.")] = None
    gpu_nodes: Annotated[tuple[GpuNode, ...], Field(description="GPU nodes modelfleet may label, taint and schedule on.")] = ()
    gpu_hour_usd: Annotated[dict[str, Annotated[Decimal, Field(ge=0, le=10_000)]],
                            Field(description="Internal rate per GPU-hour by accelerator, for cost previews (0-10000).")] = {}

    @field_validator("gpu_nodes")
    @classmethod
    def _nodes_once(cls, nodes: tuple[GpuNode, ...]) -> tuple[GpuNode, ...]:
        seen: set[str] = set()
        for node in nodes:
            if node.name in seen:
                raise custom_error(f"gpu node {node.name!r} is listed twice; the second entry's labels and taints would overwrite the first's",
                                   allowed="each node once", fix=f"merge the two {node.name} entries into one")
            seen.add(node.name)
        return nodes


class EksCluster(_Frozen):
    kind: Annotated[Literal["eks"], Field(description=CLUSTER_KIND)]
    name: Annotated[str | None, Field(description="Existing cluster name (or the name to create).")] = None
    create: Annotated[bool, Field(description="Create the cluster, its IAM roles and (without subnet_ids) a VPC.")] = False
    subnet_ids: Annotated[tuple[str, ...], Field(description="Private subnets for node groups.")] = ()
    version: Annotated[str | None, Field(description="Kubernetes version (created clusters run it; for an existing cluster, "
                                                      "what it runs). Checked against the EKS support calendar.")] = None
    ami: Annotated[Literal["al2023", "bottlerocket"], Field(description="GPU node OS: AL2023 NVIDIA or Bottlerocket NVIDIA.")] = "al2023"
    nodes: Annotated[Literal["karpenter", "managed"] | None, Field(
        description="Who provisions GPU nodes: karpenter (NodePools; default for created clusters) or managed "
                    "(managed node groups + Cluster Autoscaler; default for existing clusters).")] = None
    ami_version: Annotated[str, Field(pattern=r"^(latest|v[0-9][0-9.]*)$", description=(
        "Karpenter AMI alias version: latest, or an EKS-optimized AMI release tag (AL2023 v20251120, Bottlerocket "
        "v1.50.0). With latest every new AMI release drifts (replaces) the GPU nodes."))] = "latest"

    @field_validator("version")
    @classmethod
    def _supported_version(cls, version: str | None) -> str | None:
        from modelfleet import kubernetes_versions as kv

        if version is None:
            return version
        found = kv.support("eks", version)
        if found is None:
            raise custom_error(f"Kubernetes {version!r} is not in the EKS support calendar modelfleet knows",
                               allowed=", ".join(kv.usable("eks", kv.today())),
                               fix=f"set version to a supported minor version (newest: \"{kv.known('eks')[0]}\"), or add a "
                                   "newer version with its dates to modelfleet/data/kubernetes_versions.json")
        if found.level(kv.today()) == "error":
            raise custom_error(found.message(kv.today()), allowed=", ".join(kv.usable("eks", kv.today())), fix=found.fix())
        return version

    @property
    def node_provisioner(self) -> Literal["karpenter", "managed"]:
        """karpenter unless the stack says managed; existing clusters default to managed node groups."""
        return self.nodes or ("karpenter" if self.create else "managed")
    identity: Annotated[Literal["pod_identity", "irsa"], Field(description="How model pods get their IAM role: EKS Pod Identity "
                                                                           "(the agent add-on) or IRSA (the cluster's OIDC provider).")] = "pod_identity"
    api_public_cidrs: Annotated[tuple[str, ...], Field(max_length=40, description=(
        "Created clusters: IPv4 CIDRs that may reach the Kubernetes API endpoint from the internet. Empty (default): "
        "the endpoint is private, reachable only from the VPC (and networks routed to it). In production 0.0.0.0/0 is refused."))] = ()
    admins: Annotated[tuple[str, ...], Field(max_length=20, description=(
        "Created clusters: IAM role or user ARNs given cluster admin through EKS access entries "
        "(AmazonEKSClusterAdminPolicy, cluster scope). Required in production, where the identity that creates the "
        "cluster gets no bootstrap admin; list the deploying role here."))] = ()

    @field_validator("api_public_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for cidr in cidrs:
            try:
                ipaddress.IPv4Network(cidr, strict=True)
            except ValueError as e:
                raise custom_error(f"api_public_cidrs: {cidr!r} is not an IPv4 CIDR block ({e})",
                                   allowed="IPv4 CIDRs such as 203.0.113.0/24 (EKS publicAccessCidrs take IPv4 only)",
                                   fix="write the network address with its prefix length, host bits zero") from None
        return cidrs

    @field_validator("admins")
    @classmethod
    def _admins(cls, admins: tuple[str, ...]) -> tuple[str, ...]:
        for arn in admins:
            if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$", arn):
                raise custom_error(f"admins: {arn!r} is not an IAM role or user ARN",
                                   allowed="arn:aws:iam::<12-digit account>:role/<name> or :user/<name>",
                                   fix="copy the ARN from `aws iam get-role --role-name <name>`; for an SSO permission set use "
                                       "its role ARN without the aws-reserved/sso.amazonaws.com/ path")
        return admins


class AksCluster(_Frozen):
    kind: Annotated[Literal["aks"], Field(description=CLUSTER_KIND)]
    name: Annotated[str | None, Field(description="Existing cluster name (or the name to create).")] = None
    resource_group: Annotated[str | None, Field(description="Resource group of the cluster.")] = None
    create: Annotated[bool, Field(description="Create a managed cluster with a system pool.")] = False
    private: Annotated[bool | None, Field(description="Private API server (when creating); default: private in production "
                                                    "environments, public elsewhere.")] = None
    authorized_ip_ranges: Annotated[tuple[str, ...], Field(description="A created cluster with a public API server: the CIDRs "
                                                                       "allowed to reach it (required in production).")] = ()

    @field_validator("authorized_ip_ranges")
    @classmethod
    def _cidrs(cls, ranges: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in ranges:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as e:
                raise custom_error(f"authorized_ip_ranges: {cidr!r} is not a network ({e})", allowed="CIDRs like 203.0.113.0/24",
                                   fix="write each range as address/prefix with the host bits zero") from None
        return ranges
    gpu_driver: Annotated[Literal["aks", "gpu-operator"], Field(description="AKS-managed NVIDIA driver, or the NVIDIA GPU Operator.")] = "aks"


Cluster = Annotated[OnPremCluster | EksCluster | AksCluster, Field(discriminator="kind")]


DEFAULT_ENVIRONMENTS: dict[str, str] = {"dev": "non-production", "staging": "non-production", "prod": "production"}
ENVIRONMENT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")


def environment_kinds(declared: Mapping[str, str]) -> dict[str, str]:
    """Known environment names → production | non-production (the defaults plus a stack's own)."""
    return {**DEFAULT_ENVIRONMENTS, **declared}


def _url_without_credentials(field: str, url: str | None) -> str | None:
    if url and (userinfo(url) or secret_kind(url)):
        raise custom_error(f"{field} carries credentials in the URL; every request would be sent with them, and the URL "
                           "lands in pod specs and the plan", allowed="a URL without user-info or tokens",
                           fix="remove the credentials and rotate them; authenticate the sink inside the cluster (mTLS or a NetworkPolicy)",
                           redact=True)
    return url


class _StackBase(_Frozen):
    stack: Annotated[str, Field(description="Stack name (from the file name).")]
    file: Annotated[str, Field(description="Path of the stack file.")] = ""
    environments: Annotated[dict[str, Literal["production", "non-production"]],
                            Field(description="Environment names besides dev, staging (non-production) and prod (production), "
                                              "and whether each is production.")] = {}
    environment: Annotated[str, Field(min_length=1, description="Which spec environment overrides apply (a known name).")]
    registry: Annotated[RegistryConfig, Field(description="Where serving images live.",
                                              examples=[{"kind": "ecr"}, {"kind": "external", "url": "harbor.lab.local/ml"}])]
    models: Annotated[tuple[str, ...], Field(description="Globs over spec names selecting the models this stack serves; "
                                                          "'!GLOB' excludes, wherever it is written.")] = ("*",)
    budget: Annotated[Budget | None, Field(description="Monthly budget.")] = None
    alerts: Annotated[AlertsDestination, Field(description="Where alerts go.")] = AlertsDestination()
    tags: Annotated[dict[str, str], Field(description="Tags/labels added to every resource.")] = {}
    owner: Annotated[str, Field(pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
                                description="Owner label/tag of shared resources (node pools, registries, add-ons).")] = "ml-platform"
    region: Annotated[str | None, Field(description="Region the stack deploys to, written as aws:region (EKS, SageMaker) or "
                                                        "azure-native:location (AKS, Azure ML).")] = None
    images: Annotated[dict[str, str], Field(description="Image overrides by model name (a promoted pin, written by `modelfleet release pin`), runtime (vllm, tgi, ...) or component (device_plugin, storage_initializer, mlflow_fetch), e.g. digest-pinned mirrors.")] = {}
    secrets: Annotated[dict[str, SecretRef], Field(description="Logical secret name -> where it lives on this platform.", examples=[
        {"hf-token": {"kubernetes": {"secret": "hf-token", "key": "token"}}}])] = {}
    mlflow: Annotated[MlflowConfig | None, Field(description="MLflow tracking URI for models:/ URIs.")] = None
    artifact_store: Annotated[ArtifactStore, Field(description="Model store access: KMS key, Azure storage accounts, on-prem credentials Secret.")] = ArtifactStore()
    stable: Annotated[dict[str, Stable], Field(description="Per model, the version that serves all traffic (written by "
                                                           "`modelfleet promote` / `abort`, not by hand).")] = {}

    @model_validator(mode="after")
    def _pull_secret_mapped(self) -> _StackBase:
        pull = self.registry.pull_secret
        if self.registry.kind == "external" and pull and pull not in self.secrets:
            raise custom_error(f"registry.pull_secret {pull!r} names no secret in modelfleet:secrets, so the stack cannot create "
                               "it in the namespaces it creates",
                               allowed="a logical secret mapped in modelfleet:secrets (a .dockerconfigjson value)",
                               fix=f"add modelfleet:secrets.{pull}: {{kubernetes: {{secret: <name>, key: .dockerconfigjson, "
                                   "namespace: <where it lives>}} (or an aws_secrets_manager / key_vault reference)")
        return self

    @field_validator("environments")
    @classmethod
    def _environment_names(cls, declared: dict[str, str]) -> dict[str, str]:
        for name in declared:
            if not ENVIRONMENT_NAME.match(name):
                raise custom_error(f"{name!r} is not a plain environment name", allowed="lowercase letters, digits and '-', at most 32",
                                   fix="use a name like prod-eu")
        return declared

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, environment: str, info: ValidationInfo) -> str:
        kinds = environment_kinds(info.data.get("environments") or {})
        if environment not in kinds:
            folded = environment.strip().lower()
            near = [folded] if folded in kinds else difflib.get_close_matches(folded, list(kinds), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            declare = folded if ENVIRONMENT_NAME.match(folded) else "qa"
            raise custom_error(f"environment {environment!r} is not a known environment: prod-only rules would silently not apply",
                               allowed=", ".join(sorted(kinds)) + " (declare others in modelfleet:environments)",
                               fix=f"{hint}use a known name, or declare it: modelfleet:environments: {{{declare}: production}} (or non-production)")
        return environment

    @field_validator("models")
    @classmethod
    def _models(cls, models: tuple[str, ...]) -> tuple[str, ...]:
        raise_problem(glob_problem(models))
        return models

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            raise_problem(tag_key_problem(key) or label_value_problem(value), f"tags.{key}")
        return tags

    @field_validator("images")
    @classmethod
    def _images(cls, images: dict[str, str]) -> dict[str, str]:
        for component, image in images.items():
            raise_problem(image_problem(image), f"images.{component}")
        return images

    @model_validator(mode="after")
    def _azure_tag_keys(self) -> _StackBase:
        if getattr(self, "platform", "") == "azureml" or getattr(getattr(self, "cluster", None), "kind", "") == "aks":
            for key in self.tags:
                raise_problem(tag_key_problem(key, azure=True), f"tags.{key}")
        return self

    @property
    def production(self) -> bool:
        """Whether prod-only rules and protections apply to this stack's environment."""
        return environment_kinds(self.environments).get(self.environment) == "production"

    def shared_labels(self) -> dict[str, str]:
        """Labels/tags for resources no single model owns."""
        return {"app.kubernetes.io/managed-by": "modelfleet", "owner": self.owner, **self.tags}

    def shared_tags(self) -> dict[str, str]:
        """Cloud tags (AWS and Azure accept these keys) for resources no single model owns."""
        return {"modelfleet:stack": self.stack, "modelfleet:environment": self.environment,
                "managed-by": "modelfleet", "owner": self.owner, **self.tags}

    def image(self, component: str) -> str | None:
        return self.images.get(component)

    def selects(self, model_name: str) -> bool:
        """Whether an include glob matches the name and no `!` exclusion does (see modelfleet.selection)."""
        return selects(self.models, model_name)


# the instance metadata service by IP family (AWS EC2 User Guide, "Retrieve instance metadata": http://169.254.169.254
# and http://[fd00:ec2::254]; Azure IMDS uses the same IPv4 address: learn.microsoft.com/azure/virtual-machines/
# instance-metadata-service). Model pods' egress never reaches it (components.kubernetes.egress).
METADATA_SERVICE = {"IPv4": "169.254.169.254/32", "IPv6": "fd00:ec2::254/128"}


def _egress_cidr(value: str) -> str:
    """A network in CIDR form that does not reach the instance metadata service."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as e:
        raise custom_error(f"egress.allow cidr {value!r} is not a network: {e}", allowed="a CIDR such as 10.20.0.0/16 or fd00:1::/64",
                           fix="write the network address with its prefix length (host bits zero)") from None
    if any(network.overlaps(ipaddress.ip_network(cidr)) for cidr in METADATA_SERVICE.values()
           if ipaddress.ip_network(cidr).version == network.version):
        raise custom_error(f"egress.allow cidr {value} includes the instance metadata service, which would hand model pods "
                           "their node's credentials",
                           allowed="networks that exclude 169.254.169.254 and fd00:ec2::254",
                           fix="name the destination's own network (e.g. 10.20.0.0/16); model pods get their cloud identity "
                               "from Pod Identity / IRSA / Workload Identity")
    return str(network)


class EgressAllow(_Frozen):
    """One destination the model pods may reach besides DNS and HTTPS."""

    cidr: Annotated[str, AfterValidator(_egress_cidr), Field(description="Destination network, e.g. 10.20.0.0/16 (an on-prem object store).")]
    ports: Annotated[list[Annotated[int, Field(ge=1, le=65535)]], Field(min_length=1, description="Destination ports.")]
    protocol: Annotated[Literal["TCP", "UDP"], Field(description="Transport protocol.")] = "TCP"


class Egress(_Frozen):
    """Where model pods may connect (the egress half of each model's NetworkPolicy)."""

    open: Annotated[bool, Field(description="true: no egress restriction (not allowed in production).")] = False
    allow: Annotated[list[EgressAllow], Field(description="Destinations beyond DNS, HTTPS (except the instance metadata "
                                                          "service), the identity agent and the stack's MLflow/capture endpoints.")] = []


class KubernetesStack(_StackBase):
    platform: Annotated[Literal["kubernetes"], Field(description=PLATFORM)]
    cluster: Annotated[Cluster, Field(description="The cluster: onprem, eks or aks.", examples=[
        {"kind": "eks", "name": "ml-prod"}, {"kind": "aks", "name": "ml-aks", "resource_group": "ml-rg"},
        {"kind": "onprem", "context": "lab-cluster", "gpu_nodes": [{"name": "gpu-node-01", "accelerator": "A100-80GB", "count": 8}]}])]
    serving: Annotated[Literal["kserve", "deployment"], Field(description="Serving engine.")] = "deployment"
    addons: Annotated[Addons, Field(description="Add-ons installed by the stack or assumed present.")] = Addons()
    capture_url: Annotated[str | None, AfterValidator(lambda url: _url_without_credentials("capture_url", url)), Field(pattern=r"^https?://",
                                             description="HTTP sink for KServe's payload logger: data capture on kserve stacks.")] = None
    external_secrets: Annotated[ExternalSecrets | None, Field(description="External Secrets Operator store that serves modelfleet:secrets.")] = None
    egress: Annotated[Egress, Field(description="Model pods' egress: DNS, HTTPS except the instance metadata service, the "
                                                "identity agent, the stack's MLflow and capture endpoints, plus `allow`.")] = Egress()

    @field_validator("cluster")
    @classmethod
    def _hardened(cls, cluster: Any, info: ValidationInfo) -> Any:
        return _cluster_hardening(cluster, info)

    @field_validator("egress")
    @classmethod
    def _egress_closed_in_production(cls, egress: Egress, info: ValidationInfo) -> Egress:
        if egress.open and "environment" in info.data and \
                environment_kinds(info.data.get("environments") or {}).get(info.data["environment"]) == "production":
            raise custom_error("egress.open lets production model pods connect anywhere, the instance metadata service included",
                               allowed="egress.open: false (the default) with egress.allow for what the models must reach",
                               fix="remove egress.open and add egress.allow: [{cidr: <network>, ports: [<port>]}]")
        return egress


def _cluster_hardening(cluster: Any, info: ValidationInfo) -> Any:
    """Production rules for EKS clusters the stack creates: no API endpoint open to the whole
    internet, and a named admin instead of the creator's bootstrap admin."""
    if not isinstance(cluster, EksCluster) or not cluster.create or "environment" not in info.data:
        return cluster
    if environment_kinds(info.data.get("environments") or {}).get(info.data["environment"]) != "production":
        return cluster
    everyone = [c for c in cluster.api_public_cidrs if c.endswith("/0")]
    if everyone:
        raise custom_error(f"cluster.api_public_cidrs {everyone[0]} opens the production cluster's API endpoint to the whole internet",
                           allowed="no public CIDRs (a private endpoint), or the networks that administer the cluster (CI egress, VPN)",
                           fix="remove api_public_cidrs to keep the endpoint private, or list your CI/VPN egress CIDRs")
    if not cluster.admins:
        raise custom_error("a production cluster the stack creates gives its creator no bootstrap cluster-admin, so it needs "
                           "named admins",
                           allowed="cluster.admins: IAM role or user ARNs (the role that runs `pulumi up`, the platform team's role)",
                           fix="add admins: [arn:aws:iam::<account>:role/<deploy-role>] to modelfleet:cluster")
    return cluster


class PullThroughRegistry(_Frozen):
    """One upstream registry mirrored by an ECR pull-through cache rule (modelfleet.pull_through)."""

    credential: Annotated[str | None, Field(description="ARN (or a logical secret in modelfleet:secrets mapped to the ARN) of "
                                                        "the Secrets Manager secret (name starting with "
                                                        "ecr-pullthroughcache/, in the stack's account and Region) holding the "
                                                        "registry user name and access token, for Docker Hub, GitHub, GitLab and "
                                                        "Azure registries (default: the secret named "
                                                        "ecr-pullthroughcache/<registry>, looked up at deploy time); refused "
                                                        "for anonymous ones.")] = None
    prefix: Annotated[str | None, Field(description="ECR repository prefix of the cache rule, unique in the account and Region "
                                                    "(default <stack>/<registry>: github, quay, docker-hub, kubernetes, "
                                                    "ecr-public, gitlab, acr-<name>).")] = None


def _pull_through_entry(value: Any) -> Any:
    """`ghcr.io: ghcr-token` is shorthand for `ghcr.io: {credential: ghcr-token}` (a logical secret)."""
    return {"credential": value} if isinstance(value, str) else {} if value is None else value


PullThroughEntry = Annotated[PullThroughRegistry, BeforeValidator(_pull_through_entry, json_schema_input_type=str | PullThroughRegistry | None)]


class SageMakerStack(_StackBase):
    platform: Annotated[Literal["sagemaker"], Field(description=PLATFORM)]
    subnet_ids: Annotated[tuple[str, ...], Field(description="Private subnets: VPC config and network isolation.")] = ()
    security_group_ids: Annotated[tuple[str, ...], Field(description="Security groups for the VPC config.")] = ()
    kms_key_arn: Annotated[str | None, Field(description="KMS key for endpoint storage and data capture.")] = None
    pull_through: Annotated[dict[str, PullThroughEntry], Field(
        description="Serving images outside ECR, per upstream registry host (ghcr.io, quay.io, registry.k8s.io, public.ecr.aws, "
                    "docker.io, registry.gitlab.com, <name>.azurecr.io): the stack creates an ECR pull-through cache rule for "
                    "each registry a model's image comes from and SageMaker pulls the image through it. Registries that "
                    "need a credential (Docker Hub, GitHub, GitLab, Azure) read it from the secret named "
                    "ecr-pullthroughcache/<registry> unless an entry names another.",
        examples=[{"ghcr.io": {"credential": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/ghcr-AbCdEf"}},
                  {"docker.io": "dockerhub-token"}, {"quay.io": {}}])] = {}

    @field_validator("pull_through")
    @classmethod
    def _pull_through(cls, registries: dict[str, PullThroughRegistry], info: ValidationInfo) -> dict[str, PullThroughRegistry]:
        resolved = {}
        secrets: dict[str, SecretRef] = info.data.get("secrets") or {}
        for host, entry in registries.items():
            if "@" in host:  # user[:password]@host: a credential in a key; never echo it
                raise custom_error("pull_through: a registry key carries user-info (user[:password]@ before the host)",
                                   allowed="a registry host such as ghcr.io",
                                   fix="write the host alone and give the credential as a Secrets Manager secret "
                                       "(credential: <ARN of ecr-pullthroughcache/<name>>)", redact=True)
            credential = entry.credential
            if credential is not None and not credential.startswith("arn:"):  # a logical secret of modelfleet:secrets
                ref = secrets.get(credential)
                if ref is None or ref.aws_secrets_manager is None:
                    raise custom_error(f"pull_through.{host}: credential {credential!r} is neither a Secrets Manager ARN nor a "
                                       "logical secret mapped to one in modelfleet:secrets",
                                       allowed="arn:aws:secretsmanager:… or a modelfleet:secrets name with aws_secrets_manager",
                                       fix=f"add modelfleet:secrets.{credential}: {{aws_secrets_manager: <ARN of "
                                           "ecr-pullthroughcache/<name>>}, or write the ARN")
                credential = ref.aws_secrets_manager
            raise_problem(setting_problem(host, credential, entry.prefix, info.data.get("region")), f"pull_through.{host}")
            resolved[host] = entry.model_copy(update={"credential": credential})
        return resolved


class Workspace(_Frozen):
    name: Annotated[str | None, Field(description="Existing Azure ML workspace (or the name to create).")] = None
    resource_group: Annotated[str | None, Field(description="Resource group of the workspace.")] = None
    create: Annotated[bool, Field(description="Create the workspace with storage, key vault and app insights.")] = False


class AzureMLStack(_StackBase):
    platform: Annotated[Literal["azureml"], Field(description=PLATFORM)]
    workspace: Annotated[Workspace, Field(description="The Azure ML workspace.")]


StackConfig = Annotated[KubernetesStack | SageMakerStack | AzureMLStack, Field(discriminator="platform")]
AnyStack = KubernetesStack | SageMakerStack | AzureMLStack


class _StackDocument(_Frozen):
    """Wrapper so one TypeAdapter-free model validates the discriminated union."""

    config: StackConfig


def json_schema() -> dict[str, Any]:
    """JSON Schema of a stack's `modelfleet:` settings: one branch per platform (`config` property)."""
    schema = _StackDocument.model_json_schema()
    config = schema.pop("properties")["config"]
    return {**config, "$defs": schema.get("$defs", {}), "title": "modelfleet stack settings"}


def target_of(stack: AnyStack) -> str:
    """onprem | eks | aks | sagemaker | azureml — the placement target."""
    return stack.cluster.kind if isinstance(stack, KubernetesStack) else stack.platform


def _stack_name(path: Path) -> str:
    match = STACK_FILE_RE.match(path.name)
    return match.group("stack") if match else path.stem


def parse_stack(text: str, file: str) -> AnyStack:
    """Validate a Pulumi stack file's `config:` block (keys under the modelfleet namespace)."""
    data, marks = load_yaml(text, file)
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise SpecError([Problem(file, "a stack file needs a `config:` mapping", line=1,
                                 fix="start from stacks/ examples: config: {modelfleet:platform: ..., ...}")])
    values: dict[str, Any] = {"stack": _stack_name(Path(file)), "file": file}
    origin: dict[str, str] = {}
    for key, value in config.items():
        # Pulumi puts a key without a namespace into the project's namespace (modelfleet)
        namespace, _, field = str(key).partition(":") if ":" in str(key) else (NAMESPACE, ":", str(key))
        if namespace == NAMESPACE:
            if field in origin:
                raise SpecError([Problem(file, f"{key!r} repeats {origin[field]!r}", line=marks.locate(("config", key))[0],
                                         field=f"config.{key}", fix="keep one of the two keys (a key without a namespace "
                                         "is the same as modelfleet:<key>)")])
            values[field] = value
            origin[field] = key
        elif key in REGION_KEYS:
            values["region"] = value
            origin["region"] = key
    if "platform" not in values:
        raise SpecError([Problem(file, "missing modelfleet:platform", line=marks.locate(("config",))[0], field="config.modelfleet:platform",
                                 allowed="kubernetes, sagemaker, azureml", fix="add modelfleet:platform to the stack's config")])

    def to_doc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
        # loc = ("config", <platform tag>, field, ...) → ("config", "modelfleet:field", ...)
        rest = [p for p in loc[1:] if p not in ("kubernetes", "sagemaker", "azureml")] if len(loc) > 1 else []
        if len(rest) > 1 and rest[0] == "cluster" and rest[1] in ("onprem", "eks", "aks"):
            del rest[1]  # the cluster union's tag is the value of `kind`, not a key in the file
        if rest and rest[0] in origin:
            return ("config", origin[str(rest[0])], *rest[1:])
        return ("config", *(f"{NAMESPACE}:{p}" if i == 0 else p for i, p in enumerate(rest)))

    try:
        stack = _StackDocument.model_validate({"config": values}).config
    except ValidationError as e:
        problems = problems_from(e, _StackDocument, file, marks, path_map=to_doc)
        for problem in problems:
            if problem.field.endswith((f"{NAMESPACE}:cluster", f"{NAMESPACE}:cluster.kind")) and "kind" in problem.message.lower():
                problem.allowed = problem.allowed or "cluster.kind: onprem, eks or aks"
        raise SpecError(problems) from e
    region_problem = unknown_region(stack)
    if region_problem:
        key = origin.get("region", "aws:region")
        raise SpecError([Problem(file, region_problem[0], line=marks.locate(("config", key))[0], field=f"config.{key}",
                                 value=stack.region, allowed=region_problem[1], fix=region_problem[2])])
    return stack


# catalog platforms whose regions name a cloud's locations (modelfleet.catalog: ec2 = EKS nodes, azure = AKS nodes)
CATALOG_PLATFORMS = {"aws": ("ec2", "sagemaker"), "azure": ("azure", "azureml")}


@lru_cache(maxsize=1)
def _aws_regions() -> tuple[str, ...] | None:
    """Every region of every AWS partition, from botocore's endpoint data (botocore/data/endpoints.json,
    shipped with the aws extra's boto3), or None without botocore."""
    try:
        from botocore.loaders import Loader
    except ImportError:
        return None
    return tuple(sorted(region for partition in Loader().load_data("endpoints")["partitions"] for region in partition["regions"]))


def unknown_region(stack: AnyStack) -> tuple[str, str, str] | None:
    """(message, allowed, fix) for a region that cannot be right: an AWS region botocore does not
    know (`us-moon-1`), or an Azure location that is a near miss of one the catalog prices
    (`eastuss`). Without this every model would fail to fit, each blaming its own resources."""
    target = target_of(stack)
    cloud = "aws" if target in ("eks", "sagemaker") else "azure" if target in ("aks", "azureml") else None
    if cloud is None or stack.region is None:
        return None
    from modelfleet.catalog import load_catalog  # loaded only for cloud stacks

    catalog = load_catalog()
    priced = sorted({region for platform in CATALOG_PLATFORMS[cloud] for region in catalog.regions(platform)})
    if stack.region in priced:
        return None
    every_region = _aws_regions() if cloud == "aws" else None  # Azure: no offline list of every location
    candidates = list(every_region or priced)
    close = difflib.get_close_matches(stack.region, candidates, n=3, cutoff=0.75)
    # without the full list, only a near miss of a priced location is known to be wrong
    plausible = stack.region in every_region if every_region is not None else not close
    if plausible:
        return None  # a region the catalog does not price: placement says what fits where
    return (f"{stack.region!r} is not {'an AWS region' if cloud == 'aws' else 'an Azure location'}" +
            (f" (did you mean {' or '.join(close)}?)" if close else ""),
            ", ".join(candidates),
            "correct the region" + (" (botocore's endpoint data lists every AWS region)" if every_region else ""))


def load_stack_file(path: Path) -> AnyStack:
    return parse_stack(read_source(path), str(path))


def stack_paths(directory: Path, *, required: bool = True) -> list[Path]:
    """Stack files in `directory`, sorted; SpecError for any `stack_layout` problem."""
    stacks, problems = stack_layout(directory, required=required)
    if problems:
        raise SpecError(problems)
    return stacks


def stack_layout(directory: Path, *, required: bool = True) -> tuple[list[Path], list[Problem]]:
    """Stack files in `directory`, and what is wrong with the directory. A stack given as both
    .yaml and .yml, a file named like a stack that Pulumi would not read, a missing directory
    or (with `required`) no stack at all is a problem: nothing there is silently skipped."""
    if not directory.is_dir():
        if not required:
            return [], []
        return [], [Problem(str(directory), "the stacks directory does not exist",
                            fix="create stacks/Pulumi.<stack>.yaml, or pass --project-dir")]
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        match = STACK_FILE_RE.match(path.name)
        if match:
            stack = match.group("stack")
            if stack in found:
                problems.append(Problem(str(path), f"stack {stack!r} is also defined by {found[stack].name}", line=1,
                                        allowed="one file per stack", fix=f"merge the two files into {found[stack].name} and delete {path.name}"))
            else:
                found[stack] = path
        elif path.name.lower().startswith("pulumi.") or path.suffix.lower() in (".yaml", ".yml"):
            problems.append(Problem(str(path), f"{path.name!r} is not a stack file Pulumi reads", line=1,
                                    allowed="Pulumi.<stack>.yaml or Pulumi.<stack>.yml, stack names of letters, digits, '-', '_' and '.'",
                                    fix="rename it to Pulumi.<stack>.yaml, or move it out of the stacks directory"))
    if not found and not problems and required:
        problems.append(Problem(str(directory), "no stack files found", allowed="Pulumi.<stack>.yaml",
                                fix="add a stack file (see the README) or point --project-dir at the project"))
    return sorted(found.values()), problems


def find_stack(directory: Path, name: str) -> Path:
    for path in stack_paths(directory):
        if _stack_name(path) == name:
            return path
    known = ", ".join(_stack_name(p) for p in stack_paths(directory)) or "none"
    raise SpecError([Problem(str(directory), f"no stack named {name!r}", value=name, allowed=known,
                             fix=f"create {directory}/Pulumi.{name}.yaml or pick an existing stack")])


def stack_from_pulumi_config() -> AnyStack:
    """Inside a real `pulumi up`: the same model, read through pulumi.Config."""
    import pulumi

    values: dict[str, Any] = {"stack": pulumi.get_stack(), "file": f"Pulumi.{pulumi.get_stack()}.yaml"}
    config = pulumi.Config(NAMESPACE)
    for field in set(KubernetesStack.model_fields) | set(SageMakerStack.model_fields) | set(AzureMLStack.model_fields):
        if field in ("stack", "file", "region"):
            continue
        raw = config.get(field)
        if raw is not None:
            values[field] = config.get_object(field) if raw[:1] in ("{", "[") else raw
    region = pulumi.Config("aws").get("region") or pulumi.Config("azure-native").get("location")
    if region:
        values["region"] = region
    try:
        return _StackDocument.model_validate({"config": values}).config
    except ValidationError as e:
        raise SpecError([Problem(values["file"], err["msg"], field=".".join(map(str, err["loc"][1:])))
                         for err in e.errors(include_url=False)]) from e
