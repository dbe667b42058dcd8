"""The offline plan of one stack: every resource the Pulumi program registered, as data.

`ResourcePlan` is the single input of `cost`, `check` and `render`. It is produced by
`modelfleet.preview` (program under Pulumi mocks) or read from a real
`pulumi preview --json` file. Inputs keep Pulumi's wire form: camelCase keys, numbers as
floats (use `as_int` when an integer is meant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """Something a target cannot honour for a model: `error` breaks a promise, `warning` = documented fallback."""

    level: Level
    model: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level, "model": self.model, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class PlannedResource:
    """One registration. `parent` is the parent's URN ('' for the stack root);
    `options` holds protect, retainOnDelete, ignoreChanges, deleteBeforeReplace, provider, dependsOn."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        """The model this resource serves, from the `modelfleet.io/model` label/tag, if any."""
        return model_of(self.inputs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "parent": self.parent,
            "custom": self.custom,
            "inputs": self.inputs,
            "options": self.options,
        }


@dataclass(frozen=True)
class ResourcePlan:
    """Everything one stack would create. `config` is the stack's resolved settings that
    cost and policies need (environment, budget, gpu_hour_usd, allowed registries, ...)."""

    stack: str
    platform: str
    environment: str
    resources: tuple[PlannedResource, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def children(self, parent_urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == parent_urn]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "platform": self.platform,
            "environment": self.environment,
            "resources": [r.as_dict() for r in self.resources],
            "diagnostics": [d.as_dict() for d in self.diagnostics],
            "outputs": self.outputs,
        }


# what a `pulumi.Output.secret` input becomes in a captured plan: values never reach previews, render or check
SECRET_PLACEHOLDER = "[secret]"
MODEL_LABEL = "modelfleet.io/model"
MODEL_TAG = "modelfleet:model"  # cloud tags: Azure tag names cannot contain a slash


def model_of(inputs: dict[str, Any]) -> str | None:
    """Find the model label in Kubernetes metadata.labels or cloud `tags`."""
    meta = inputs.get("metadata")
    if isinstance(meta, dict):
        labels = meta.get("labels") or {}
        if MODEL_LABEL in labels:
            return str(labels[MODEL_LABEL])
    tags = inputs.get("tags")
    if isinstance(tags, dict):
        for key in (MODEL_TAG, MODEL_LABEL):
            if key in tags:
                return str(tags[key])
    return None


def as_int(value: Any) -> Any:
    """Mock inputs carry every number as float; give back ints where the value is integral."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: as_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_int(v) for v in value]
    return value
