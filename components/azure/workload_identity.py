"""Least-privilege Azure identities for model weights in Blob storage.

- `container_scope(storage_account_id, container)`: the role-assignment scope of ONE Blob container
  (`<account id>/blobServices/default/containers/<container>`), never the account.
- `ModelIdentity` (AKS): a user-assigned managed identity per model, a federated identity credential
  trusting the cluster's OIDC issuer for `system:serviceaccount:<ns>:<sa>` (audience
  `api://AzureADTokenExchange`), and `Storage Blob Data Reader` on the model's container. The
  ServiceAccount carries `azure.workload.identity/client-id` and the pods the label
  `azure.workload.identity/use: "true"` (AKS workload identity webhook; "Use Microsoft Entra Workload ID
  with AKS").
- `blob_reader(name, principal_id, scope)`: the role assignment itself, also used for Azure ML endpoint
  identities.
- `secret_reader(name, principal_id, scope)`: `Key Vault Secrets User` on one secret
  (`<vault id>/secrets/<name>`), for Azure ML secret injection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.azure.common import role_definition_id
from modelfleet import uris

STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"  # built-in role id (Azure built-in roles: Storage)
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"  # built-in role id (Azure built-in roles: Security)
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"


def container_scope(storage_account_id: str, container: str) -> str:
    return f"{storage_account_id}/blobServices/default/containers/{container}"


def blob_reader(name: str, principal_id: pulumi.Input[str], scope: str,
                opts: pulumi.ResourceOptions | None = None) -> azure_native.authorization.RoleAssignment:
    return azure_native.authorization.RoleAssignment(
        name, scope=scope, role_definition_id=role_definition_id(scope, STORAGE_BLOB_DATA_READER),
        principal_id=principal_id,
        # a just-created identity may not have replicated yet: naming the type skips the directory lookup
        principal_type="ServicePrincipal", opts=opts)


def secret_reader(name: str, principal_id: pulumi.Input[str], scope: str,
                  opts: pulumi.ResourceOptions | None = None) -> azure_native.authorization.RoleAssignment:
    return azure_native.authorization.RoleAssignment(
        name, scope=scope, role_definition_id=role_definition_id(scope, KEY_VAULT_SECRETS_USER),
        principal_id=principal_id, principal_type="ServicePrincipal", opts=opts)


@dataclass(frozen=True)
class ModelIdentityArgs:
    """identity_name; resource_group / location: where the identity lives; issuer: the cluster's OIDC
    issuer URL; namespace / service_account: the model's; blob_scope: container scope to read (None = no
    store role); tags."""

    identity_name: str
    resource_group: pulumi.Input[str]
    location: str
    issuer: pulumi.Input[str]
    namespace: str
    service_account: str
    blob_scope: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class ModelIdentity(pulumi.ComponentResource):
    client_id: pulumi.Output[str]
    annotations: dict[str, Any]
    labels: dict[str, str]

    def __init__(self, name: str, args: ModelIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:azure:ModelIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = azure_native.managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_name_=args.identity_name, resource_group_name=args.resource_group,
            location=args.location, tags=args.tags, opts=child)
        azure_native.managedidentity.FederatedIdentityCredential(
            f"{name}-federation", federated_identity_credential_resource_name=args.service_account,
            resource_name_=identity.name, resource_group_name=args.resource_group, issuer=args.issuer,
            subject=f"system:serviceaccount:{args.namespace}:{args.service_account}",
            audiences=[TOKEN_EXCHANGE_AUDIENCE], opts=child)
        if args.blob_scope:
            blob_reader(f"{name}-blob-reader", identity.principal_id, args.blob_scope, child)
        self.client_id = identity.client_id
        self.annotations = {CLIENT_ID_ANNOTATION: identity.client_id}
        self.labels = {USE_LABEL: "true"}
        self.register_outputs({"client_id": self.client_id})


def model_identities(sp: Any, resource_group: pulumi.Input[str], location: str, issuer: pulumi.Input[str]
                     ) -> dict[str, dict[str, Any]]:
    """One identity per model whose weights are in Blob storage and fetched inside its pods."""
    stack = sp.stack
    out: dict[str, dict[str, Any]] = {}
    for p in sp.placements:
        a = p.artifact
        if a is None or not a.fetch_uri.startswith("az://") or a.method not in ("init-container", "storage-initializer"):
            continue
        parsed = uris.parse(a.fetch_uri)
        account_id = stack.artifact_store.storage_accounts[parsed.host]  # placement errors when missing
        identity = ModelIdentity(f"{p.name}-identity", ModelIdentityArgs(
            identity_name=p.names["model_identity"], resource_group=resource_group, location=location, issuer=issuer,
            namespace=p.namespace, service_account=p.names["service_account"],
            blob_scope=container_scope(account_id, parsed.container), tags=p.tags))
        out[p.model] = {"annotations": identity.annotations, "labels": identity.labels}
    return out
