"""Which optional install extra each platform needs, and a check that it is installed.

Contract: `require_for(target, stack, stage)` raises `MissingExtra` (exit 3, an environment
problem, not bad input) naming the stack, the platform, the missing modules and the
`pip install` line when a stack needs a cloud SDK this installation lacks. Two stages:
`placement` (validate: only SageMaker needs an SDK there, for its container image URIs) and
`program` (preview/cost/check/render register the platform's Pulumi resources). On-prem
stacks need no extra. `EXTRA_OF` is the table the README repeats.
"""

from __future__ import annotations

import importlib.util
from typing import Literal

from modelfleet.errors import EnvironmentError_

Stage = Literal["placement", "program"]

# target → (extra in pyproject.toml, {stage: importable modules that extra provides and the stage uses})
EXTRA_OF: dict[str, tuple[str, dict[Stage, tuple[str, ...]]]] = {
    "eks": ("aws", {"program": ("pulumi_aws",)}),
    # sagemaker-core resolves the SageMaker serving containers' image URIs offline during placement
    "sagemaker": ("aws", {"placement": ("sagemaker",), "program": ("pulumi_aws", "sagemaker")}),
    "aks": ("azure", {"program": ("pulumi_azure_native",)}),
    "azureml": ("azure", {"program": ("pulumi_azure_native",)}),
}


class MissingExtra(EnvironmentError_):
    """A stack's platform needs an optional dependency that is not installed (exit 3)."""


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_for(target: str, stack: str, stage: Stage = "program") -> None:
    extra, stages = EXTRA_OF.get(target, ("", {}))
    missing = [m for m in stages.get(stage, ()) if not installed(m)]
    if missing:
        raise MissingExtra(f"stack {stack!r} runs on {target}, which needs the `{extra}` extra ({', '.join(missing)} "
                           f"not installed). To fix: pip install 'modelfleet[{extra}]' (or leave the stack out with --stack)")
