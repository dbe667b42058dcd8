"""`modelfleet validate` (specs, stacks and placement) and `modelfleet schema` (the spec JSON Schema).

Exit codes: 0 ok, 2 invalid input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from modelfleet.cli.common import Format, ProjectDir, console, fail
from modelfleet.errors import ModelfleetError


def validate_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Spec or stack files (default: model_specs/ and stacks/).")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text, json or github annotations.")] = Format.text,
    changed_since: Annotated[str | None, typer.Option("--changed-since", help="Only specs/stacks changed since this git ref, and the stacks they affect (instead of PATHS).")] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Validate model specs and stacks, and that every stack can place its models. Exit 2 when invalid."""
    from modelfleet.validate import validate_paths

    try:
        if changed_since:
            from modelfleet.changed import validate_since

            summary = validate_since(project_dir, changed_since)
        else:
            summary = validate_paths(project_dir, paths or [])
    except ModelfleetError as e:
        raise fail(e, fmt.value) from e
    if fmt == Format.json:
        typer.echo(json.dumps({"ok": True, **summary}, indent=2))
    elif fmt == Format.text:
        console.print(f"[green]ok[/] {summary['specs']} specs, {summary['stacks']} stacks", highlight=False)
        for w in summary["warnings"]:
            console.print(f"[yellow]warning[/] {w['stack']}: {w['model']}: {w['field']}: {w['message']}", highlight=False)
    else:
        for w in summary["warnings"]:
            typer.echo(f"::warning title={w['field']}::{w['stack']}: {w['model']}: {w['message']}")


def schema_command(
    out: Annotated[Path | None, typer.Option("--out", help="Write here (default: model_specs/schema.json).")] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write the model spec JSON Schema for editor completion."""
    from modelfleet.spec import json_schema

    target = out or project_dir / "model_specs" / "schema.json"
    target.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    console.print(f"wrote {target}", highlight=False)
