"""`modelfleet preview`: the Pulumi program offline under mocks; a resource tree (or JSON) per
stack with its monthly cost range and diagnostics.

Exit codes: 0 ok, 2 invalid input or no project/specs/stacks, 3 a stack's platform needs an
extra that is not installed. With `--format json`, errors are JSON on stdout too.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated

import typer

from modelfleet.cli.common import PreviewFormat, ProjectDir, StackList, fail, out, project_root, show, stack_names
from modelfleet.errors import ModelfleetError


def preview_command(
    stack: StackList = None,
    fmt: Annotated[PreviewFormat, typer.Option("--format", "-f", help="tree or json.")] = PreviewFormat.tree,
    explain_placement: Annotated[bool, typer.Option(
        "--explain-placement", help="After each tree, per model the offers its machine was chosen among: the cheaper "
                                    "ones passed over and why, the chosen one, the next that fit (JSON: placements[]).")] = False,
    project_dir: ProjectDir = None,
) -> None:
    """Run the Pulumi program offline under mocks: resources per stack, cost range, diagnostics."""
    from modelfleet.preview import preview_stacks
    from modelfleet.progress import terminal_status
    from modelfleet.render_preview import placement_table, preview_json, preview_tree

    try:
        root = project_root(project_dir, specs=True, stacks=True)
        with terminal_status("preview", enabled=fmt == PreviewFormat.tree):
            plans = preview_stacks(root, stack_names(root, stack))
    except ModelfleetError as e:
        raise fail(e, fmt.value) from e
    costs, slots = _cost_ranges(plans)
    if fmt == PreviewFormat.json:
        out(json.dumps(preview_json(plans, costs, slots), indent=2, sort_keys=False))
        return
    from modelfleet.cost.report_text import usd

    for plan in plans:
        c = costs.get(plan.stack)
        line = f"monthly {usd(Decimal(c['monthly_min']))}–{usd(Decimal(c['monthly_max']))}" if c else None
        show(preview_tree(plan, line, slots.get(plan.stack)))
        for table in placement_table(plan) if explain_placement else []:
            show(table)


def _cost_ranges(plans: list) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict]]]:
    """Monthly min/max per stack as decimal strings (the JSON contract for money), and per stack
    and model the second slot's cost of each rollout in progress."""
    from modelfleet.cost import estimate_plan
    from modelfleet.cost.report_json import second_slot_json

    out, slots = {}, {}
    for plan in plans:
        est = estimate_plan(plan)
        out[plan.stack] = {"monthly_min": str(est.monthly_min), "monthly_max": str(est.monthly_max)}
        slots[plan.stack] = {r.model: second_slot_json(r) for r in est.rollouts}
    return out, slots
