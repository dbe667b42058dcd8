"""Network exposure rules: nothing reaches a model from the internet without authentication in
production, on any platform.

- Kubernetes: modelfleet puts no authentication in front of a Service (a public model with
  `auth: token` is refused at validation), so a model Service of type LoadBalancer or
  NodePort is an unauthenticated internet endpoint (`network.public: true, auth: none`).
- Azure ML online endpoints: public network access with no `authMode` (or `authMode` none).
- SageMaker endpoints are always called with IAM SigV4; nothing to flag there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._rule import ENVIRONMENTS_SCHEMA, Rule

SERVICE = "kubernetes:core/v1:Service"
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")
# Azure ML REST API 2024-04-01, OnlineEndpoint.authMode: AMLToken | Key | AADToken
AML_AUTH_MODES = ("AMLToken", "Key", "AADToken")


def no_anonymous_internet_access(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    env = u.environment(config)
    if resource_type == SERVICE:
        kind = u.get(props, "spec.type")
        labels = u.get(props, "metadata.labels")
        model = labels.get("modelfleet.io/model") if u.is_map(labels) else None
        if model and kind in EXPOSED_SERVICE_TYPES:
            return [f"Model {model} is exposed to the internet without authentication (Service type {kind}) in {env}. "
                    "To fix: set network.public: false and publish it through a gateway that authenticates callers, "
                    "or network.auth: token on a platform that enforces it (SageMaker, Azure ML)."]
        return []
    endpoint = u.get(props, "onlineEndpointProperties") or {}
    if u.get(endpoint, "publicNetworkAccess") == "Enabled" and u.get(endpoint, "authMode") not in AML_AUTH_MODES:
        return [f"The online endpoint accepts anonymous traffic from the internet in {env}. To fix: set authMode "
                "AADToken (network.auth: token), or publicNetworkAccess Disabled (network.public: false)."]
    return []


RULES = [
    Rule("MF-NET-001", "network", "mandatory", "No unauthenticated model endpoint is reachable from the internet in production",
         "An anonymous public endpoint lets anyone run the model on the company's GPUs and read what it returns.",
         (), "resource", no_anonymous_internet_access, (SERVICE, u.AML_ENDPOINT),
         {"environments": {**ENVIRONMENTS_SCHEMA, "default": ["prod"]}}),
]
