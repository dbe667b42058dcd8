"""Resolve one rule's enforcement level and parameters from a policy pack config.

The config is Pulumi's `--policy-pack-config` format::

    {"all": "advisory" | {"enforcementLevel": ...},
     "<rule id>": "mandatory" | {"enforcementLevel": "...", "<param>": value, ...}}

Resolution mirrors the Pulumi CLI: rule defaults, then the level under "all", then the
rule's own entry. Parameters given under "all" are ignored, as Pulumi ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._rule import Rule

LEVELS = ("mandatory", "advisory", "remediate", "disabled")


def _level_of(entry: Any) -> str | None:
    level = entry if isinstance(entry, str) else entry.get("enforcementLevel") if isinstance(entry, Mapping) else None
    if level is None:
        return None
    if level not in LEVELS:
        raise ValueError(f"enforcementLevel {level!r} is not one of {', '.join(LEVELS)}")
    return "mandatory" if level == "remediate" else str(level)


def resolve(rule: Rule, pack_config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(level: mandatory|advisory|disabled, params with the rule's defaults filled in)."""
    level: str = rule.level
    params = rule.defaults()
    for key in ("all", rule.id):
        entry = pack_config.get(key)
        found = _level_of(entry)
        if found:
            level = found
        if key == rule.id and isinstance(entry, Mapping):
            params.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
    return level, params
