"""The primary container of one SageMaker model: image, environment, secrets and where the weights come from.

`container_definition(p, environment, image, parent)` → the `primary_container` input of
`aws.sagemaker.Model`:
- `image`: the placement's image, or the pull-through cache path (`modelfleet.pull_through`);
- `environment`: the runtime's variables (`modelfleet.aws_images.container_environment`) plus one
  variable per `serving.secret_env` entry. SageMaker has no secret reference for a real-time
  model's environment and the AWS LMI / TGI containers read the Hub token only from `HF_TOKEN`, so
  the value is read from Secrets Manager AT DEPLOY TIME by the deployer's credentials
  (`aws.secretsmanager.get_secret_version`) and kept a Pulumi secret (`pulumi.Output.secret`):
  encrypted in state, a placeholder in previews. The execution role therefore needs no
  `secretsmanager:GetSecretValue`. SageMaker itself stores the environment with the model, so
  principals allowed `sagemaker:DescribeModel` can read it (README, "Secrets");
- model data: the S3 prefix / archive SageMaker downloads (`sagemaker_config.model_data`), or none
  for a Hub model the AWS container downloads itself (`HF_MODEL_ID`).

`secret_env_tags(p)` → the model's `modelfleet.io/secret-env` tag: the names (never values) of the
variables delivered from Secrets Manager, so policy MF-SEC-001 — which sees Pulumi secrets
unencrypted under `pulumi preview --policy-pack` — passes exactly those and still judges every
other variable.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.sagemaker_config import model_data
from modelfleet.placement import Placement


def hub_download(p: Placement) -> bool:
    """True when the container downloads the weights itself (no model data, needs outbound network)."""
    return p.artifact is not None and p.artifact.method == "hub-download"


def weights_uri(p: Placement) -> str | None:
    """The S3 URI SageMaker downloads (a models:/ URI as resolved at preview), None for a Hub download."""
    if hub_download(p):
        return None
    return p.artifact.fetch_uri if p.artifact is not None else p.spec.model.uri


def _delivered(p: Placement) -> list[Any]:
    """The serving.secret_env uses read from Secrets Manager (other stores are refused for SageMaker stacks,
    modelfleet.secrets.DELIVERY): what the environment carries and the tag names, always the same set."""
    return [use for use in (p.artifact.secrets if p.artifact is not None else ()) if use.ref.aws_secrets_manager]


def secret_environment(p: Placement, parent: pulumi.Resource) -> dict[str, pulumi.Output[str]]:
    """serving.secret_env values from Secrets Manager, each a Pulumi secret."""
    out: dict[str, pulumi.Output[str]] = {}
    for use in _delivered(p):
        found = aws.secretsmanager.get_secret_version_output(secret_id=use.ref.aws_secrets_manager,
                                                             opts=pulumi.InvokeOptions(parent=parent))
        out[use.env] = pulumi.Output.secret(found.secret_string)
    return out


# policies/rules/secrets.py SECRET_ENV_TAG reads it; a SageMaker tag value holds up to 256 characters of letters,
# digits, spaces and _.:/=+-@ (botocore sagemaker service model, TagValue), so names are space-separated
SECRET_ENV_TAG = "modelfleet.io/secret-env"


def secret_env_tags(p: Placement) -> dict[str, str]:
    names = sorted(use.env for use in _delivered(p))
    return {SECRET_ENV_TAG: " ".join(names)} if names else {}


def container_definition(p: Placement, environment: dict[str, str], image: Any, parent: pulumi.Resource) -> dict[str, Any]:
    uri = weights_uri(p)
    container: dict[str, Any] = {"image": image, "environment": {**environment, **secret_environment(p, parent)}}
    if uri is not None:
        container.update(model_data(uri))
    return container
