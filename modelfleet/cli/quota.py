"""`modelfleet quota --stack S`: planned peak capacity against the cloud's quotas and what runs now,
on AWS (EKS, SageMaker) and Azure (AKS, Azure ML). A plain Typer-annotated function the CLI
registers (`app.command("quota")(quota_command)`).

Output: one table per stack (service, family, models, quota, in use, planned peak, headroom) or,
with `--format json`, `{"stacks": [{"stack", "cloud", "region", "short", "rows": [{"service",
"family", "unit", "quota", "in_use", "planned_peak", "headroom", "short", "models", "note"}]}], "short"}`.
Exit codes: 0 enough headroom; 1 short somewhere; 2 bad input (spec, stack, a named stack not on
AWS or Azure); 3 no credentials, a missing SDK, or an API error (its code and message).
The SDKs are imported only when the command runs.
"""

from __future__ import annotations

import json
import logging
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from modelfleet.cli.common import ProjectDir, StackList, fail, known_stacks, out, project_root, say, show, stack_names
from modelfleet.errors import ModelfleetError

if TYPE_CHECKING:
    from modelfleet.placement import StackPlacement
    from modelfleet.quota import QuotaRow

SUBSCRIPTION_ENV = "AZURE_SUBSCRIPTION_ID"


class QuotaFormat(StrEnum):
    table = "table"
    json = "json"


def _placed(root: Path, stack_name: str) -> StackPlacement:
    # the planning modules (Pulumi among them) load only when a command runs, not with the CLI
    from modelfleet.environment import find_stack, load_stack_file
    from modelfleet.program import plan_stack
    from modelfleet.spec import load_specs, spec_paths

    stack = load_stack_file(find_stack(root / "stacks", stack_name))
    return plan_stack(stack, load_specs(spec_paths(root / "model_specs")))


def _session(region: str | None) -> Any:
    """A boto3 session in the stack's region (tests replace it with stubbed clients)."""
    from modelfleet.quota import QuotaError

    try:
        import boto3
    except ModuleNotFoundError as e:
        raise QuotaError("boto3 is not installed: quota calls AWS APIs. To fix: pip install 'modelfleet[aws]'") from e
    return boto3.session.Session(region_name=region)


def _azure() -> tuple[Any, str, dict[str, Any]]:
    """(credential, subscription id, extra client arguments) for the Azure SDK clients."""
    from modelfleet.quota import QuotaError

    subscription = os.environ.get(SUBSCRIPTION_ENV, "").strip()
    if not subscription:
        raise QuotaError(f"{SUBSCRIPTION_ENV} is not set: Azure quotas are per subscription. "
                         f"To fix: export {SUBSCRIPTION_ENV}=$(az account show --query id -o tsv)")
    try:
        import azure.mgmt.compute  # noqa: F401
        import azure.mgmt.machinelearningservices  # noqa: F401
        from azure.identity import DefaultAzureCredential
    except ModuleNotFoundError as e:
        raise QuotaError(f"{e.name} is not installed: quota calls Azure APIs. To fix: pip install 'modelfleet[azure]'") from e
    # azure-identity logs every credential it tried as a multi-line WARNING; the failure reaches the
    # user once, as the command's own exit-3 message
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    return DefaultAzureCredential(), subscription, {}


def _rows(sp: StackPlacement, cloud: str) -> list[QuotaRow]:
    if cloud == "aws":
        from modelfleet import quota_aws

        return quota_aws.check(sp, _session(sp.stack.region))
    from modelfleet import quota_azure

    credential, subscription, kwargs = _azure()
    return quota_azure.check(sp, credential, subscription, **kwargs)


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _table(stack: str, cloud: str, region: str | None, rows: list[QuotaRow]) -> Table:
    table = Table(title=f"quotas for stack {stack} ({cloud}, {region})")
    for column in ("service", "family", "models", "quota", "in use", "planned peak", "headroom", "note"):
        table.add_column(column, justify="right" if column in ("quota", "in use", "planned peak", "headroom") else "left")
    for r in rows:
        style = "red" if r.short else ("yellow" if r.quota is None else "green")
        table.add_row(r.service, r.family, ", ".join(r.models), "not found" if r.quota is None else _number(r.quota),
                      _number(r.in_use), f"{r.planned} {r.unit}", Text(_number(r.headroom), style=style), r.note)
    return table


def quota_command(
    stack: StackList = None,
    fmt: Annotated[QuotaFormat, typer.Option("--format", "-f", help="table or json.")] = QuotaFormat.table,
    project_dir: ProjectDir = None,
) -> None:
    """Planned peak capacity vs the cloud's quotas minus what runs now (AWS: EC2 vCPU buckets, SageMaker
    endpoint instances; Azure: regional vCPU families for AKS, Azure ML per-family quota)."""
    from modelfleet.environment import find_stack, load_stack_file
    from modelfleet.quota import cloud_of, report

    value = QuotaFormat(fmt).value
    fmt_fail = "json" if value == "json" else "text"
    documents: list[dict[str, Any]] = []
    try:
        root = project_root(project_dir, specs=True, stacks=True)
        names = stack_names(root, stack)
        explicit = names is not None
        for name in names or known_stacks(root):
            cloud = cloud_of(load_stack_file(find_stack(root / "stacks", name)))
            if cloud is None:
                if explicit:
                    raise ModelfleetError(f"stack {name!r} runs on neither AWS nor Azure: quotas are a cloud account's. "
                                         "To fix: pick an EKS, SageMaker, AKS or Azure ML stack")
                continue
            sp = _placed(root, name)
            rows = _rows(sp, cloud)
            documents.append(report(name, cloud, sp.stack.region, rows))
            if value == "table":
                if rows:
                    show(_table(name, cloud, sp.stack.region, rows))
                else:
                    say(f"stack {name}: no GPU capacity planned — nothing to check")
    except ModelfleetError as e:
        raise fail(e, fmt_fail) from e
    short = [(d["stack"], r) for d in documents for r in d["rows"] if r["short"]]
    if value == "json":
        out(json.dumps({"stacks": documents, "short": bool(short)}, indent=2))
    else:
        for name, r in short:
            say(("short:", "red"), f" {name}: {r['family']}: quota {r['quota']:g}, in use {r['in_use'] or 0:g}, "
                f"planned peak {r['planned_peak']} {r['unit']}. To fix: request an increase (AWS Service Quotas console / "
                "Azure portal Quotas), free capacity, or lower max_replicas", stderr=True)
    if short:
        raise typer.Exit(1)
