"""Placement targets: one module per platform, one registry.

A `Target` turns a resolved `ModelSpec` into a `Placement` for its platform and states
what it cannot do in `UNSUPPORTED` (feature → reason + what to use instead). `get(name)`
imports the module lazily, so a stack never imports another cloud's code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar

from modelfleet.errors import ModelfleetError
from modelfleet.plan import Diagnostic

if TYPE_CHECKING:
    from modelfleet.environment import AnyStack
    from modelfleet.placed import Placement
    from modelfleet.rollout import RolloutPlan
    from modelfleet.spec import ModelSpec

_REGISTRY = {
    "onprem": "modelfleet.targets.onprem:OnPremTarget",
    "eks": "modelfleet.targets.eks:EksTarget",
    "aks": "modelfleet.targets.aks:AksTarget",
    "sagemaker": "modelfleet.targets.sagemaker:SageMakerTarget",
    "azureml": "modelfleet.targets.azureml:AzureMLTarget",
}


class Target:
    """Base: subclasses set NAME and UNSUPPORTED and implement `place`."""

    NAME: ClassVar[str] = ""
    UNSUPPORTED: ClassVar[dict[str, str]] = {}

    def place(self, spec: ModelSpec, stack: AnyStack) -> Placement:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_stack(self, stack: AnyStack, placements: list[Placement]) -> list[Diagnostic]:
        """Checks across models (shared capacity); none by default."""
        return []

    def rollout_wiring(self, plan: RolloutPlan, spec: ModelSpec, stack: AnyStack) -> dict[str, Any]:
        """How this platform carries out a rollout in progress (`RolloutPlan.as_dict` keys): traffic
        steps, what rolls back and whether automatically, what promote and abort do. None by default."""
        return {}

    def rollout_diagnostics(self, plan: RolloutPlan, spec: ModelSpec, stack: AnyStack) -> list[Diagnostic]:
        """Errors/warnings about the rollout on this platform; none by default."""
        return []


def get(name: str) -> Target:
    """The target for a platform name; unknown names list the valid ones."""
    try:
        module_name, _, class_name = _REGISTRY[name].partition(":")
    except KeyError as e:
        raise ModelfleetError(f"unknown target {name!r}. Allowed: {', '.join(_REGISTRY)}. "
                              "To fix: set modelfleet:platform / modelfleet:cluster.kind to one of them") from e
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise ModelfleetError(f"the {name} target is not available in this installation. "
                                  f"To fix: install modelfleet with the matching extra") from e
        raise
    target: Target = getattr(module, class_name)()
    return target
