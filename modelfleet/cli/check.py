"""`modelfleet check`: policy verdicts over the offline plan of each stack.

`check_command` is a plain function with Typer-annotated parameters; `modelfleet.cli`
registers it. Exit codes: 0 clean (advisory findings allowed), 1 any mandatory violation,
2 bad input or no project/specs/stacks, 3 environment (a missing extra). With
`--format json`, errors are JSON on stdout too.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from modelfleet.cli.common import ProjectDir, StackList, fail, out, project_root, say, show, stack_names
from modelfleet.errors import ModelfleetError


class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    github = "github"
    markdown = "markdown"


def check_command(
    stack: StackList = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help="table, json, github annotations or markdown.")] = CheckFormat.table,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
    changed_since: Annotated[str | None, typer.Option(
        "--changed-since", metavar="REF", show_default=False,
        help="Only stacks affected by specs, stacks or policies changed since this git ref.")] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Run the policy pack over each stack's offline plan; exit 1 on a mandatory violation."""
    from modelfleet.check import exit_code, list_rules_json, rules_table, run_checks, with_rollout_costs

    fmt_value = CheckFormat(fmt).value
    try:
        root = project_root(project_dir, specs=not list_rules, stacks=not list_rules)
        config_dir = root / "policies" / "config"
        if list_rules:
            if fmt_value == "json":
                out(json.dumps(list_rules_json(config_dir), indent=2))
            else:
                show(rules_table(config_dir))
            raise typer.Exit(0)
        from modelfleet.preview import preview_stacks

        names = stack_names(root, stack)
        if changed_since:
            from modelfleet.changed import changed_stacks

            names = changed_stacks(root, changed_since, names, project_wide=("policies",))
            if not names:
                _nothing(fmt_value, f"nothing to check: no spec, stack or policy changed since {changed_since}")
                raise typer.Exit(0)
        from modelfleet.progress import terminal_status

        with terminal_status("check", enabled=fmt_value == "table"):
            plans = preview_stacks(root, names)
        report = with_rollout_costs(run_checks(plans, config_dir), plans)
    except ModelfleetError as e:
        raise fail(e, fmt_value) from e
    if fmt_value == "table":
        show(report.rules_table())
        show(report.to_table())
        if report.rollouts:
            show(report.rollouts_table())
    else:
        out(report.render(fmt_value) or "")
    raise typer.Exit(exit_code(report))


def _nothing(fmt: str, message: str) -> None:
    if fmt == "json":
        out(json.dumps({"rules_evaluated": 0, "violations": [], "note": message}, indent=2))
    else:
        say(message)
