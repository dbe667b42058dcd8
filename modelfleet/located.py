"""Placement errors located in the files people edit.

Contract: `placement_problem(entry, specs, environment)` → a `Problem` for a placement error
`entry` ({"stack", "model", "field", "message"}, optionally "stack_file"). When it names one model's spec field, the
problem is at the spec file and line (the line of the stack environment's `environments:`
override when that sets the field, else the spec's own line); otherwise it is at the stack.
The message names the model and stack; a "To fix:" tail becomes the problem's `fix`.
`placement_error(entries, specs, environment_of)` raises them together as one
`PlacementError`. `spec_location(entry, specs, environment)` is where a warning about a spec field
points (validate's JSON and GitHub annotations). `validate` and every command that plans a stack (`preview`, `check`,
`cost`, `render`, `pr`) report placement errors through it, so the same mistake reads the
same everywhere — and JSON errors and GitHub annotations carry the file and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from modelfleet.errors import PlacementError, Problem
from modelfleet.spec import SpecFile

_FIX = ". To fix: "


def spec_location(entry: dict[str, str], specs: dict[str, SpecFile], environment: str) -> tuple[str, int | None] | None:
    """(spec file, line) of the spec field a diagnostic names, None when it names no spec field."""
    spec = specs.get(entry["model"])
    if spec is None or not entry["field"] or entry["field"].startswith("modelfleet:"):
        return None
    path = tuple(entry["field"].split("."))
    override = spec.base.environments.get(environment) or {}
    inside = _has(override, path)
    return str(spec.path), spec.line_of("environments", environment, *path) if inside else spec.line_of(*path)


def placement_problem(entry: dict[str, str], specs: dict[str, SpecFile], environment: str) -> Problem:
    message, _, fix = entry["message"].partition(_FIX)
    where = spec_location(entry, specs, environment)
    if where is not None:
        return Problem(where[0], f"{entry['model']} on stack {entry['stack']!r}: {message}",
                       line=where[1], field=entry["field"], fix=fix)
    # not a spec field: the stack's own file (when known) is where it is fixed
    stack_file = entry.get("stack_file") or f"stack {entry['stack']!r}"
    return Problem(stack_file, f"{entry['model'] or '<stack>'} on stack {entry['stack']!r}: {message}", field=entry["field"], fix=fix)


def placement_error(entries: Iterable[dict[str, str]], specs: Iterable[SpecFile],
                    environment_of: Callable[[dict[str, str]], str]) -> PlacementError:
    by_name = {spec.name: spec for spec in specs}
    return PlacementError([placement_problem(e, by_name, environment_of(e)) for e in entries])


def _has(data: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True
