"""`modelfleet cost`: monthly min / expected / max per model and stack, optionally vs a git ref.

`cost_command` is a plain function with Typer-annotated parameters; the CLI registers it
(`app.command("cost")(cost_command)`). Inputs: the project's stacks (offline preview), or a
real `pulumi preview --json` file (`--from-preview`). Exit codes: 0 ok, 1 a stack's monthly
max exceeds its budget (each such stack is named on stderr), 2 bad input (unknown stack,
invalid usage file with its line, unknown --diff ref, unreadable preview file, no project/specs/
stacks), 3 environment (a missing extra). With `--format json`, errors are JSON on stdout too.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from modelfleet.cli.common import ProjectDir, StackList, fail, out, project_root, say, show, stack_names
from modelfleet.errors import ModelfleetError


class CostFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def cost_command(
    stack: StackList = None,
    usage: Annotated[Path | None, typer.Option("--usage", metavar="FILE", show_default=False,
                                               help="YAML {environment: {model: average replicas}} for the expected figure.")] = None,
    diff: Annotated[str | None, typer.Option("--diff", metavar="REF", show_default=False,
                                             help="Git ref to compare with (e.g. origin/main); working tree untouched.")] = None,
    from_preview: Annotated[Path | None, typer.Option("--from-preview", metavar="FILE", show_default=False,
                                                      help="Price a real `pulumi preview --json` file instead.")] = None,
    region: Annotated[str | None, typer.Option("--region", metavar="REGION", show_default=False,
                                               help="Region for --from-preview when the file does not say.")] = None,
    fmt: Annotated[CostFormat, typer.Option("--format", "-f", help="table, json or markdown (PR comment).")] = CostFormat.table,
    changed_since: Annotated[str | None, typer.Option("--changed-since", metavar="REF", show_default=False,
                                                      help="Only stacks affected by specs or stacks changed since this git ref.")] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Monthly cost per model and stack (min / expected / max); exit 1 when a stack's max exceeds its budget."""
    from modelfleet.cost import estimate_plan
    from modelfleet.cost.diff import compare
    from modelfleet.cost.report_json import cost_json
    from modelfleet.cost.report_text import cost_markdown, cost_tables, usd

    value = CostFormat(fmt).value
    try:
        if from_preview is not None and diff is not None:
            raise ModelfleetError("--diff compares project states and cannot be combined with --from-preview. "
                                  "To fix: run `pulumi preview --json` on both commits and price each file")
        root = None if from_preview is not None else project_root(project_dir, specs=True, stacks=True)
        names = stack_names(root, stack) if root is not None else stack
        if changed_since and root is not None:
            from modelfleet.changed import changed_stacks

            names = changed_stacks(root, changed_since, names)
            if not names:
                message = f"nothing to price: no spec or stack changed since {changed_since}"
                out(json.dumps({"currency": "USD", "stacks": [], "diff": None, "note": message}, indent=2)
                    if value == "json" else message)
                raise typer.Exit(0)
        from modelfleet.progress import terminal_status

        with terminal_status("cost", enabled=value == "table"):
            plans, base = _plans(root, names, from_preview, region, diff)
        loaded = _usage(usage, root, plans) if usage is not None else None

        def averages(environment: str) -> dict | None:
            return loaded.averages_for(environment) if loaded is not None else None

        estimates = [estimate_plan(p, averages(p.environment)) for p in plans]
        change = None
        if diff is not None:
            before = [estimate_plan(p, averages(p.environment)) for p in base]
            change = compare(diff, before, estimates)
    except ModelfleetError as e:
        raise fail(e, value) from e

    if value == "json":
        out(json.dumps(cost_json(estimates, change), indent=2))
    elif value == "markdown":
        out(cost_markdown(estimates, change))
    else:
        for renderable in cost_tables(estimates, change):
            show(renderable)
    over = [s for s in estimates if s.over_budget]
    for s in over:
        say(("over budget:", "red"), f" stack {s.stack}: monthly max {usd(s.monthly_max)} exceeds its budget {usd(s.budget)}. "
            "To fix: lower max_replicas or pick cheaper accelerators, or raise modelfleet:budget", stderr=True)
    raise typer.Exit(1 if over else 0)


def _plans(project_dir: Path | None, stack: list[str] | None, from_preview: Path | None, region: str | None,
           diff: str | None) -> tuple[list, list]:
    """(plans to price, plans at the --diff ref or [])."""
    names = list(stack) if stack else None
    if from_preview is not None:
        from modelfleet.cost.pulumi_json import plan_from_preview

        return [plan_from_preview(from_preview, region=region, stack=names[0] if names else None)], []
    from modelfleet.cost.project import current_plans, plans_with_base

    assert project_dir is not None  # only --from-preview runs without a project
    if diff is not None:
        current, base = plans_with_base(project_dir, diff, names)
        return current.plans, base
    return current_plans(project_dir, names).plans, []


def _usage(path: Path, project_dir: Path | None, plans: list):
    from modelfleet.cost.project import known_names
    from modelfleet.cost.usage import load_usage

    models: set[str] = set()
    environments: set[str] = set()
    if project_dir is not None:
        models, environments = known_names(project_dir)
    for plan in plans:
        models.update(plan.config.get("models") or [])
        if plan.environment:
            environments.add(plan.environment)
    return load_usage(path, models, environments)
