"""Model URIs (`model.uri`): parse one into its parts, and say what is wrong with its shape.

Contract:
- `parse(uri)` → `ModelUri` (scheme + the parts each scheme has); call it only on a URI that
  `uri_problem` accepts (the spec validator guarantees that for loaded specs).
- `uri_problem(uri)` → None, or (message, allowed, fix) for a URI whose scheme is known but whose
  shape cannot work: `pvc://` without a claim name, `s3://` without a bucket, `az://` without a
  container, `hf://` without `org/model`, `models:/` without a name and version or alias,
  `oci://` without a repository, or credentials in the URI's user-info.
- `blob_url(uri)`: `az://<account>/<container>/<path>` → the Blob endpoint URL that Azure SDKs,
  KServe's storage initializer and Azure ML read.

Shapes (the README's "Model URIs" table lists what each target does with them):
  s3://<bucket>/<prefix>           gs://<bucket>/<prefix>
  az://<account>/<container>/<path>
  hf://<org>/<model>[:<revision>]  (KServe's storage initializer form, `_download_hf`)
  oci://<registry>/<repo>[:tag|@sha256:...]
  pvc://<claim>[/<sub-path>]       (KServe's form: the claim, then a path inside it)
  models:/<name>/<version>  or  models:/<name>@<alias>  (MLflow registry URIs)
  file://<dir>                     (a local directory, for `modelfleet build`)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
# Azure storage account names: 3-24 lowercase letters and digits; container names: 3-63, lowercase, digits, '-'
AZ_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
AZ_CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
HF_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
MLFLOW_MODEL = re.compile(r"^(?P<name>[^/@]+)(/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))$")


@dataclass(frozen=True)
class ModelUri:
    """One parsed model URI. `scheme` is s3 | gs | az | hf | oci | pvc | models | file;
    `host` is the bucket / account / registry / claim / registered model name, `path` the rest."""

    raw: str
    scheme: str
    host: str
    path: str
    revision: str = ""  # hf revision, MLflow version or alias ("@alias")

    @property
    def container(self) -> str:
        """az://: the Blob container (first path segment)."""
        return self.path.split("/", 1)[0]

    @property
    def blob_path(self) -> str:
        """az://: the path inside the container."""
        return self.path.split("/", 1)[1] if "/" in self.path else ""

    @property
    def hf_repo(self) -> str:
        return f"{self.host}/{self.path}"


def parse(uri: str) -> ModelUri:
    if uri.startswith("models:/"):
        match = MLFLOW_MODEL.match(uri.removeprefix("models:/").rstrip("/"))
        assert match is not None, uri
        revision = match["version"] or f"@{match['alias']}"
        return ModelUri(uri, "models", match["name"], "", revision)
    scheme, _, rest = uri.partition("://")
    host, _, path = rest.partition("/")
    if scheme == "hf":
        path, _, revision = path.partition(":")
        return ModelUri(uri, scheme, host, path, revision)
    return ModelUri(uri, scheme, host, path)


def blob_url(uri: str) -> str:
    """az://<account>/<container>/<path> → https://<account>.blob.core.windows.net/<container>/<path>."""
    parsed = parse(uri)
    return f"https://{parsed.host}.blob.core.windows.net/{parsed.path}"


def _user_info(uri: str) -> str:
    if "://" not in uri:
        return ""
    netloc = urlsplit(uri).netloc
    return netloc.rpartition("@")[0] if "@" in netloc else ""


def carries_credentials(uri: str) -> bool:
    """True when the URI has user-info (`scheme://user:secret@host/...`)."""
    return bool(_user_info(uri))


def uri_problem(uri: str) -> tuple[str, str, str] | None:
    """(message, allowed, fix) when the URI's shape cannot work, else None."""
    if uri.startswith("models:/"):
        if not MLFLOW_MODEL.match(uri.removeprefix("models:/").rstrip("/")):
            return (f"MLflow model URI {uri!r} names no version or alias", "models:/<name>/<version> or models:/<name>@<alias>",
                    "write e.g. models:/fraud-xgb/5")
        return None
    scheme, _, rest = uri.partition("://")
    if scheme in ("file",):
        return None
    secret = _user_info(uri)
    if secret:
        return (f"model.uri carries credentials in its user-info ({scheme}://<user-info>@...)",
                "a URI without user-info; credentials come from the workload identity or serving.secret_env",
                "remove the user-info; name the secret in serving.secret_env (e.g. {AWS_SECRET_ACCESS_KEY: model-store-key}) "
                "and map it in each stack's modelfleet:secrets")
    host, _, path = rest.partition("/")
    if scheme in ("s3", "gs") and not host:
        return (f"{scheme}:// URI {uri!r} names no bucket", f"{scheme}://<bucket>/<prefix>", f"write e.g. {scheme}://acme-models/my-model/1.0/")
    if scheme == "az":
        if not AZ_ACCOUNT.match(host) or not AZ_CONTAINER.match(path.split("/", 1)[0]):
            return (f"az:// URI {uri!r} needs a storage account and a container", "az://<account>/<container>/<path> "
                    "(account: 3-24 lowercase letters/digits; container: 3-63 lowercase letters, digits, '-')",
                    "write e.g. az://acmemodels/models/llama3/1.4.0/")
    if scheme == "hf":
        repo = rest.partition(":")[0]
        if not HF_REPO.match(repo):
            return (f"hf:// URI {uri!r} is not <org>/<model>", "hf://<org>/<model>[:<revision>]",
                    "write e.g. hf://meta-llama/Llama-3.1-8B-Instruct")
    if scheme == "oci" and (not host or not path):
        return (f"oci:// URI {uri!r} names no repository", "oci://<registry>/<repository>[:tag|@sha256:<digest>]",
                "use the reference `modelfleet build` printed, e.g. oci://harbor.lab.local/ml/my-model@sha256:...")
    if scheme == "pvc":
        if not host:
            return (f"pvc:// URI {uri!r} names no PersistentVolumeClaim", "pvc://<claim>[/<path inside the claim>]",
                    "write e.g. pvc://model-store/llama3/1.4.0")
        if not DNS_SUBDOMAIN.match(host) or len(host) > 253:
            return (f"pvc:// claim name {host!r} is not a Kubernetes object name", "lowercase letters, digits, '-' and '.'",
                    "use the claim's name as `kubectl get pvc` shows it")
        if ".." in path.split("/"):
            return (f"pvc:// sub-path {path!r} leaves the claim", "a relative path inside the claim without '..'",
                    "point at the directory inside the claim")
    return None
