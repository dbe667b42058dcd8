"""Container image references and registry locations, checked against the grammar registries use.

Contract: `image_problem(ref)` / `registry_problem(url)` → None, or (message, allowed, fix).
Nothing here touches the network. The grammar is distribution/reference's (reference.go,
v0.6.0, the package Docker, containerd and Kubernetes vendor):

    reference  := name [":" tag] ["@" digest]
    name       := [domain "/"] path-component ["/" path-component]*
    domain     := domain-component ["." domain-component]* [":" port]
    path-component := [a-z0-9]+ (separator [a-z0-9]+)*,  separator := [_.] | "__" | "-"+
    tag        := [\\w][\\w.-]{0,127}
    digest     := algorithm ":" hex

Stricter than the grammar on purpose: the host must be lower-case (registry hosts are
case-insensitive, and an upper-case one reads as a path to Docker's normaliser), and a
sha256 digest must be exactly 64 lower-case hex characters (OCI image-spec v1.1,
descriptor.md "Registered algorithms": sha256 encoded as [a-f0-9]{64}); sha512 128.
"""

from __future__ import annotations

import re

_DOMAIN_COMPONENT = r"(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-f:]+\])(?::[0-9]{{1,5}})?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
DIGESTS = {"sha256": 64, "sha512": 128}
_DIGEST = r"(?P<algorithm>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):(?P<hex>[0-9a-zA-Z]+)"
REFERENCE = re.compile(
    rf"^(?P<name>(?:(?P<domain>{_DOMAIN})/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)(?::(?P<tag>{_TAG}))?(?:@{_DIGEST})?$")
REGISTRY = re.compile(rf"^(?P<domain>{_DOMAIN})(?:/{_PATH_COMPONENT})*$")
# the first component is a registry host when it has a '.' or ':' or is localhost (Docker's normaliser)
_IS_HOST = re.compile(r"^(?:localhost|[^/]*[.:][^/]*)/", re.IGNORECASE)
EXAMPLE = "registry.example.com/team/server:1.2.0@sha256:<64 hex>"


def image_problem(ref: str) -> tuple[str, str, str] | None:
    """(message, allowed, fix) when `ref` is not a usable image reference."""
    allowed = f"[host[:port]/]path[:tag][@sha256:<64 hex>], lower-case path, e.g. {EXAMPLE}"
    if ref != ref.strip() or any(c.isspace() for c in ref):
        return "the image reference contains whitespace", allowed, "remove the spaces and line breaks"
    if len(ref) > 512:
        return "the image reference is longer than 512 characters", allowed, "shorten the repository path"
    if _IS_HOST.match(ref) and ref.split("/", 1)[0] != ref.split("/", 1)[0].lower():
        return "the registry host is not lower-case", allowed, f"write the host as {ref.split('/', 1)[0].lower()}"
    match = REFERENCE.match(ref)
    if match is None:
        if ref.endswith(":") or ":@" in ref:
            return "the image reference has an empty tag", allowed, "write a tag after ':' or remove the ':'"
        return "the image reference does not follow the registry grammar", allowed, "use lower-case letters, digits and . _ - in the path; a tag of letters, digits, _ . -"
    algorithm, hex_ = match["algorithm"], match["hex"]
    if algorithm is not None:
        length = DIGESTS.get(algorithm)
        if length is None:
            return f"digest algorithm {algorithm!r} is not one registries accept", "sha256 or sha512", "pin with the sha256 digest the registry reports"
        if len(hex_) != length or not re.fullmatch(r"[0-9a-f]+", hex_):
            return (f"the {algorithm} digest is not {length} lower-case hex characters", f"@{algorithm}:<{length} characters 0-9 a-f>",
                    "copy the digest from `docker inspect` or the registry (modelfleet build prints it)")
    return None


def registry_problem(url: str) -> tuple[str, str, str] | None:
    """(message, allowed, fix) when `url` is not host[:port][/path] of a registry."""
    allowed = "host[:port][/path] in lower case, without scheme or credentials, e.g. harbor.lab.local/ml"
    if "://" in url:
        return "the registry url has a scheme", allowed, f"write it without the scheme: {url.split('://', 1)[1].split('@')[-1]}"
    if "@" in url:
        return "the registry url carries user-info", allowed, "remove the credentials; set pull_secret to a Secret holding them"
    if REGISTRY.match(url) is None:
        return "the registry url is not host[:port][/path]", allowed, "use lower-case letters, digits, '.', '-' in the host and path"
    return None
