"""`modelfleet smoke --stack S [MODEL ...]`: after a deploy, is every model ready and answering?

Thin glue over `modelfleet.smoke.run`: a table (or `--format json`, see `modelfleet.smoke.result`)
with per model the status, time to ready, request latency and HTTP status. Exit 0 every model
answered, 1 a model failed (never ready, or a wrong answer), 2 bad input (unknown stack or model,
bad sample file, `--payload` not JSON), 3 unreachable or no credentials / kubeconfig.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from modelfleet.cli.common import ProjectDir, StackOption, fail, out, project_root, say, show, stack_names
from modelfleet.errors import ModelfleetError


class SmokeFormat(StrEnum):
    text = "text"
    json = "json"


STYLES = {"ok": "green", "failed": "red", "unreachable": "yellow"}


def smoke_command(
    stack: StackOption,
    models: Annotated[list[str] | None, typer.Argument(metavar="[MODEL]...", show_default=False,
                                                       help="Models to test (default: every model of the stack).")] = None,
    timeout: Annotated[int, typer.Option("--timeout", metavar="SECONDS", min=1, help="Seconds each model may take to become ready.")] = 1800,
    payload: Annotated[str | None, typer.Option("--payload", metavar="JSON", show_default=False,
                                                help="JSON request body instead of the spec's smoke.body_file.")] = None,
    context: Annotated[str | None, typer.Option("--context", metavar="CONTEXT", show_default=False,
                                                help="Kubeconfig context (default: the stack's cluster context or name).")] = None,
    fmt: Annotated[SmokeFormat, typer.Option("--format", "-f", help="text or json.")] = SmokeFormat.text,
    project_dir: ProjectDir = None,
) -> None:
    """After a deploy: wait until each model is ready, send it one real request, report ready time, status and latency."""
    from modelfleet.smoke.result import exit_code, report_json
    from modelfleet.smoke.run import smoke_stack
    from modelfleet.smoke.target import SmokeInputError

    try:
        root = project_root(project_dir, specs=True, stacks=True)
        stack_names(root, [stack])
        body: Any = None
        if payload is not None:
            try:
                body = json.loads(payload)
            except json.JSONDecodeError as e:
                raise SmokeInputError(f"--payload is not JSON: {e}. To fix: pass a JSON document, e.g. '{{\"inputs\": \"hi\"}}'") from e
        run = smoke_stack(root, stack, list(models or []), float(timeout), context=context, payload=body)
    except ModelfleetError as e:
        raise fail(e, SmokeFormat(fmt).value) from e
    code = exit_code(run.results)
    if SmokeFormat(fmt) == SmokeFormat.json:
        out(json.dumps(report_json(run.stack, run.platform, run.results), indent=2))
        raise typer.Exit(code)
    table = Table(title=f"smoke test of stack {run.stack} ({run.platform})")
    for column in ("model", "status", "ready", "latency", "HTTP", "via"):
        table.add_column(column, justify="right" if column in ("ready", "latency", "HTTP") else "left")
    for r in run.results:
        table.add_row(r.model, Text(r.status, style=STYLES[r.status]), "-" if r.ready_s is None else f"{r.ready_s:.1f} s",
                      "-" if r.latency_ms is None else f"{r.latency_ms:.0f} ms", "-" if r.http_status is None else str(r.http_status), r.via)
    show(table)
    for r in run.results:
        if r.message:
            say((r.model, STYLES[r.status]), f": {r.message}")
    raise typer.Exit(code)
