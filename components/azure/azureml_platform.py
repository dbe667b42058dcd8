"""The Azure ML platform: workspace (referenced or created), ACR, one managed online endpoint per model.

`deploy(sp)` registers, in order: the resource group when a created workspace names none,
an `AcrRegistry` when `registry.kind: acr` (each endpoint grants its own identity AcrPull),
the `MLWorkspace` when `workspace.create`, then one `AzureMLEndpoint` per placement, its alerts
notifying `modelfleet:alerts.action_group_id`. Returns
each model's scoring URL.
"""

from __future__ import annotations

import pulumi

from components.azure.common import resource_group, stack_tags
from components.azure.ml_endpoint import AzureMLEndpoint, AzureMLEndpointArgs
from components.azure.registry import AcrRegistry, AcrRegistryArgs, registry_sku
from components.azure.workspace import MLWorkspace, MLWorkspaceArgs
from modelfleet.environment import AzureMLStack
from modelfleet.naming import acr_name
from modelfleet.placement import StackPlacement


def weight_accounts(sp: StackPlacement) -> dict[str, str]:
    """Storage accounts (name -> resource id) the placed models' az:// weights are registered from."""
    from modelfleet import uris

    accounts = sp.stack.artifact_store.storage_accounts
    hosts = {uris.parse(p.artifact.fetch_uri).host for p in sp.placements
             if p.artifact is not None and p.artifact.fetch_uri.startswith("az://")}
    return {host: accounts[host] for host in sorted(hosts) if host in accounts}


def deploy(sp: StackPlacement) -> dict[str, pulumi.Output[str]]:
    stack = sp.stack
    assert isinstance(stack, AzureMLStack)
    ws = stack.workspace
    assert ws.name is not None  # checked by the target
    location = stack.region or ""
    production = stack.production
    tags = stack_tags(stack)
    group = resource_group(stack, ws.resource_group, location) if ws.create else pulumi.Output.from_input(ws.resource_group or "")
    registry_id = None
    if stack.registry.kind == "acr":
        registry = AcrRegistry(f"{stack.stack}-acr", AcrRegistryArgs(
            registry_name=acr_name(stack.stack, f"{ws.resource_group or ''}/{ws.name}/{location}"),
            resource_group=group, location=location, sku=registry_sku(stack.environment, production),
            production=production, tags=tags))
        registry_id = registry.id
    after: list[pulumi.Resource] = []
    workspace_name: pulumi.Input[str] = ws.name
    if ws.create:
        workspace = MLWorkspace(f"{stack.stack}-workspace", MLWorkspaceArgs(
            ws.name, group, location, registry_id=registry_id, production=production, tags=tags,
            blob_accounts=weight_accounts(sp)))
        workspace_name = workspace.workspace_name
        after.append(workspace)
    endpoints: dict[str, pulumi.Output[str]] = {}
    for p in sp.placements:
        endpoint = AzureMLEndpoint(f"{stack.stack}-{p.model}", AzureMLEndpointArgs(
            placement=p, workspace_name=workspace_name, resource_group=group, location=location,
            registry_id=registry_id, production=production, action_group_id=stack.alerts.action_group_id,
            storage_accounts=dict(stack.artifact_store.storage_accounts), key_vaults=dict(stack.artifact_store.key_vaults)),
            pulumi.ResourceOptions(depends_on=after))
        endpoints[p.model] = endpoint.url
    return endpoints
