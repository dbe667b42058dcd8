"""`MLWorkspace`: an Azure ML workspace with the resources it requires, for `create: true` stacks.

Children: StorageAccount (no public blob access, no shared keys, TLS 1.2), Key Vault (RBAC,
purge protection), Log Analytics workspace + workspace-based Application Insights (classic
Application Insights can no longer be created), and the Workspace itself with a system
identity, linked to the stack's ACR when there is one. In production the workspace and its
stores refuse public network access, everything is protected, and the workspace's managed virtual
network allows only approved outbound traffic (`AllowOnlyApprovedOutbound`): besides the workspace's
own stores and linked registry (rules Azure ML adds itself), a private-endpoint outbound rule (`blob`)
for each storage account the models' weights come from (`blob_accounts`). Managed online deployments
in such a workspace reach nothing else ("Workspace managed virtual network isolation",
azure-ai-docs how-to-managed-network.md: private endpoint outbound rules, subresource_target blob).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from modelfleet.naming import fit, short_hash


@dataclass(frozen=True)
class MLWorkspaceArgs:
    """workspace_name / resource_group / location: where; registry_id: ACR to link (None =
    Azure ML creates its own on first image build); production: private + protect (default
    False); tags."""

    workspace_name: str
    resource_group: pulumi.Input[str]
    location: str
    registry_id: pulumi.Input[str] | None = None
    production: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    blob_accounts: dict[str, str] = field(default_factory=dict)  # storage account name -> resource id (weights)


def _store_name(prefix: str, workspace: str, limit: int) -> str:
    """Globally unique store names (storage ≤ 24 lowercase alphanumerics, vault ≤ 24): prefix + head + hash."""
    head = "".join(c for c in workspace.lower() if c.isalnum())[: limit - len(prefix) - 8]
    return fit(f"{prefix}{head}{short_hash(workspace, 8)}", limit, invalid=r"[^a-z0-9]", sep="")


def managed_network(blob_accounts: dict[str, str]) -> azure_native.machinelearningservices.ManagedNetworkSettingsArgs:
    """Approved outbound only, plus one private endpoint (blob) per storage account holding model weights."""
    ml = azure_native.machinelearningservices
    rules = {fit(f"weights-{account}", 60): ml.PrivateEndpointOutboundRuleArgs(
        type="PrivateEndpoint", category="UserDefined",
        destination=ml.PrivateEndpointDestinationArgs(service_resource_id=rid, subresource_target="blob", spark_enabled=False))
        for account, rid in sorted(blob_accounts.items())}
    return ml.ManagedNetworkSettingsArgs(isolation_mode="AllowOnlyApprovedOutbound", outbound_rules=rules or None)


class MLWorkspace(pulumi.ComponentResource):
    workspace_name: pulumi.Output[str]

    def __init__(self, name: str, args: MLWorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:azure:MLWorkspace", name, None, opts)
        keep = pulumi.ResourceOptions(parent=self, protect=args.production)
        public = "Disabled" if args.production else "Enabled"
        where: dict[str, Any] = {"resource_group_name": args.resource_group, "location": args.location, "tags": args.tags}
        storage = azure_native.storage.StorageAccount(
            f"{name}-storage", account_name=_store_name("mlst", args.workspace_name, 24), kind="StorageV2",
            sku={"name": "Standard_ZRS" if args.production else "Standard_LRS"},
            allow_blob_public_access=False, allow_shared_key_access=False, minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True, public_network_access=public, **where, opts=keep)
        client = azure_native.authorization.get_client_config_output()
        vault = azure_native.keyvault.Vault(  # type: ignore[call-overload]
            f"{name}-keyvault", vault_name=_store_name("mlkv", args.workspace_name, 24),
            properties={"tenant_id": client.tenant_id, "sku": {"family": "A", "name": "standard"},
                        "enable_rbac_authorization": True, "enable_purge_protection": True,
                        "enable_soft_delete": True, "public_network_access": public},
            **where, opts=keep)
        logs = azure_native.operationalinsights.Workspace(
            f"{name}-logs", workspace_name=fit(f"{args.workspace_name}-logs", 63),
            sku={"name": "PerGB2018"}, retention_in_days=90 if args.production else 30, **where, opts=keep)
        insights = azure_native.applicationinsights.Component(
            f"{name}-insights", resource_name_=fit(f"{args.workspace_name}-insights", 255), kind="web",
            application_type="web", ingestion_mode="LogAnalytics", workspace_resource_id=logs.id, **where, opts=keep)
        workspace = azure_native.machinelearningservices.Workspace(  # type: ignore[call-overload]
            f"{name}-workspace", workspace_name=args.workspace_name, identity={"type": "SystemAssigned"},
            sku={"name": "Basic", "tier": "Basic"}, storage_account=storage.id, key_vault=vault.id,
            application_insights=insights.id, container_registry=args.registry_id,
            public_network_access=public,
            # private workspaces reach their stores (and the models' Blob accounts) only through managed private endpoints
            managed_network=managed_network(args.blob_accounts) if args.production else None,
            **where, opts=keep)
        self.workspace_name = workspace.name
        self.register_outputs({"workspace_name": self.workspace_name})
