"""Secrets rules: a credential reaches a server by reference, never as a literal in its definition.

- MF-SEC-001: no credential literal in a container's environment, command or arguments —
  Kubernetes Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods, Argo Rollouts with an inline
  template (a `workloadRef` Deployment is judged itself) and KServe predictors (containers, init
  containers and the `model` container); SageMaker Models
  (`primaryContainer` / `containers[]` environment); Azure ML online deployments (environment
  variables). "Looks like a credential" is `policies.credentials.secret_kind`, the detector `modelfleet
  validate` applies to spec values: a token with a documented shape, URL user-info, or a literal
  under a secret-sounding name. Messages name the object, container and variable or argument
  position, never the value.

What passes: `valueFrom.secretKeyRef` (and any `valueFrom`), `$(VAR)` references in args, Azure ML
secret-injection references (`${{keyvault:…}}`, `${{azureml://connections/…}}`), and the `[secret]`
placeholder modelfleet's offline plan shows for a Pulumi secret.

Pulumi secrets under `pulumi preview --policy-pack`: policies receive secret values unencrypted and
cannot tell a secret from a literal (Pulumi CrossGuard FAQ, "How are secrets handled in policies?",
https://www.pulumi.com/docs/iac/packages-and-automation/crossguard/faq/; pulumi/pulumi-policy issue #241,
"How can a policy check if a value is a secret value?", open). One designed path puts a secret value
into a definition: SageMaker has no secret reference for a real-time model's environment, so modelfleet
reads each `serving.secret_env` value (a Hub token, an API key) from Secrets Manager at deploy time into
the model's environment as a Pulumi secret (components/aws/sagemaker_container.py), and tags the model
`modelfleet.io/secret-env` with the NAMES of those variables. The rule passes exactly the variables that
tag names, in either engine, and judges every other variable on its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..credentials import arg_secrets, redact, secret_kind
from . import _util as u
from ._rule import Rule

# what a Pulumi secret input becomes in modelfleet's captured plan (modelfleet/plan.py SECRET_PLACEHOLDER)
SECRET_PLACEHOLDER = "[secret]"
# Azure ML secret injection: an environment variable whose whole value is one of these references is filled
# from Key Vault or a workspace connection with the endpoint identity at deployment creation (azure-docs
# articles/machine-learning/how-to-deploy-online-endpoint-with-secret-injection.md, "Create a deployment").
AML_SECRET_REFERENCE = re.compile(r"^\$\{\{(?:keyvault:https://[^{}\s]+|azureml://connections/[^{}\s]+)\}\}$")
# a SageMaker model's tag naming (space-separated) the variables delivered from Secrets Manager as Pulumi
# secrets (components/aws/sagemaker_container.py SECRET_ENV_TAG)
SECRET_ENV_TAG = "modelfleet.io/secret-env"

POD = "kubernetes:core/v1:Pod"
CRON_JOB = "kubernetes:batch/v1:CronJob"
# where each Kubernetes kind keeps its pod spec, beyond `_util.pod_specs` (k8s.io/api core/v1 Pod.spec; batch/v1
# CronJobSpec.jobTemplate -> JobSpec.template; argo-rollouts v1.9.1 rollout-crd.yaml spec.template)
EXTRA_POD_PATHS = {POD: "spec", CRON_JOB: "spec.jobTemplate.spec.template.spec", u.ARGO_ROLLOUT: "spec.template.spec"}
K8S_TYPES = (*u.K8S_WORKLOADS, *EXTRA_POD_PATHS)

K8S_FIX = ("read it from a Secret: env[].valueFrom.secretKeyRef (serving.secret_env: {<VAR>: <logical secret>}, mapped in "
           "the stack's modelfleet:secrets, renders exactly that)")
# k8s.io/api core/v1 types.go, Container.Command / Args: "Variable references $(VAR_NAME) are expanded using the
# container's environment"
K8S_ARG_FIX = ("put the credential in an environment variable read from a Secret (env[].valueFrom.secretKeyRef) and "
               "pass $(<VAR>) in its place: Kubernetes expands $(VAR) in command and args")
SM_FIX = ("keep credentials out of the model definition (SageMaker returns the environment to anyone allowed "
          "sagemaker:DescribeModel): have the container read the secret from Secrets Manager with its execution role")
AML_FIX = ("reference the secret instead: ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>/<version>}} "
           "(serving.secret_env mapped to a key_vault secret renders it; Azure ML injects the value at deployment)")


def _pods(resource_type: str, props: Any) -> list[Mapping[str, Any]]:
    path = EXTRA_POD_PATHS.get(resource_type)
    if path is None:
        return u.pod_specs(resource_type, props)
    pod = u.get(props, path)
    return [pod] if u.is_map(pod) else []


def _containers(pod: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(how a message names it, container) for init containers, containers and KServe's `model`."""
    for key, what in (("initContainers", "init container"), ("containers", "container")):
        for i, container in enumerate(u.as_list(pod.get(key))):
            if u.is_map(container):
                yield f"{what} {u.container_name(container, i)}", container
    if u.is_map(pod.get("model")):
        yield "predictor model", pod["model"]


def _literal(value: Any, name: str) -> str | None:
    """What credential a plain value holds (None for a reference, a non-string or the secret placeholder)."""
    if not isinstance(value, str) or value == SECRET_PLACEHOLDER:
        return None
    return _short(secret_kind(value, name))


def _short(kind: str | None) -> str | None:
    # secret_kind says "a literal value for NAME" for a secret-sounding name: the message names NAME already
    return "a literal value" if kind is not None and kind.startswith("a literal value for") else kind


def _env_findings(where: str, env: list[tuple[str, Any]], fix: str) -> list[str]:
    return [f"{redact(where)} sets {redact(name)} to {kind} in plain text. To fix: {fix}."
            for name, value in env if (kind := _literal(value, name))]


def _arg_findings(where: str, container: Mapping[str, Any]) -> list[str]:
    out = []
    for field in ("command", "args"):
        items = [str(a) for a in u.as_list(container.get(field))]
        for i, kind in arg_secrets(items):
            if items[i] == SECRET_PLACEHOLDER:
                continue
            flag = items[i].partition("=")[0] if items[i].startswith("-") and "=" in items[i] else ""
            after = items[i - 1] if not flag and i > 0 and items[i - 1].startswith("-") else ""
            what = f" ({redact(flag)}=…)" if flag else f" (after {redact(after)})" if after else ""
            out.append(f"{redact(where)} passes {_short(kind)} in plain text in {field}[{i}]{what}. To fix: {K8S_ARG_FIX}.")
    return out


def _kubernetes(resource_type: str, props: Any) -> list[str]:
    out = []
    for pod in _pods(resource_type, props):
        for where, container in _containers(pod):
            env = [(str(e.get("name") or f"env[{i}]"), e.get("value"))
                   for i, e in enumerate(u.as_list(container.get("env"))) if u.is_map(e)]
            out += _env_findings(where, env, K8S_FIX)
            out += _arg_findings(where, container)
    return out


def _sagemaker(props: Any) -> list[str]:
    out = []
    delivered = set(str(u.as_map(u.get(props, "tags")).get(SECRET_ENV_TAG) or "").split())  # the designed path (docstring)
    found = [("primaryContainer", u.get(props, "primaryContainer"))]
    found += [(f"containers[{i}]", c) for i, c in enumerate(u.as_list(u.get(props, "containers")))]
    for where, container in found:
        env = u.as_map(u.get(container, "environment"))
        pairs = [(str(k), v) for k, v in env.items() if str(k) not in delivered]
        out += _env_findings(where, pairs, SM_FIX)
    return out


def _azureml(props: Any) -> list[str]:
    env = u.as_map(u.get_any(props, "properties.environmentVariables", "onlineDeploymentProperties.environmentVariables"))
    pairs = [(str(k), v) for k, v in env.items() if not (isinstance(v, str) and AML_SECRET_REFERENCE.match(v))]
    return _env_findings("the deployment", pairs, AML_FIX)


def credential_literals(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if resource_type == u.SM_MODEL:
        return _sagemaker(props)
    if resource_type == u.AML_DEPLOYMENT:
        return _azureml(props)
    return _kubernetes(resource_type, props)


RULES = [
    Rule("MF-SEC-001", "secrets", "mandatory", "Container environments and arguments hold no credential literals",
         "A token written into a pod spec, SageMaker model or Azure ML deployment is readable by everyone who can read "
         "that object, and stays in its history; a secret reference keeps the value in the secret store.",
         (), "resource", credential_literals, (*K8S_TYPES, u.SM_MODEL, u.AML_DEPLOYMENT)),
]
