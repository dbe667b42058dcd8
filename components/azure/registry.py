"""`AcrRegistry`: the stack's Azure Container Registry and who may pull from it.

- SKU by environment (`registry_sku`): Premium in production (the only tier with private
  endpoints, public-network lockdown and retention of untagged manifests), Basic in dev,
  Standard elsewhere.
- Admin user and anonymous pull off: pulls authenticate with Entra ID identities only.
- Production: public network access Disabled (trusted Azure services may still reach it);
  nodes and endpoints pull through the VNet's private endpoint, which the network
  landing zone owns. Untagged manifests are deleted after `retention_days`.
- `AcrPull` role assignments (`acr_pull`) for each principal in `pullers` (the AKS kubelet
  identity); an Azure ML endpoint assigns its own system identity with the same helper.
- The registry is retained when the stack is destroyed (images outlive deployments) and
  protected in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native

from components.azure.common import ACR_PULL_ROLE, role_definition_id


@dataclass(frozen=True)
class AcrRegistryArgs:
    """registry_name: globally unique, 5-50 alphanumerics; resource_group/location: where;
    sku: Basic | Standard | Premium (default Standard); production: private network + protect
    (default False, needs Premium); retention_days: untagged manifests kept (Premium only,
    default 7); pullers: role → principal id granted AcrPull; tags: on the registry."""

    registry_name: str
    resource_group: pulumi.Input[str]
    location: str
    sku: str = "Standard"
    production: bool = False
    retention_days: int = 7
    pullers: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class AcrRegistry(pulumi.ComponentResource):
    login_server: pulumi.Output[str]
    id: pulumi.Output[str]

    def __init__(self, name: str, args: AcrRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:azure:AcrRegistry", name, None, opts)
        premium = args.sku == "Premium"
        private = args.production and premium
        registry = azure_native.containerregistry.Registry(
            f"{name}-registry",
            registry_name=args.registry_name,
            resource_group_name=args.resource_group,
            location=args.location,
            sku={"name": args.sku},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access="Disabled" if private else "Enabled",
            # with public access off, Azure ML image builds and Defender scans still need to reach it
            network_rule_bypass_options="AzureServices",
            policies={"retention_policy": {"status": "enabled", "days": args.retention_days}} if premium else None,
            tags=args.tags,
            # images outlive any one deployment: destroying the stack must not delete them
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, protect=args.production),
        )
        self.id = registry.id
        self.login_server = registry.login_server
        self.registry = registry
        for role, principal in sorted(args.pullers.items()):
            acr_pull(f"{name}-pull-{role}", registry.id, principal, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"login_server": self.login_server, "id": self.id})


def registry_sku(environment: str, production: bool) -> str:
    """Premium in production, Basic in dev, Standard elsewhere (staging, test, ...)."""
    if production:
        return "Premium"
    return "Basic" if environment.lower() in ("dev", "development") else "Standard"


def acr_pull(name: str, registry_id: pulumi.Input[str], principal_id: pulumi.Input[str],
             opts: pulumi.ResourceOptions | None = None) -> azure_native.authorization.RoleAssignment:
    """AcrPull on one registry for one service principal / managed identity."""
    return azure_native.authorization.RoleAssignment(
        name,
        scope=registry_id,
        role_definition_id=role_definition_id(registry_id, ACR_PULL_ROLE),
        principal_id=principal_id,
        # managed identities are service principals; saying so skips the directory lookup that
        # fails while a just-created identity is still replicating
        principal_type="ServicePrincipal",
        opts=opts,
    )


