"""`modelfleet check`: policy verdicts over the offline plan of each stack.

`check_command` is a plain function with Typer-annotated parameters; the CLI module
registers it (`app.command("check")(check_command)`). Exit codes: 0 clean (advisory
findings allowed), 1 any mandatory violation, 2 bad input, 3 environment problems.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelfleet.check import exit_code, list_rules_json, rules_table, run_checks
from modelfleet.errors import ModelfleetError


class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    github = "github"
    markdown = "markdown"


def check_command(
    stack: Annotated[
        list[str] | None,
        typer.Option("--stack", "-s", help="Stack to check (repeatable); default: every stack in stacks/."),
    ] = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")] = CheckFormat.table,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
    changed_since: Annotated[
        str | None,
        typer.Option("--changed-since", help="Only stacks affected by specs, stacks or policies changed since this git ref."),
    ] = None,
    project_dir: Annotated[
        Path, typer.Option("--project-dir", help="Project root (holds stacks/, model_specs/, policies/).")
    ] = Path("."),
) -> None:
    """Run the policy pack over each stack's offline plan; exit 1 on a mandatory violation."""
    console = Console()
    config_dir = project_dir / "policies" / "config"
    fmt_value = CheckFormat(fmt).value
    if list_rules:
        if fmt_value == "json":
            typer.echo(json.dumps(list_rules_json(config_dir), indent=2))
        else:
            console.print(rules_table(config_dir))
        raise typer.Exit(0)
    try:
        from modelfleet.preview import preview_stacks

        names = list(stack) if stack else None
        if changed_since:
            from modelfleet.changed import changed_stacks

            names = changed_stacks(project_dir, changed_since, names, project_wide=("policies",))
            if not names:
                typer.echo(f"nothing to check: no spec, stack or policy changed since {changed_since}")
                raise typer.Exit(0)
        plans = preview_stacks(project_dir, names)
        report = run_checks(plans, config_dir)
    except ModelfleetError as e:
        Console(stderr=True).print(f"[red]error:[/] {e}", markup=True, highlight=False)
        raise typer.Exit(e.exit_code) from e
    text = report.render(fmt_value, console)
    if text is not None:
        typer.echo(text)
    raise typer.Exit(exit_code(report))
