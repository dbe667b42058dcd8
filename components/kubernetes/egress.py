"""Where a model's pods may connect: the egress half of its NetworkPolicy.

Contract: `egress_rules(egress, endpoints, pod_identity_agent)` → the `egress` list of a
networking.k8s.io/v1 NetworkPolicy, or None when the stack leaves egress open
(`modelfleet:egress.open: true`). Preview summarizes them (`render_preview`).

What a serving pod needs, and nothing else:
- DNS (UDP and TCP 53) to any address: cluster DNS lives in kube-system, but NodeLocal
  DNSCache answers on a link-local address that no namespace selector matches.
- HTTPS (TCP 443) to any address except the cloud instance metadata service: the model
  store (S3, GCS, Azure Blob, the Hugging Face Hub), the identity token endpoints (STS,
  Entra ID) and registries all speak HTTPS. The metadata service is excluded so a pod can
  never borrow its node's credentials (it gets its own: Pod Identity / IRSA / AKS Workload
  Identity).
- EKS Pod Identity: the agent on each node (link-local, HTTP 80), when the stack uses it.
- The stack's own endpoints that are not on 443: the MLflow tracking server a `models:/`
  fetch asks, and KServe's payload-logger sink (`capture_url`). A `*.svc` host is matched
  by its namespace, anything else by port.
- `modelfleet:egress.allow`: CIDR + ports the stack names (an on-prem object store on its
  own port, an internal API a custom server calls).
Kubernetes applies NetworkPolicy only where the CNI enforces it (Calico, Cilium, the VPC
CNI with network policy enabled, Azure NPM/Cilium); the README says so.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from modelfleet.environment import METADATA_SERVICE, Egress

# EKS Pod Identity agent (EKS User Guide, "Set up the Amazon EKS Pod Identity Agent": it listens
# on 169.254.170.23 and [fd00:ec2::23]; "Understand how EKS Pod Identity works": the SDKs call
# AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials, i.e. port 80).
POD_IDENTITY_AGENT = ("169.254.170.23/32", "fd00:ec2::23/128")
POD_IDENTITY_PORT = 80
DNS_PORT = 53  # RFC 1035 §4.2: UDP, and TCP for large answers
HTTPS_PORT = 443
_ANYWHERE = {"IPv4": "0.0.0.0/0", "IPv6": "::/0"}


def _ports(numbers: list[int] | tuple[int, ...], *protocols: str) -> list[dict[str, Any]]:
    return [{"port": port, "protocol": protocol} for port in sorted(set(numbers)) for protocol in protocols]


def _anywhere_but_metadata(ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"to": [{"ipBlock": {"cidr": _ANYWHERE[family], "except": [METADATA_SERVICE[family]]}} for family in ("IPv4", "IPv6")],
            "ports": ports}


def endpoint_rule(url: str) -> dict[str, Any] | None:
    """The rule admitting an http(s) endpoint the pods call, or None when 443 already covers it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    labels = parts.hostname.split(".")
    if len(labels) >= 3 and labels[2] == "svc":  # <service>.<namespace>.svc[.cluster.local]
        return {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": labels[1]}}}],
                "ports": _ports([port], "TCP")}
    if port == HTTPS_PORT:
        return None
    return _anywhere_but_metadata(_ports([port], "TCP"))


def egress_rules(egress: Egress, endpoints: list[str], pod_identity_agent: bool) -> list[dict[str, Any]] | None:
    """The egress rules of a model's NetworkPolicy (None = egress not restricted)."""
    if egress.open:
        return None
    rules: list[dict[str, Any]] = [
        {"ports": _ports([DNS_PORT], "UDP", "TCP")},
        _anywhere_but_metadata(_ports([HTTPS_PORT], "TCP")),
    ]
    if pod_identity_agent:
        rules.append({"to": [{"ipBlock": {"cidr": cidr}} for cidr in POD_IDENTITY_AGENT],
                      "ports": _ports([POD_IDENTITY_PORT], "TCP")})
    for url in endpoints:
        rule = endpoint_rule(url)
        if rule is not None and rule not in rules:
            rules.append(rule)
    for allowed in egress.allow:
        rules.append({"to": [{"ipBlock": {"cidr": allowed.cidr}}], "ports": _ports(allowed.ports, allowed.protocol)})
    return rules

