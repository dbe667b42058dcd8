"""What every command module shares: the consoles, the `--project-dir` option, output formats
and `fail`, which reports a `ModelfleetError` in the requested format and returns the Exit.

Exit codes: 0 ok, 1 policy/budget/quota verdict, 2 bad input, 3 environment (credentials,
daemon, missing extra).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelfleet.errors import ModelfleetError, SpecError

# CI logs are not terminals: give trees room instead of cropping them at 80 columns
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)
errors = Console(stderr=True, soft_wrap=True)

ProjectDir = Annotated[Path, typer.Option("--project-dir", help="Project root (holds model_specs/ and stacks/).")]


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"


class PreviewFormat(StrEnum):
    tree = "tree"
    json = "json"


def fail(e: ModelfleetError, fmt: str = "text") -> typer.Exit:
    """Report an error the user can fix, in the requested format, and return the Exit to raise."""
    if isinstance(e, SpecError):
        if fmt == "json":
            typer.echo(json.dumps({"ok": False, "problems": [p.as_dict() for p in e.problems]}, indent=2))
        elif fmt == "github":
            for p in e.problems:
                typer.echo(f"::error file={p.file},line={p.line or 1},title={p.field or 'spec'}::{p.render()}")
        else:
            for p in e.problems:
                errors.print(f"[red]error:[/] {p.render()}", highlight=False, markup=True)
    else:
        errors.print(f"[red]error:[/] {e}", highlight=False, markup=True)
    return typer.Exit(e.exit_code)
