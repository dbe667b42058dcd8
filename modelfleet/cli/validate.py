"""`modelfleet validate` (specs, stacks and placement) and `modelfleet schema` (the spec JSON Schema).

Exit codes: validate 0 ok, 2 invalid input or no project/specs/stacks; schema 0, 2 no
project, 3 the schema file cannot be written (read-only checkout: the path is named).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from modelfleet.cli.common import Format, ProjectDir, diagnostic_line, fail, out, project_root, say
from modelfleet.errors import EnvironmentError_, ModelfleetError
from modelfleet.github_commands import annotation
from modelfleet.project import require


def validate_command(
    paths: Annotated[list[Path] | None, typer.Argument(metavar="PATH", show_default=False,
                                                       help="Spec or stack files or directories (default: model_specs/ and stacks/).")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text, json or github annotations.")] = Format.text,
    changed_since: Annotated[str | None, typer.Option("--changed-since", metavar="REF", show_default=False,
                                                      help="Only specs/stacks changed since this git ref, and the stacks they affect (instead of PATHs).")] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Validate model specs and stacks, and that every stack can place its models. Exit 2 when invalid."""
    from modelfleet.selection import joins_line
    from modelfleet.validate import validate_paths

    try:
        root = project_root(project_dir)
        if changed_since:
            from modelfleet.changed import validate_since

            summary = validate_since(root, changed_since)
        else:
            summary = validate_paths(root, [p if p.is_absolute() else Path.cwd() / p for p in paths or []])
            if not paths:  # what is there was valid; nothing there is not a success either
                require(root, specs=True, stacks=True)
    except ModelfleetError as e:
        raise fail(e, fmt.value) from e
    if fmt == Format.json:
        out(json.dumps({"ok": True, **summary}, indent=2))
    elif fmt == Format.text:
        say(("ok", "green"), f" {summary['specs']} specs, {summary['stacks']} stacks")
        for entry in summary.get("joins", []):  # which stacks each spec joins, and through which glob
            say(("joins", "cyan"), " ", joins_line(entry))
        for w in summary["warnings"]:
            say(("warning", "yellow"), " ", diagnostic_line(w["stack"], w["model"], w["field"], w["message"]))
    else:
        for w in summary["warnings"]:
            out(annotation("warning", diagnostic_line(w["stack"], w["model"], w["message"]), file=w.get("file") or None,
                           line=w.get("line"), title=w["field"] or "stack"))


def schema_command(
    output: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE", show_default=False,
                                                help="Write here (default: model_specs/schema.json).")] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Write the model spec JSON Schema for editor completion."""
    from modelfleet.spec import json_schema

    try:
        target = output or project_root(project_dir) / "model_specs" / "schema.json"
        try:
            target.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        except OSError as e:
            raise EnvironmentError_(f"cannot write {target}: {e.strerror or e}. To fix: make it writable, "
                                    "or write elsewhere with --out FILE") from e
    except ModelfleetError as e:
        raise fail(e) from e
    say(f"wrote {target}")
