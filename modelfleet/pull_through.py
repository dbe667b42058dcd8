"""ECR pull-through cache: how a SageMaker stack serves an image published outside Amazon ECR.

SageMaker pulls serving images from Amazon ECR only. For the upstream registries ECR can mirror
(`modelfleet/data/ecr_pull_through.json`, with its sources), the stack creates one pull-through
cache rule per upstream registry used, and the model runs the image from the cache path
`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<repository>[:tag|@digest]`. Registries ECR
cannot mirror (a private Harbor, ...) stay an error that names `modelfleet build --push`.

Contract (pure; imports nothing from the stack model, which uses `setting_problem` to validate):
- `upstream_for(host)` → the `Upstream` ECR mirrors for a registry host, or None.
- `setting_problem(host, credential, prefix, region)` → None or (message, allowed, fix) for one
  `modelfleet:pull_through.<host>` entry.
- `resolve(image, settings, stack)` → (`CachedImage` | None, problem | None): how one non-ECR image
  is pulled, or why it cannot be (no pull-through support; a credential the stack does not give).
  Rule prefixes are unique per account and Region and stacks may share an account, so the default
  prefix is `<stack>/<registry>` (e.g. `sagemaker-prod/github`): each stack owns its rules and cache.
  A registry that needs a credential the stack does not name uses the secret NAMED
  `ecr-pullthroughcache/<registry>` (e.g. `ecr-pullthroughcache/github`: the name the ECR console
  proposes, one per account and Region), looked up at deploy time (`CachedImage.credential_name`);
  `pulumi up` stops there if it does not exist, and preview says so (`credential_note`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from modelfleet.references import REFERENCE
from modelfleet.secret_refs import SECRETS_MANAGER_ARN

DOCKER_HUB = "docker.io"  # the registry of a reference without a host (Docker's normaliser)
BUILD_FIX = ("push the image to the stack's ECR repository with `modelfleet build MODEL --stack S --push` and "
             "reference it by its ECR URI")


@dataclass(frozen=True)
class Upstream:
    """One registry family ECR mirrors: `hosts` may hold one `*.domain` pattern (Azure)."""

    upstream: str
    hosts: tuple[str, ...]
    url: str
    prefix: str
    credential: bool
    official_namespace: str = ""

    def matches(self, host: str) -> bool:
        return any(host == h or (h.startswith("*.") and host.endswith(h[1:]) and host != h[2:]) for h in self.hosts)


@dataclass(frozen=True)
class CachedImage:
    """One image served through a pull-through cache rule."""

    source: str  # the reference as written
    upstream: Upstream
    host: str
    upstream_url: str  # the rule's upstreamRegistryUrl
    prefix: str  # the rule's ecrRepositoryPrefix
    repository: str  # the repository below the prefix, e.g. org/server or library/nginx
    reference: str  # ":tag", "@sha256:…" or both, as written ("" = latest)
    credential_arn: str | None
    credential_name: str | None = None  # looked up by name at deploy time when the stack gives no ARN

    def uri(self, account: str, region: str) -> str:
        return f"{account}.dkr.ecr.{region}.{_dns_suffix(region)}/{self.prefix}/{self.repository}{self.reference}"

    def repository_arn(self, partition: str, account: str, region: str) -> str:
        """The cached repository: what the execution role pulls and imports into, nothing else."""
        return f"arn:{partition}:ecr:{region}:{account}:repository/{self.prefix}/{self.repository}"


def _dns_suffix(region: str) -> str:  # China Regions serve ECR under amazonaws.com.cn (as ECR_IMAGE accepts)
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


@lru_cache(maxsize=1)
def facts() -> dict[str, Any]:
    text = resources.files("modelfleet.data").joinpath("ecr_pull_through.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def upstreams() -> tuple[Upstream, ...]:
    return tuple(Upstream(r["upstream"], tuple(r["hosts"]), r["url"], r["prefix"], r["credential"], r.get("official_namespace", ""))
                 for r in facts()["registries"])


def supported_hosts() -> str:
    return ", ".join(h for u in upstreams() for h in u.hosts)


def upstream_for(host: str) -> Upstream | None:
    return next((u for u in upstreams() if u.matches(host)), None)


def _rule_prefix(upstream: Upstream, host: str, stack: str) -> str:
    """`<stack>/<registry prefix>` within the prefix length, in the characters a prefix allows."""
    hi = facts()["prefix_length"][1]
    registry = upstream.prefix.replace("{name}", host.split(".", 1)[0])[:hi - 2].rstrip("-._")
    owner = re.sub(r"[^a-z0-9]+", "-", stack.lower()).strip("-")[:hi - len(registry) - 1].rstrip("-")
    return f"{owner}/{registry}" if owner else registry


def setting_problem(host: str, credential: str | None, prefix: str | None, region: str | None) -> tuple[str, str, str] | None:
    upstream = upstream_for(host)
    if upstream is None:
        return (f"ECR has no pull-through cache for registry {host!r}", supported_hosts(),
                f"remove the entry and {BUILD_FIX}")
    # no credential for a registry that needs one: the conventional secret by name (resolve, credential_note)
    if credential is not None:
        if not upstream.credential:
            return (f"{host} needs no credential for ECR pull-through (it is pulled anonymously)", "no credential",
                    "remove credential")
        match = SECRETS_MANAGER_ARN.match(credential)
        wanted = facts()["credential_secret_prefix"]
        if match is None or not match["name"].startswith(wanted):
            return (f"credential {credential!r} is not the ARN of a Secrets Manager secret whose name starts with {wanted}",
                    f"arn:aws:secretsmanager:<region>:<account>:secret:{wanted}<name>-<6 characters>",
                    f"ECR reads upstream credentials only from secrets named {wanted}…: create one and give its full ARN")
        if region and match["region"] != region:
            return (f"credential secret is in {match['region']}, but the stack deploys to {region}; ECR reads the "
                    "credential from the rule's own account and Region", f"a secret in {region}",
                    f"copy the secret to {region} and give that ARN")
    if prefix is not None:
        lo, hi = facts()["prefix_length"]
        if not (lo <= len(prefix) <= hi) or not re.match(facts()["prefix_pattern"], prefix) or prefix == "ROOT":
            return (f"prefix {prefix!r} is not an ECR repository prefix", f"{lo}-{hi} lower-case letters, digits, '.', '_', '-', '/'",
                    f"use e.g. {_rule_prefix(upstream, host, 'my-stack')}")
    return None


def _split(image: str) -> tuple[str, str, str]:
    """(host, repository path, ":tag@digest" suffix) of a valid reference; no host = Docker Hub."""
    match = REFERENCE.match(image)
    assert match is not None, image  # validated where the spec or stack loads
    name = match["name"]
    host = match["domain"] or ""
    if host and not ("." in host or ":" in host or host == "localhost"):
        host = ""  # a first component without '.' or ':' is a Docker Hub namespace, not a host
    path = name[len(host) + 1:] if host else name
    return host or DOCKER_HUB, path, image[len(name):]


def _setting_for(host: str, upstream: Upstream, settings: dict[str, Any]) -> Any:
    """The stack's entry for this registry: written as the image's host, or any alias of a fixed-host
    registry (docker.io for registry-1.docker.io); each Azure registry is its own entry."""
    wildcard = any(h.startswith("*.") for h in upstream.hosts)
    return next((v for k, v in settings.items() if k == host or (not wildcard and k in upstream.hosts)), None)


def resolve(image: str, settings: dict[str, Any], stack: str) -> tuple[CachedImage | None, tuple[str, str] | None]:
    """`settings`: the stack's `modelfleet:pull_through` (host → entry with `credential`, `prefix`).
    Returns the cached image, or (problem, fix) when the image cannot reach SageMaker."""
    host, path, reference = _split(image)
    upstream = upstream_for(host)
    if upstream is None:
        return None, (f"{host} has no ECR pull-through cache (ECR mirrors {supported_hosts()})", BUILD_FIX)
    setting = _setting_for(host, upstream, settings)
    credential = getattr(setting, "credential", None)
    if upstream.official_namespace and "/" not in path:
        path = f"{upstream.official_namespace}/{path}"
    prefix = getattr(setting, "prefix", None) or _rule_prefix(upstream, host, stack)
    url = upstream.url.replace("{host}", host)
    by_name = default_credential_name(upstream, host) if upstream.credential and credential is None else None
    return CachedImage(image, upstream, host, url, prefix, path, reference, credential, by_name), None


def default_credential_name(upstream: Upstream, host: str) -> str:
    """The secret a registry's credential is read from when the stack names none: `ecr-pullthroughcache/<registry>`."""
    return facts()["credential_secret_prefix"] + upstream.prefix.replace("{name}", host.split(".", 1)[0])


def credential_note(cached: CachedImage) -> str | None:
    """What preview says when the credential is looked up by name (None when the stack gives its ARN or none is needed)."""
    if cached.credential_name is None:
        return None
    return (f"{cached.host} needs a credential: `pulumi up` reads the Secrets Manager secret named {cached.credential_name} in the "
            "stack's account and Region, and stops if it does not exist. Create it with the registry user name and an access "
            f"token (keys username and accessToken: aws secretsmanager create-secret --name {cached.credential_name} "
            "--secret-string '{\"username\": \"…\", \"accessToken\": \"…\"}'), or name another secret in "
            f"modelfleet:pull_through: {{{cached.host}: {{credential: <ARN>}}}}")
