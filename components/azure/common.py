"""Small Azure helpers shared by the AKS and Azure ML platforms.

- `is_production(env)`: which environments get the hardened settings (Premium ACR, private
  network, protect).
- `resource_group(...)`: the stack's resource group by name, or a created one.
- `role_definition_id(scope_id, guid)`: a subscription-scoped built-in role id derived from
  the scope's own id, so no client-config invoke is needed.
- `stack_tags(stack)`: tags for stack-level resources (registry, cluster, workspace).
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from modelfleet.environment import AnyStack
from modelfleet.naming import fit

ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"  # built-in AcrPull
PRODUCTION = ("prod", "production")


def is_production(environment: str) -> bool:
    return environment.lower() in PRODUCTION


def stack_tags(stack: AnyStack) -> dict[str, str]:
    return stack.shared_tags()


def resource_group(stack: AnyStack, name: str | None, location: str,
                   opts: pulumi.ResourceOptions | None = None) -> pulumi.Output[str]:
    """The named resource group, or (when the stack creates its cluster/workspace without
    naming one) a new `rg-<stack>` group."""
    if name:
        return pulumi.Output.from_input(name)
    group = azure_native.resources.ResourceGroup(
        f"{stack.stack}-rg", resource_group_name=fit(f"rg-{stack.stack}", 90, invalid=r"[^a-z0-9._()-]"),
        location=location, tags=stack_tags(stack), opts=opts)
    return group.name


def role_definition_id(scope_id: pulumi.Input[str], role_guid: str) -> pulumi.Output[str]:
    """`/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>` for the scope's subscription."""
    def build(scope: str) -> str:
        parts = scope.split("/")
        subscription = "/".join(parts[:3]) if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""
        return f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"
    return pulumi.Output.from_input(scope_id).apply(build)
