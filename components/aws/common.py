"""Small AWS helpers shared by the EKS and SageMaker platforms.

- `is_production(env)`: which environments get `protect` on stateful resources.
- `stack_tags(stack)`: tags for stack-level resources (registries, cluster, network).
- `assume_role_policy(service)`: trust policy JSON for one AWS service principal.
- `service_trust_policy(service, account, source_arn)`: the same, limited to calls made on behalf of
  this account (`aws:SourceAccount`) and, where the calling resource's ARN is known, of it
  (`aws:SourceArn`): AWS's cross-service confused-deputy guidance.
- `policy_json(statements)`: an IAM policy document as JSON text (inputs may be Outputs).
- `ec2`, `s3`: those `pulumi_aws` modules, imported without their import-time deprecation notices.
"""

from __future__ import annotations

import importlib
import json
import warnings
from types import ModuleType
from typing import Any

import pulumi

from modelfleet.environment import AnyStack

PRODUCTION = ("prod", "production")


def _quiet_import(module_name: str, touch: str) -> ModuleType:
    with warnings.catch_warnings():
        # these pulumi_aws modules warn at import time about deprecated resources modelfleet never uses
        warnings.simplefilter("ignore", DeprecationWarning)
        module = importlib.import_module(module_name)
        getattr(module, touch)  # pulumi_aws modules load lazily: touch one name to run the import now
        return module


ec2 = _quiet_import("pulumi_aws.ec2", "Vpc")
s3 = _quiet_import("pulumi_aws.s3", "Bucket")


def is_production(environment: str) -> bool:
    return environment.lower() in PRODUCTION


def stack_tags(stack: AnyStack) -> dict[str, str]:
    return stack.shared_tags()


def assume_role_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def service_trust_policy(service: str, account: Any, source_arn: Any | None = None) -> pulumi.Output[str]:
    """Trust policy for a service principal acting only for `account` (and `source_arn`, an ARN pattern).

    SageMaker developer guide, "Cross-service confused deputy prevention": use `aws:SourceAccount`
    (and `aws:SourceArn`, wildcards for unknown parts) in the role's trust policy, so SageMaker
    assumes the role only on behalf of this account's resources. `account` / `source_arn` may be Outputs."""
    def document(resolved: list[Any]) -> str:
        condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": resolved[0]}}
        if resolved[1] is not None:
            condition["ArnLike"] = {"aws:SourceArn": resolved[1]}
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", "Condition": condition}]})

    return pulumi.Output.all(account, source_arn).apply(document)


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """Statements may hold Outputs (ARNs of resources created in the same program)."""
    return pulumi.Output.from_input(statements).apply(
        lambda resolved: json.dumps({"Version": "2012-10-17", "Statement": resolved}, sort_keys=True))
