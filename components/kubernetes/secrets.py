"""Secrets in a model's namespace, from the stack's references (`modelfleet:secrets`), never literals.

`model_secrets(stack, p, provider)` → a callable `(name, opts) -> [resources]` for `ModelServer`, or
None when the model reads no secret. In the model's namespace it creates:
- `<model>-secrets` holding `serving.secret_env`, keyed by logical name, which the pod's
  `secretKeyRef`s read (`components.kubernetes.artifacts.secret_env`);
- the image pull Secret `registry.pull_secret` (type `kubernetes.io/dockerconfigjson`) when the
  stack pulls from an external registry, from its reference.
How, per stack:
- `modelfleet:external_secrets` declared: `ExternalSecret`s (External Secrets Operator,
  `external-secrets.io/v1`) against that store; values never pass through Pulumi. Remote keys:
  Secrets Manager ARN; Key Vault `secret/<name>` (ESO's Azure provider object prefix); Kubernetes
  Secret name + `property` = key.
- otherwise: a Secrets Manager value read at deploy time (`aws.secretsmanager.get_secret_version`,
  EKS stacks) or a Kubernetes Secret read from its namespace, written as a Pulumi secret
  (`pulumi.Output.secret`), so state and previews hold it encrypted / as a placeholder. A
  Kubernetes reference without `namespace` is used in place and nothing is created.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.artifacts import secret_name
from components.kubernetes.objects import metadata
from modelfleet.environment import KubernetesStack, SecretRef
from modelfleet.placement import Placement
from modelfleet.secret_refs import KEY_VAULT_URI

ESO_API = "external-secrets.io/v1"  # served since External Secrets Operator v0.17 (v1beta1 deprecated)
DOCKER_CONFIG_KEY = ".dockerconfigjson"
DOCKER_CONFIG_TYPE = "kubernetes.io/dockerconfigjson"


def remote_ref(ref: SecretRef) -> dict[str, str]:
    """ESO `remoteRef` for a reference (the store decides the provider)."""
    if ref.aws_secrets_manager:
        return {"key": ref.aws_secrets_manager}
    if ref.key_vault:
        match = KEY_VAULT_URI.match(ref.key_vault)
        assert match is not None  # validated where the stack loads
        out = {"key": f"secret/{match['name']}"}
        if match["version"]:
            out["version"] = match["version"]
        return out
    assert ref.kubernetes is not None
    return {"key": ref.kubernetes.secret, "property": ref.kubernetes.key}


def _copied(uses: list[tuple[str, SecretRef]]) -> list[tuple[str, SecretRef]]:
    """References that need a copy in the model's namespace (all but in-namespace Kubernetes Secrets)."""
    return [(key, ref) for key, ref in uses if not (ref.kubernetes is not None and ref.kubernetes.namespace is None)]


def _value(name: str, key: str, ref: SecretRef, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The base64 value of one reference, read at deploy time and kept secret."""
    if ref.aws_secrets_manager:
        import pulumi_aws as aws

        found = aws.secretsmanager.get_secret_version_output(secret_id=ref.aws_secrets_manager,
                                                             opts=pulumi.InvokeOptions(parent=opts.parent))
        value = found.secret_string.apply(lambda s: base64.b64encode((s or "").encode()).decode())
    else:
        k = ref.kubernetes
        assert k is not None and k.namespace is not None
        source = k8s.core.v1.Secret.get(f"{name}-source-{key.strip('.').replace('.', '-')}", f"{k.namespace}/{k.secret}",
                                        opts=pulumi.ResourceOptions(parent=opts.parent, provider=opts.provider))
        value = source.data.apply(lambda data, want=k.key: (data or {}).get(want, ""))
    return pulumi.Output.secret(value)


def model_secrets(stack: KubernetesStack, p: Placement, provider: pulumi.ProviderResource | None
                  ) -> Callable[[str, pulumi.ResourceOptions], list[pulumi.Resource]] | None:
    env = [(use.logical, use.ref) for use in (p.artifact.secrets if p.artifact else ())]
    pull = stack.registry.pull_secret if stack.registry.kind == "external" else None
    pull_ref = stack.secrets.get(pull) if pull else None
    if not env and pull_ref is None:
        return None

    def create(name: str, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        made: list[pulumi.Resource] = []
        targets: list[tuple[str, str | None, list[tuple[str, SecretRef]]]] = [(secret_name(p), None, env)]
        if pull and pull_ref is not None:
            targets.append((pull, DOCKER_CONFIG_TYPE, [(DOCKER_CONFIG_KEY, pull_ref)]))
        for target, kind, uses in targets:
            role = "pull-secret" if kind else "secrets"
            if stack.external_secrets is not None and uses:
                eso = stack.external_secrets
                target_spec: dict[str, Any] = {"name": target, "creationPolicy": "Owner"}
                if kind:
                    target_spec["template"] = {"type": kind}
                made.append(k8s.apiextensions.CustomResource(
                    f"{name}-{role}", api_version=ESO_API, kind="ExternalSecret",
                    metadata=metadata(target, p.namespace, p.labels),
                    spec={"refreshInterval": eso.refresh, "secretStoreRef": {"name": eso.store, "kind": eso.kind},
                          "target": target_spec,
                          "data": [{"secretKey": key, "remoteRef": remote_ref(ref)} for key, ref in uses]},
                    opts=opts))
                continue
            copies = _copied(uses)
            if not copies:
                continue
            data = {key: _value(f"{name}-{role}", key, ref, opts) for key, ref in copies}
            made.append(k8s.core.v1.Secret(  # type: ignore[call-overload]
                f"{name}-{role}", metadata=metadata(target, p.namespace, p.labels), type=kind or "Opaque",
                data=data, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                    # values are Pulumi secrets: encrypted in state, a placeholder in previews
                    additional_secret_outputs=["data"]))))
        return made

    return create
