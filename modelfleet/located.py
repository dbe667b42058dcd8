"""Placement errors located in the files people edit.

Contract: `placement_error_line(entry, specs, environment)` → one line for a placement error
`entry` ({"stack", "model", "field", "message"}): `file:line: field: model on stack 'S': message`
when it names one model's spec field (the line of the stack environment's `environments:`
override when that sets the field, else the spec's own line), otherwise
`stack 'S': model: field: message`. `validate` and every command that plans a stack
(`preview`, `check`, `cost`, `render`, `pr`) report placement errors through it, so the same
mistake reads the same everywhere.
"""

from __future__ import annotations

from typing import Any

from modelfleet.spec import SpecFile


def placement_error_line(entry: dict[str, str], specs: dict[str, SpecFile], environment: str) -> str:
    spec = specs.get(entry["model"])
    if spec is not None and entry["field"] and not entry["field"].startswith("modelfleet:"):
        path = tuple(entry["field"].split("."))
        override = spec.base.environments.get(environment) or {}
        inside = _has(override, path)
        line = spec.line_of("environments", environment, *path) if inside else spec.line_of(*path)
        where = f"{spec.path}:{line}" if line is not None else str(spec.path)
        return f"{where}: {entry['field']}: {entry['model']} on stack {entry['stack']!r}: {entry['message']}"
    return f"stack {entry['stack']!r}: {entry['model'] or '<stack>'}: {entry['field']}: {entry['message']}"


def _has(data: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True
