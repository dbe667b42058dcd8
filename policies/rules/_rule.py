"""The `Rule` record every area module registers, and how a rule is invoked.

A rule is a pure function plus metadata. Two kinds:

* ``resource``: ``fn(resource_type, props, config) -> list[str]``; rules that read resource
  options are flagged ``uses_options=True`` and are called with a 4th keyword argument
  ``options`` (a dict with ``protect``, ``retainOnDelete``, ``ignoreChanges``,
  ``deleteBeforeReplace``; keys may be missing).
* ``stack``: ``fn(resources, config) -> list[tuple[str, str]]`` over every resource of the
  stack; each resource is ``{"type", "name", "urn", "parent", "props", "options"}`` and each
  result is ``(resource name, message)``.

``config`` is the rule's parameters: its ``params`` defaults overlaid with the policy pack
config for that rule id (always including ``environment``). Rules must tolerate missing keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

Level = Literal["mandatory", "advisory"]
Kind = Literal["resource", "stack"]
ENVIRONMENT_PARAM: dict[str, Any] = {
    "type": "string",
    "enum": ["dev", "staging", "prod"],
    "default": "prod",
    "description": "Environment the stack deploys; rules scoped to environments read it.",
}
ENVIRONMENTS_SCHEMA = {"type": "array", "items": {"type": "string", "enum": ["dev", "staging", "prod"]}}


def environments_param(envs: list[str] | None) -> dict[str, Any]:
    """The `environments` parameter of a rule that applies only in some environments ({} = all)."""
    return {"environments": {**ENVIRONMENTS_SCHEMA, "default": envs}} if envs else {}


@dataclass(frozen=True)
class Rule:
    """One policy. `resource_types` are type tokens or globs (`kubernetes:*`); empty = every type.
    `params` maps parameter name to a JSON-schema property that carries its `default`."""

    id: str
    area: str
    level: Level
    description: str
    why: str
    refs: tuple[str, ...]
    kind: Kind
    fn: Callable[..., Any]
    resource_types: tuple[str, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    uses_options: bool = False

    def schema(self) -> dict[str, dict[str, Any]]:
        """JSON-schema properties for the Pulumi `config_schema` (environment always included)."""
        props = {"environment": dict(ENVIRONMENT_PARAM)}
        props.update({k: dict(v) for k, v in self.params.items()})
        return props

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.schema().items() if "default" in v}

    def applies_to(self, resource_type: str) -> bool:
        if not self.resource_types:
            return True
        return any(fnmatchcase(resource_type, pattern) for pattern in self.resource_types)

    def check_resource(
        self,
        resource_type: str,
        props: Mapping[str, Any],
        config: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
    ) -> list[str]:
        if self.kind != "resource" or not self.applies_to(resource_type) or self.id in exemptions(props):
            return []
        if self.uses_options:
            return list(self.fn(resource_type, props, config, options=dict(options or {})))
        return list(self.fn(resource_type, props, config))

    def check_stack(self, resources: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
        if self.kind != "stack":
            return []
        exempt = {str(r.get("name")) for r in resources if self.id in exemptions(r.get("props") or {})}
        return [(str(name), str(msg)) for name, msg in self.fn(list(resources), config) if str(name) not in exempt]


EXEMPT_ANNOTATION = "modelfleet.io/policy-exempt"
EXEMPT_REASON_ANNOTATION = "modelfleet.io/policy-exempt-reason"


def exemptions(props: Mapping[str, Any]) -> set[str]:
    """Rule ids a Kubernetes object opts out of, through the `modelfleet.io/policy-exempt`
    annotation (comma-separated ids). An exemption only counts with a written reason in
    `modelfleet.io/policy-exempt-reason`, so every waiver is justified where it is made."""
    metadata: Any = props.get("metadata") if hasattr(props, "get") else None
    annotations: Any = metadata.get("annotations") if hasattr(metadata, "get") else None
    if not hasattr(annotations, "get") or not str(annotations.get(EXEMPT_REASON_ANNOTATION) or "").strip():
        return set()
    return {part.strip() for part in str(annotations.get(EXEMPT_ANNOTATION) or "").split(",") if part.strip()}
