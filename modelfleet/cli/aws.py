"""AWS commands: `quota --stack S`, as a plain Typer-annotated function
the CLI registers (`app.command("quota")(quota_command)`).

Exit codes: 0 ok; 1 quota short; 2 bad input (spec, stack, unknown model,
non-AWS stack); 3 no AWS credentials or AWS unreachable (a message, never a traceback).
boto3 is imported only inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from modelfleet.cli.common import ProjectDir, StackOption, fail, project_root, say, show, stack_names
from modelfleet.errors import ModelfleetError

if TYPE_CHECKING:
    from modelfleet.placement import StackPlacement


def _fail(message: str, code: int) -> typer.Exit:
    say(("error:", "red"), f" {message}", stderr=True)
    return typer.Exit(code)


def _placed(project_dir: Path | None, stack_name: str) -> StackPlacement:
    # the planning modules (Pulumi among them) load only when a command runs, not with the CLI
    from modelfleet.environment import find_stack, load_stack_file
    from modelfleet.program import plan_stack
    from modelfleet.spec import load_specs, spec_paths

    try:
        root = project_root(project_dir, specs=True, stacks=True)
        stack_names(root, [stack_name])
        stack = load_stack_file(find_stack(root / "stacks", stack_name))
        return plan_stack(stack, load_specs(spec_paths(root / "model_specs")))
    except ModelfleetError as e:
        raise fail(e) from e


def _session(region: str | None) -> Any:
    try:
        import boto3
    except ModuleNotFoundError as e:
        raise _fail("boto3 is not installed: quota and smoke call AWS APIs. To fix: pip install 'modelfleet[aws]'", 3) from e

    return boto3.session.Session(region_name=region)


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError, PartialCredentialsError

    return NoCredentialsError, PartialCredentialsError, NoRegionError, EndpointConnectionError


def _environment_failure(e: Exception) -> typer.Exit:
    return _fail(f"cannot reach AWS: {e}. To fix: configure credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/"
                 "AWS_SECRET_ACCESS_KEY, or an instance/SSO role) for the stack's account and region", 3)


def quota_command(stack: StackOption, project_dir: ProjectDir = None) -> None:
    """Planned peak GPU capacity (EC2 vCPUs per quota bucket, SageMaker endpoint instances) vs AWS Service Quotas."""
    from modelfleet.environment import KubernetesStack, SageMakerStack
    from modelfleet.quota import compare, needs

    sp = _placed(project_dir, stack)
    aws_stack = isinstance(sp.stack, SageMakerStack) or (isinstance(sp.stack, KubernetesStack) and sp.stack.cluster.kind == "eks")
    if not aws_stack:
        raise _fail(f"stack {stack!r} does not run on AWS. To fix: pick an EKS or SageMaker stack", 2)
    wanted = needs(sp)
    if not wanted:
        say(f"stack {stack}: no GPU capacity planned — nothing to check")
        return
    try:
        rows = compare(wanted, _session(sp.stack.region).client("service-quotas"))
    except _aws_errors() as e:
        raise _environment_failure(e) from e
    table = Table(title=f"quotas for stack {stack} ({sp.stack.region})")
    for column in ("service", "quota", "models", "need", "quota value", "headroom"):
        table.add_column(column, justify="right" if column in ("need", "quota value", "headroom") else "left")
    for row in rows:
        quota = "not found" if row.quota is None else f"{row.quota:g}"
        headroom = "?" if row.headroom is None else f"{row.headroom:g}"
        style = "red" if row.short else ("yellow" if row.quota is None else "green")
        table.add_row(row.need.service, row.need.quota_name, ", ".join(row.need.models),
                      f"{row.need.amount} {row.need.unit}", quota, Text(headroom, style=style))
    show(table)
    short = [r for r in rows if r.short]
    if short:
        for r in short:
            say(("short:", "red"), f" {r.need.quota_name}: need {r.need.amount} {r.need.unit}, quota {r.quota:g}. "
                "To fix: request an increase in the Service Quotas console, or lower max_replicas", stderr=True)
        raise typer.Exit(1)
