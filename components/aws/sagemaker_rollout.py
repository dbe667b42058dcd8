"""The stable side of a SageMaker rollout, for `modelfleet abort`.

SageMaker's blue/green update is native: changing the endpoint's configuration provisions the
new (green) fleet, shifts traffic as `deployment_config` says, and rolls back on its own when a
`rollout.rollback_on` alarm fires during a bake. Once no alarm fired, SageMaker terminates the
old fleet — so sending traffic back later (an abort recorded in the stack) means pointing the
endpoint at the stable version's endpoint configuration again, another blue/green update.

Models and endpoint configurations are therefore kept when replaced (`retain_on_delete`) and
carry the tags `modelfleet:stack`, `modelfleet:model` and `modelfleet:version`; the stable one
is found by those tags through the Resource Groups Tagging API (`GetResources`, resource type
`sagemaker:endpoint-config` — the ARN's `service:resource-type`). Exactly one must match: none
(deleted by hand) or several (the same version deployed with different settings) fail the
deploy with what to do, rather than guessing.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from modelfleet.placement import Placement
from modelfleet.plan import MODEL_TAG

CONFIG_RESOURCE_TYPE = "sagemaker:endpoint-config"
MODEL_RESOURCE_TYPE = "sagemaker:model"  # a scale-to-zero model's component points back at the stable Model
STACK_TAG, VERSION_TAG = "modelfleet:stack", "modelfleet:version"


def tag_filters(p: Placement, version: str) -> list[dict[str, Any]]:
    return [{"key": STACK_TAG, "values": [p.stack]}, {"key": MODEL_TAG, "values": [p.model]},
            {"key": VERSION_TAG, "values": [version]}]


def config_name_of(arns: list[str], p: Placement, version: str, kind: str = "endpoint configuration") -> str:
    """The one configuration's (or model's) name (the ARN's last segment); an error naming the fix otherwise."""
    if len(arns) != 1:
        found = "none" if not arns else ", ".join(sorted(arns))
        raise ValueError(
            f"abort of {p.model} on {p.stack}: expected one SageMaker {kind} tagged "
            f"{MODEL_TAG}={p.model}, {VERSION_TAG}={version}, found {found}. To fix: delete the extra {kind}s "
            f"(or, if none is left, promote the new version or restore {version} in the spec)")
    return arns[0].rsplit("/", 1)[-1]


def stable_config_name(p: Placement, version: str, opts: pulumi.InvokeOutputOptions | None = None,
                       resource_type: str = CONFIG_RESOURCE_TYPE) -> pulumi.Output[str]:
    """The stable version's endpoint configuration (or, with MODEL_RESOURCE_TYPE, its SageMaker Model)."""
    kind = "model" if resource_type == MODEL_RESOURCE_TYPE else "endpoint configuration"
    found = aws.resourcegroupstaggingapi.get_resources_output(
        resource_type_filters=[resource_type], tag_filters=tag_filters(p, version), opts=opts)
    return found.resource_tag_mapping_lists.apply(
        lambda mappings: config_name_of([m.resource_arn for m in mappings], p, version, kind))
