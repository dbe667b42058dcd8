"""`modelfleet preview`: the Pulumi program offline under mocks; a resource tree (or JSON) per
stack with its monthly cost range and diagnostics.

Exit codes: 0 ok, 2 invalid input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from modelfleet.cli.common import PreviewFormat, ProjectDir, console, fail
from modelfleet.errors import ModelfleetError


def preview_command(
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
