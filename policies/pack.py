"""Wrap every rule in `policies.rules.RULES` as a Pulumi CrossGuard policy.

`build_policies(config_loader=...)` returns `ResourceValidationPolicy` /
`StackValidationPolicy` objects named by rule id, each with its params as `config_schema`
(defaults included, so the Pulumi CLI fills them in). It never constructs `PolicyPack`
(that serves gRPC forever); `__main__.py` does. `config_loader`, when given, returns a
policy pack config (the `config/<env>.json` format) used for initial enforcement levels and
as the base of each rule's params — handy in-process, where no CLI applies defaults.
Rule params resolve as: rule defaults < loader config < the engine's `args.get_config()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .rules import RULES, Rule
from .rules._config import resolve

ConfigLoader = Callable[[], Mapping[str, Any]]


def options_of(opts: Any) -> dict[str, Any]:
    """Pulumi's PolicyResourceOptions as the options dict the rules expect."""
    if opts is None:
        return {}
    return {
        "protect": bool(getattr(opts, "protect", False)),
        "ignoreChanges": list(getattr(opts, "ignore_changes", None) or []),
        "deleteBeforeReplace": getattr(opts, "delete_before_replace", None),
    }


def _merged(base: Mapping[str, Any], engine: Mapping[str, Any] | None) -> dict[str, Any]:
    config = dict(base)
    config.update({k: v for k, v in (engine or {}).items() if v is not None})
    return config


def _resource_validator(rule: Rule, base: Mapping[str, Any]):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        config = _merged(base, args.get_config())
        for message in rule.check_resource(args.resource_type, args.props, config, options_of(args.opts)):
            report_violation(message, None)

    return validate


def _stack_validator(rule: Rule, base: Mapping[str, Any]):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources: list[dict[str, Any]] = [
            {
                "type": r.resource_type,
                "name": r.name,
                "urn": r.urn,
                "parent": r.parent.urn if r.parent is not None else "",
                "props": r.props,
                "options": options_of(r.opts),
            }
            for r in args.resources
        ]
        urns: dict[str, str] = {}
        for r in resources:
            urns.setdefault(r["name"], r["urn"])
        for name, message in rule.check_stack(resources, _merged(base, args.get_config())):
            report_violation(message, urns.get(name))

    return validate


def build_policies(config_loader: ConfigLoader | None = None) -> list[Policy]:
    pack_config = dict(config_loader()) if config_loader is not None else {}
    policies: list[Policy] = []
    for rule in RULES:
        level, base = resolve(rule, pack_config)
        common: dict[str, Any] = {
            "name": rule.id,
            "description": f"{rule.description}. {rule.why}",
            "enforcement_level": EnforcementLevel(level),
            "config_schema": PolicyConfigSchema(properties=rule.schema()),
            "tags": [rule.area, *rule.refs],
        }
        if rule.kind == "resource":
            policies.append(ResourceValidationPolicy(validate=_resource_validator(rule, base), **common))
        else:
            policies.append(StackValidationPolicy(validate=_stack_validator(rule, base), **common))
    return policies
