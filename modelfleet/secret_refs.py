"""Shapes of secret references a stack may give (`modelfleet:secrets`), checked where the stack loads.

`reference_problem(aws_arn, key_vault_uri)` → None or (message, allowed, fix). Imports nothing from
modelfleet, so the stack model can use it without a cycle.
"""

from __future__ import annotations

import re

# arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>
# (Secrets Manager user guide, "Secret ARN"; names: letters, digits and /_+=.@-)
SECRETS_MANAGER_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
                                 r"secret:(?P<name>[A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}$")
# https://<vault>.vault.azure.net/secrets/<name>[/<version>] (Key Vault "object identifiers": vault names
# 3-24 alphanumerics and '-', starting with a letter; secret names 1-127 alphanumerics and '-'; versions 32 hex)
KEY_VAULT_URI = re.compile(r"^https://(?P<vault>[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9])\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net)"
                           r"/secrets/(?P<name>[0-9A-Za-z-]{1,127})(/(?P<version>[0-9a-f]{32}))?$")


def reference_problem(aws_secrets_manager: str | None, key_vault: str | None) -> tuple[str, str, str] | None:
    if aws_secrets_manager is not None and not SECRETS_MANAGER_ARN.match(aws_secrets_manager):
        return (f"aws_secrets_manager {aws_secrets_manager!r} is not a Secrets Manager secret ARN",
                "arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>",
                "copy the full ARN from `aws secretsmanager describe-secret --secret-id <name> --query ARN`")
    if key_vault is not None and not KEY_VAULT_URI.match(key_vault):
        return (f"key_vault {key_vault!r} is not a Key Vault secret URI",
                "https://<vault>.vault.azure.net/secrets/<name>[/<32-hex version>]",
                "copy the secret identifier from `az keyvault secret show --vault-name <vault> -n <name> --query id` "
                "(drop the version to follow the latest)")
    return None
