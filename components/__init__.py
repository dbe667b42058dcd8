"""Pulumi components, one module per platform piece, and the platform registry.

Contract: every platform module exposes `deploy(sp: StackPlacement) -> dict[str, pulumi.Output[str]]`
that registers the stack's resources (registry, node pools, model servers, monitoring)
and returns each model's endpoint URL keyed by model name. `deploy_platform` picks the
module by target and imports it lazily, so a stack never imports another cloud's SDK.

Component conventions: `X(name, args: XArgs, opts)`, `XArgs` a frozen dataclass, type
token `modelfleet:<module>:<Type>`, children `f"{name}-{role}"` with `parent=self`,
`register_outputs` last, providers only through `opts`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi

    from modelfleet.placement import StackPlacement

PLATFORMS = {
    "onprem": "components.kubernetes.platform",
    "eks": "components.aws.eks_platform",
    "sagemaker": "components.aws.sagemaker_platform",
    "aks": "components.azure.aks_platform",
    "azureml": "components.azure.azureml_platform",
}


def deploy_platform(target: str, sp: StackPlacement) -> dict[str, pulumi.Output[str]]:
    module = importlib.import_module(PLATFORMS[target])
    endpoints: dict[str, pulumi.Output[str]] = module.deploy(sp)
    return endpoints
