"""Names that reach Kubernetes, AWS and Azure: label keys and values, tag keys, env var names,
and the namespaces a model may not take.

Contract: each `*_problem(value)` returns None or (message, allowed, fix).

Sources (facts about the outside world):
- Label keys and values: Kubernetes "Labels and Selectors" (v1.31 docs): value ≤ 63
  characters, empty or [A-Za-z0-9] at both ends with [-_.A-Za-z0-9] between; key = optional
  DNS-subdomain prefix (≤ 253) + '/' + name of the value grammar (≤ 63, non-empty).
  Prefixes `kubernetes.io/` and `k8s.io/` are reserved for Kubernetes core components.
- AWS tags: "Tagging AWS resources" — the `aws:` prefix is reserved for AWS.
- Azure tags: "Use tags to organize your Azure resources" — names cannot contain
  `<`, `>`, `%`, `&`, `\\`, `?`, `/`.
- Env var names: the portable POSIX shell name grammar [A-Za-z_][A-Za-z0-9_]* (SageMaker's
  CreateModel Environment keys and Azure ML environment_variables accept the same).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
AZURE_TAG_FORBIDDEN = set('<>%&\\?/')

# modelfleet sets these on every resource; a stack tag must not replace or shadow them
OWN_PREFIXES = ("app.kubernetes.io/", "modelfleet.io/", "modelfleet:")
RESERVED_PREFIXES = (*OWN_PREFIXES, "kubernetes.io/", "k8s.io/", "aws:")
OWN_KEYS = ("owner", "managed-by")

LABEL_VALUE_ALLOWED = "at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit"


def label_value_problem(value: str) -> tuple[str, str, str] | None:
    if LABEL_VALUE.match(value) is None:
        cleaned = re.sub(r"[^-A-Za-z0-9_.]+", "-", value).strip("-_.")[:63].strip("-_.")
        return (f"{value!r} is not a valid label value", LABEL_VALUE_ALLOWED,
                f"write it as {cleaned!r}" if cleaned else "use letters and digits")
    return None


def tag_key_problem(key: str, *, azure: bool = False) -> tuple[str, str, str] | None:
    lowered = key.lower()
    for prefix in RESERVED_PREFIXES:
        if lowered.startswith(prefix):
            owner = "modelfleet" if prefix in OWN_PREFIXES else "the platform"
            return (f"tag key {key!r} uses the prefix {prefix!r}, reserved for {owner}", "a key outside "
                    + ", ".join(RESERVED_PREFIXES), "rename the key, e.g. with your organisation's prefix (acme.com/team)")
    if lowered in OWN_KEYS:
        return (f"tag key {key!r} is set by modelfleet (spec owner / managed-by) and would be ignored", f"any key except {', '.join(OWN_KEYS)}",
                "remove it; set owner in the spec (or modelfleet:owner for shared resources)")
    prefix, slash, name = key.rpartition("/")
    allowed = "[DNS-subdomain prefix/]name, name ≤ 63 of letters, digits, '-', '_', '.'"
    if not LABEL_NAME.match(name) or (slash and (not prefix or len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix))):
        return f"tag key {key!r} is not a valid Kubernetes label key", allowed, "use e.g. cost-center or acme.com/cost-center"
    if azure and AZURE_TAG_FORBIDDEN & set(key):
        return (f"tag key {key!r} contains a character Azure tag names refuse", "no < > % & \\ ? /",
                "drop the prefix, e.g. cost-center")
    return None


def env_name_problem(name: str) -> tuple[str, str, str] | None:
    if ENV_NAME.match(name) is None:
        cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "MY_VAR"
        return (f"{name!r} is not an environment variable name", "[A-Za-z_][A-Za-z0-9_]*",
                f"rename it, e.g. {cleaned if not cleaned[0].isdigit() else '_' + cleaned!r}")
    return None


# Namespaces a model may not take: Kubernetes' own (Namespaces docs: default, kube-system,
# kube-public, kube-node-lease), every namespace an add-on chart in modelfleet/data installs
# into (read from the data, so a new chart is covered), and those of add-ons a stack may
# declare `present` (their upstream install guides' namespaces). tests check that every
# namespace a bundled plan uses for shared resources is reserved.
KUBERNETES_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PRESENT_ADDON_NAMESPACES = ("keda", "kserve", "knative-serving", "istio-system", "monitoring", "gpu-operator",
                            "karpenter", "external-secrets", "argo-rollouts", "cert-manager", "argocd", "flux-system")
_ADDON_DATA = ("runtime_images.json", "node_autoscalers.json")


def _namespaces_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["namespace"]} if isinstance(value.get("namespace"), str) else set()
        return found.union(*(_namespaces_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_namespaces_in(v) for v in value))
    return set()


@lru_cache(maxsize=1)
def reserved_namespaces() -> tuple[str, ...]:
    data: set[str] = set()
    for name in _ADDON_DATA:
        data |= _namespaces_in(json.loads(resources.files("modelfleet.data").joinpath(name).read_text(encoding="utf-8")))
    return tuple(sorted({*KUBERNETES_NAMESPACES, *PRESENT_ADDON_NAMESPACES, *data}))


def namespace_problem(name: str) -> tuple[str, str, str] | None:
    reserved = reserved_namespaces()
    if name in reserved or name.startswith("kube-"):
        return (f"a model named {name!r} would be deployed into the namespace {name!r}, which Kubernetes or the stack's add-ons own",
                "any name except " + ", ".join(reserved) + " and kube-*", f"rename the model, e.g. {name}-model")
    return None
