"""Azure rules: ACR registries (no admin user, private in prod), AKS GPU agent pools
(encryption at host) and Azure ML online endpoints (Entra ID auth, private in prod).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._rule import Rule, environments_param


def acr_admin_disabled(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.truthy(u.get(props, "adminUserEnabled")):
        return []
    return [
        (
            "The registry's shared admin user is enabled. To fix: set adminUserEnabled: false and grant AcrPull "
            "to the cluster or endpoint identity."
        )
    ]


def acr_private(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]) or u.get(props, "publicNetworkAccess") == "Disabled":
        return []
    return [
        (
            f"The registry is reachable from the internet in {u.environment(config)}. To fix: set "
            "publicNetworkAccess: Disabled (Premium SKU) and reach it through a private endpoint."
        )
    ]


def encryption_at_host(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if u.truthy(u.get(props, "enableEncryptionAtHost")):
        return []
    return ["The agent pool does not encrypt temp disks and caches at host. To fix: set enableEncryptionAtHost: true."]


def aml_auth(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    mode = u.get_any(props, "properties.authMode", "onlineEndpointProperties.authMode")
    if mode == "AADToken":
        return []
    return [
        (
            f"The endpoint uses authMode {mode or 'unset'} in {u.environment(config)}; keys cannot be scoped or "
            "audited per caller. To fix: set the endpoint authMode to AADToken (network.auth: token in the model spec)."
        )
    ]


def aml_private(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    if u.get_any(props, "properties.publicNetworkAccess", "onlineEndpointProperties.publicNetworkAccess") == "Disabled":
        return []
    return [
        (
            f"The endpoint accepts traffic from the internet in {u.environment(config)}. To fix: set "
            "the endpoint publicNetworkAccess to Disabled (network.public: false in the model spec)."
        )
    ]


def _z(
    rule_id: str,
    desc: str,
    why: str,
    refs: tuple[str, ...],
    fn: Any,
    types: tuple[str, ...],
    envs: list[str] | None = None,
) -> Rule:
    params = environments_param(envs)
    return Rule(rule_id, "azure", "mandatory", desc, why, refs, "resource", fn, types, params)


RULES = [
    _z(
        "MF-AZ-001",
        "ACR admin user is disabled",
        "The admin user is one shared password with push rights.",
        ("CKV_AZURE_137",),
        acr_admin_disabled,
        (u.ACR,),
    ),
    _z(
        "MF-AZ-002",
        "ACR public network access is off in production",
        "Production images should only be pulled over private networking.",
        ("CKV_AZURE_139",),
        acr_private,
        (u.ACR,),
        ["prod"],
    ),
    _z(
        "MF-AZ-003",
        "AKS GPU agent pools encrypt at host",
        "Temp disks on GPU VMs cache model weights.",
        ("CKV_AZURE_227",),
        encryption_at_host,
        (u.AKS_POOL,),
    ),
    _z(
        "MF-AZ-004",
        "Azure ML endpoints use Entra ID (AADToken) auth in production",
        "Keys are long-lived shared secrets; Entra ID tokens are per-identity and revocable.",
        (),
        aml_auth,
        (u.AML_ENDPOINT,),
        ["prod"],
    ),
    _z(
        "MF-AZ-005",
        "Azure ML endpoints disable public network access in production",
        "Private endpoints keep prompts and responses off the internet.",
        (),
        aml_private,
        (u.AML_ENDPOINT,),
        ["prod"],
    ),
]
