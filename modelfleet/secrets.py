"""Logical secrets: a spec names what it needs (`serving.secret_env: {ENV: logical-name}`), each
stack says where each logical secret lives (`modelfleet:secrets`), so one spec stays portable.

Contract:
- Malformed references (Secrets Manager ARN, Key Vault secret URI) are rejected where the stack
  is loaded (`modelfleet.secret_refs`), located (exit 2).
- `secret_env(spec, stack)` → (`[SecretUse]`, diagnostics): every `serving.secret_env` entry joined
  with the stack's reference; an unmapped logical name, or a store this platform cannot read,
  is an error naming the stack setting to add.
- `delivery(stack)` → how values reach the server on this stack (see `DELIVERY`), so previews
  can say it and components follow it. Values are never read here: only references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelfleet.environment import AnyStack, EksCluster, KubernetesStack, SecretRef, target_of
from modelfleet.plan import Diagnostic

if TYPE_CHECKING:
    from modelfleet.spec import ModelSpec

# Which stores each target reads and how the value reaches the server.
DELIVERY = {
    # SageMaker has no secret reference for a real-time model's environment (components.aws.sagemaker_container)
    "sagemaker": {"aws_secrets_manager": "read by Pulumi at deploy time into the model's container environment (a Pulumi "
                                         "secret in state and previews; readable by principals allowed sagemaker:DescribeModel)"},
    "azureml": {"key_vault": "Azure ML secret injection: the deployment resolves the Key Vault reference with the endpoint's identity"},
}


@dataclass(frozen=True)
class SecretUse:
    """One environment variable filled from a secret: `env` ← `logical` (the stack's `ref`)."""

    env: str
    logical: str
    ref: SecretRef

    def as_dict(self) -> dict[str, str]:
        return {"env": self.env, "secret": self.logical, "reference": self.ref.describe()}


def kubernetes_stores(stack: AnyStack) -> dict[str, str]:
    """Stores a Kubernetes stack reads and how; External Secrets Operator reads them all."""
    assert isinstance(stack, KubernetesStack)
    if stack.external_secrets is not None:
        how = f"an ExternalSecret through the External Secrets Operator {stack.external_secrets.kind} {stack.external_secrets.store}"
        return {"aws_secrets_manager": how, "key_vault": how, "kubernetes": how}
    stores = {"kubernetes": "a Kubernetes Secret (copied into the model namespace when the reference names another namespace)"}
    if isinstance(stack.cluster, EksCluster):
        stores["aws_secrets_manager"] = "read by Pulumi at deploy time into a Kubernetes Secret (a Pulumi secret)"
    return stores


def delivery(stack: AnyStack) -> dict[str, str]:
    target = target_of(stack)
    return kubernetes_stores(stack) if target in ("onprem", "eks", "aks") else DELIVERY[target]


def secret_env(spec: ModelSpec, stack: AnyStack) -> tuple[list[SecretUse], list[Diagnostic]]:
    uses: list[SecretUse] = []
    out: list[Diagnostic] = []
    readable = delivery(stack)
    for env, logical in sorted(spec.serving.secret_env.items()):
        ref = stack.secrets.get(logical)
        field = f"serving.secret_env.{env}"
        if ref is None:
            known = ", ".join(sorted(stack.secrets)) or "none"
            out.append(Diagnostic("error", spec.name, field,
                                  f"logical secret {logical!r} is not mapped on stack {stack.stack!r} ({stack.file or 'stack file'}); "
                                  f"mapped: {known}. To fix: add modelfleet:secrets.{logical}: "
                                  f"{{{' | '.join(f'{s}: …' for s in readable)}}} to the stack"))
            continue
        if ref.store not in readable:
            out.append(Diagnostic("error", spec.name, field,
                                  f"secret {logical!r} lives in {ref.store}, which stack {stack.stack!r} cannot read "
                                  f"(it reads {', '.join(readable)}). To fix: map {logical} to one of those in the stack's "
                                  "modelfleet:secrets" + (", or declare modelfleet:external_secrets (External Secrets Operator)"
                                                         if "kubernetes" in readable else "")))
            continue
        uses.append(SecretUse(env, logical, ref))
    return uses, out
