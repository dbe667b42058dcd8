"""Registry credentials for `modelfleet build --push`, per registry kind of the stack.

Contract: `login_for(stack, registry_override)` → `Login(host, repository_prefix, username,
password)`; `username`/`password` are None when the docker config (`~/.docker/config.json`,
credential helpers included) should be used as is. Failures raise `EnvironmentError_` (exit 3)
with what to set.

- ecr: `ecr:GetAuthorizationToken` through boto3 (the usual AWS credential chain); the token
  decodes to `AWS:<password>`; the host is the token's `proxyEndpoint` (the preview's ECR URL
  is a placeholder) unless `--registry` overrides it. Repository: `<stack>/<model>`, the
  name the stack's `EcrRepository` creates.
- acr: an Entra ID (AAD) access token for `https://management.azure.com/` from
  `MODELFLEET_AZURE_ACCESS_TOKEN` / `AZURE_ACCESS_TOKEN`, else from `azure-identity`'s
  `DefaultAzureCredential` when that package is installed, is exchanged at
  `https://<registry>/oauth2/exchange` for an ACR refresh token; docker logs in with the
  user `00000000-0000-0000-0000-000000000000` and that token (what `az acr login` does).
  The host is `--registry` or `<acr name>.azurecr.io` as the stack names it.
- external: `MODELFLEET_REGISTRY_USERNAME` / `MODELFLEET_REGISTRY_PASSWORD` when set, else
  the docker config. Host and path from `modelfleet:registry.url`.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from modelfleet.environment import AnyStack, KubernetesStack
from modelfleet.errors import EnvironmentError_
from modelfleet.naming import fit

ACR_USER = "00000000-0000-0000-0000-000000000000"
ARM_SCOPE = "https://management.azure.com/.default"
ENV_USER = "MODELFLEET_REGISTRY_USERNAME"
ENV_PASSWORD = "MODELFLEET_REGISTRY_PASSWORD"
ENV_AAD_TOKENS = ("MODELFLEET_AZURE_ACCESS_TOKEN", "AZURE_ACCESS_TOKEN")


@dataclass(frozen=True)
class Login:
    """Where to push and with which credentials (None = use the docker config)."""

    host: str
    prefix: str
    username: str | None = None
    password: str | None = None

    def repository(self, stack: str, model: str, kind: str) -> str:
        """Full repository (host/path/name) for a model's images."""
        name = fit(f"{stack}/{model}", 256, invalid=r"[^a-z0-9/_-]") if kind == "ecr" else model
        return "/".join(p for p in (self.host, self.prefix, name) if p)

    @property
    def auth_config(self) -> dict[str, str] | None:
        if self.username is None or self.password is None:
            return None
        return {"username": self.username, "password": self.password, "serveraddress": self.host}


def split_url(url: str) -> tuple[str, str]:
    """`https://host:5000/path/` → (`host:5000`, `path`)."""
    bare = url.split("://", 1)[-1].strip("/")
    host, _, prefix = bare.partition("/")
    return host, prefix


def ecr_login(region: str | None, registry_override: str | None) -> Login:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as e:
        raise EnvironmentError_("boto3 is not installed. To fix: pip install 'modelfleet[aws]'") from e
    try:
        data = boto3.client("ecr", region_name=region).get_authorization_token()["authorizationData"][0]
    except (BotoCoreError, ClientError) as e:
        raise EnvironmentError_(f"cannot get an ECR authorization token: {e}. "
                                "To fix: configure AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID/...) with ecr:GetAuthorizationToken") from e
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    host, prefix = split_url(registry_override or data["proxyEndpoint"])
    return Login(host, prefix, username, password)


def aad_token() -> str:
    for name in ENV_AAD_TOKENS:
        if os.environ.get(name):
            return os.environ[name]
    try:
        from azure.identity import DefaultAzureCredential  # type: ignore[import-not-found]
    except ImportError as e:
        raise EnvironmentError_("no Entra ID access token for ACR. To fix: export MODELFLEET_AZURE_ACCESS_TOKEN="
                                "$(az account get-access-token --query accessToken -o tsv), or pip install azure-identity") from e
    from azure.core.exceptions import AzureError  # type: ignore[import-not-found]

    try:
        return str(DefaultAzureCredential().get_token(ARM_SCOPE).token)
    except AzureError as e:
        raise EnvironmentError_(f"azure-identity could not get a token: {e}. To fix: az login, or set AZURE_CLIENT_ID/SECRET/TENANT_ID") from e


def acr_exchange(host: str, access_token: str, *, scheme: str = "https", timeout: float = 30) -> str:
    """Exchange an Entra access token for an ACR refresh token (`/oauth2/exchange`)."""
    body = urllib.parse.urlencode({"grant_type": "access_token", "service": host, "access_token": access_token}).encode()
    request = urllib.request.Request(f"{scheme}://{host}/oauth2/exchange", data=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL built from the registry host
            return str(json.loads(response.read())["refresh_token"])
    except (urllib.error.URLError, KeyError, ValueError) as e:
        raise EnvironmentError_(f"ACR token exchange at {host} failed: {e}. "
                                "To fix: check the registry name (--registry NAME.azurecr.io) and that your identity has AcrPush on it") from e


def acr_host(stack: AnyStack) -> str:
    from modelfleet.naming import acr_name

    if isinstance(stack, KubernetesStack) and stack.cluster.kind == "aks":
        scope = f"{stack.cluster.resource_group or ''}/{stack.cluster.name}/{stack.region or ''}"
    else:
        workspace = getattr(stack, "workspace", None)
        scope = f"{getattr(workspace, 'resource_group', '') or ''}/{getattr(workspace, 'name', '') or ''}/{stack.region or ''}"
    return f"{acr_name(stack.stack, scope)}.azurecr.io"


def login_for(stack: AnyStack, registry_override: str | None = None) -> Login:
    """Credentials and target for the stack's registry kind."""
    kind = stack.registry.kind
    if kind == "ecr":
        return ecr_login(stack.region, registry_override)
    if kind == "acr":
        host, prefix = split_url(registry_override or acr_host(stack))
        return Login(host, prefix, ACR_USER, acr_exchange(host, aad_token()))
    host, prefix = split_url(registry_override or stack.registry.url or "")
    user, password = os.environ.get(ENV_USER), os.environ.get(ENV_PASSWORD)
    return Login(host, prefix, user, password) if user and password else Login(host, prefix)


def target_for(stack: AnyStack, registry_override: str | None = None) -> Login:
    """Where images are tagged for, without credentials (for builds that do not push)."""
    if registry_override:
        return Login(*split_url(registry_override))
    if stack.registry.kind == "external":
        return Login(*split_url(stack.registry.url or ""))
    if stack.registry.kind == "acr":
        return Login(*split_url(acr_host(stack)))
    # ECR's host is only known from an authorization token: local builds get a host-less name
    return Login("", "")
