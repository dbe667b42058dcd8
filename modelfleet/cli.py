"""`modelfleet` command line (Typer + Rich). Commands stay thin: each delegates to a module.

Exit codes: 0 ok, 1 policy/budget/quota verdict, 2 bad input, 3 environment (credentials,
daemon). Every command takes `--project-dir`. JSON output is the DESIGN §5 contract.
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

app = typer.Typer(help="One model spec → GPU node pools, registries and endpoints on any platform.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
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


@app.command()
def validate(
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


@app.command()
def preview(
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Stack name (repeatable); default: all.")] = None,
    fmt: Annotated[PreviewFormat, typer.Option("--format", "-f", help="tree or json.")] = PreviewFormat.tree,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Run the Pulumi program offline under mocks: resources per stack, cost range, diagnostics."""
    from modelfleet.preview import preview_stacks
    from modelfleet.render_preview import preview_json, preview_tree

    try:
        plans = preview_stacks(project_dir, stack)
    except ModelfleetError as e:
        raise fail(e) from e
    costs = _cost_ranges(plans)
    if fmt == PreviewFormat.json:
        typer.echo(json.dumps(preview_json(plans, costs), indent=2, sort_keys=False))
        return
    for plan in plans:
        c = costs.get(plan.stack)
        line = f"monthly ${c['monthly_min']}–${c['monthly_max']}" if c else None
        console.print(preview_tree(plan, line), highlight=False)


def _cost_ranges(plans: list) -> dict[str, dict[str, str]]:
    """Monthly min/max per stack when the cost engine is available."""
    try:
        from modelfleet.cost import estimate_plan
    except ImportError:
        return {}
    out = {}
    for plan in plans:
        est = estimate_plan(plan)
        out[plan.stack] = {"monthly_min": str(est.monthly_min), "monthly_max": str(est.monthly_max)}
    return out


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Write here (default: model_specs/schema.json).")] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write the model spec JSON Schema for editor completion."""
    from modelfleet.spec import json_schema

    target = out or project_dir / "model_specs" / "schema.json"
    target.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    console.print(f"wrote {target}", highlight=False)


def _register_optional() -> None:
    """Commands whose modules may pull heavier dependencies register lazily-importing wrappers."""
    from modelfleet.cli_catalog import app as catalog_app
    from modelfleet.cli_check import check_command

    app.command("check")(check_command)
    app.add_typer(catalog_app, name="catalog")
    from modelfleet.cli_delivery import build_command, render_command

    app.command("render")(render_command)
    app.command("build")(build_command)
    from modelfleet.cli_cost import cost_command

    app.command("cost")(cost_command)
    from modelfleet.cli_aws import quota_command, smoke_command

    app.command("quota")(quota_command)
    app.command("smoke")(smoke_command)


_register_optional()


def main() -> None:
    try:
        app()
    except ModelfleetError as e:  # a command forgot to translate: still no traceback for user errors
        errors.print(f"[red]error:[/] {e}", highlight=False)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
