"""`modelfleet catalog`: list priced offers, and `catalog refresh` them from the live APIs.

Contract: `app` is a Typer app meant to be mounted as the `catalog` command group. Without a
subcommand it lists offers sorted by price as a Rich table or JSON (money as decimal
strings). Unknown accelerator or platform: message ending "To fix: ..." and exit 2.
`refresh` rewrites the catalog files; a failed fetch leaves them unchanged and exits 3.
Typer and Rich are imported here only, so the catalog package stays importable without them.
Exit codes: 0, 2 unknown accelerator/platform, 3 a failed refresh.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from modelfleet.catalog import Offer, load_catalog
from modelfleet.catalog.accelerators import DATA_DIR
from modelfleet.catalog.listing import list_offers, offers_as_json
from modelfleet.cli.common import fail, out, say, show, status
from modelfleet.errors import CatalogError

EXIT_ENVIRONMENT = 3

app = typer.Typer(
    help="Priced machine offers per platform and region; `refresh` updates the prices.",
    no_args_is_help=False,
    rich_markup_mode=None,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class Cloud(StrEnum):
    aws = "aws"
    azure = "azure"
    all = "all"


def _gpu_cell(offer: Offer) -> str:
    if offer.accelerator is None:
        return "-"
    return f"{offer.gpu_count}x {offer.accelerator} {offer.gpu_memory_gib:g} GiB"


def offers_table(offers: list[Offer]) -> Table:
    dates = sorted({o.as_of for o in offers})
    span = f"{dates[0]} .. {dates[-1]}" if dates else "-"
    table = Table(
        title=f"{len(offers)} offers, cheapest first (USD per hour)",
        caption=f"prices as of {span}; sources: --format json",
    )
    numeric = {"vCPU", "RAM GiB", "on-demand", "spot"}
    names = {
        "platform": "platform",
        "region": "region",
        "instance type": "instance_type",
    }
    for column in (
        "platform",
        "region",
        "instance type",
        "GPU",
        "vCPU",
        "RAM GiB",
        "on-demand",
        "spot",
    ):
        # Names must stay whole and copy-pasteable on a narrow terminal; the rest may wrap.
        widest = max((len(getattr(o, names[column])) for o in offers), default=0) if column in names else None
        table.add_column(column, justify="right" if column in numeric else "left", min_width=widest)
    for o in offers:
        spot = "-" if o.spot_usd_hr is None else str(o.spot_usd_hr)
        table.add_row(
            o.platform, o.region, o.instance_type, _gpu_cell(o), f"{o.vcpus:g}", f"{o.memory_gib:g}",
            str(o.ondemand_usd_hr), spot,
        )  # fmt: skip
    return table


# the platform names stacks use, onto the catalog's price lists (EKS nodes are EC2, AKS nodes Azure VMs)
PLATFORM_ALIASES = {"eks": "ec2", "ec2": "ec2", "sagemaker": "sagemaker", "aks": "azure", "azure": "azure", "azureml": "azureml"}


def _accelerator_filter(value: str | None) -> tuple[str | None, int, float | None]:
    """The spec's accelerator vocabulary: `NAME`, `NAME:COUNT` or `{min_memory_gib: N, count: C}`."""
    if not value:
        return None, 0, None
    if value.strip().startswith("{"):
        import yaml

        try:
            data = yaml.safe_load(value)
            count = int(data.get("count", 1))
            memory = float(data["min_memory_gib"])
        except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as e:
            raise CatalogError(f"--accelerator {value!r} is not NAME[:COUNT] or {{min_memory_gib: N, count: C}}. "
                               "To fix: e.g. --accelerator A10G:4 or --accelerator '{min_memory_gib: 40}'") from e
        return None, count, memory
    name, _, count_text = value.partition(":")
    if count_text and not count_text.isdigit():
        raise CatalogError(f"--accelerator {value!r}: the count after ':' must be a whole number. To fix: e.g. A10G:4")
    return name, int(count_text or 0), None


@app.callback(invoke_without_command=True)
def catalog(
    ctx: typer.Context,
    accelerator: Annotated[str | None, typer.Option("--accelerator", "-a", metavar="NAME", show_default=False,
                                                    help="As in a spec: NAME, NAME:COUNT (at least COUNT GPUs) or '{min_memory_gib: N, count: C}'.")] = None,
    platform: Annotated[str | None, typer.Option("--platform", "-p", metavar="PLATFORM", show_default=False,
                                                 help="eks | sagemaker | aks | azureml (as stacks say; ec2 / azure also accepted).")] = None,
    region: Annotated[str | None, typer.Option("--region", "-r", metavar="REGION", show_default=False,
                                               help="AWS region or Azure location.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="table or json.")] = OutputFormat.table,
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", min=0, help="Show at most N offers (0 = all).")] = 0,
) -> None:
    """List offers sorted by on-demand price."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        catalog_ = load_catalog()
        name, count, min_memory = _accelerator_filter(accelerator)
        platform = PLATFORM_ALIASES.get(platform, platform) if platform else None
        offers = list_offers(catalog_, accelerator=name, platform=platform, region=region)
        offers = [o for o in offers if o.gpu_count >= count and (min_memory is None or (o.gpu_memory_gib or 0) >= min_memory)]
        if region is not None and not offers:
            platforms = [platform] if platform else list(PLATFORM_ALIASES.values())
            known = sorted({r for p in dict.fromkeys(platforms) for r in catalog_.regions(p)})
            if region not in known:
                raise CatalogError(f"unknown region {region!r} for {platform or 'any platform'}. Allowed: {', '.join(known)}. "
                                   "To fix: pick a region the catalog prices (or refresh it: `modelfleet catalog refresh --region R`)")
    except CatalogError as e:
        raise fail(e, output.value) from e
    if limit:
        offers = offers[:limit]
    if output is OutputFormat.json:
        out(json.dumps({"currency": "USD", "offers": offers_as_json(offers)}, indent=2))
    else:
        show(offers_table(offers))


@app.command()
def refresh(
    platform: Annotated[Cloud, typer.Option("--platform", "-p", help="Which cloud's prices to fetch.")] = Cloud.all,
    output: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Catalog directory to write.")] = DATA_DIR,
    region: Annotated[list[str] | None, typer.Option(
        "--region", "-r", metavar="REGION", show_default=False,
        help="Region to refresh (repeatable); default: every catalog region.")] = None,
) -> None:
    """Fetch today's prices from the AWS Price List and Azure Retail Prices APIs."""
    from modelfleet.catalog.refresh import CLOUDS
    from modelfleet.catalog.refresh import refresh as run_refresh

    clouds = CLOUDS if platform is Cloud.all else (platform.value,)
    try:
        with status(f"Fetching {', '.join(clouds)} prices..."):
            written = run_refresh(output, clouds=clouds, regions=region or None)
    except CatalogError as e:
        e.exit_code = EXIT_ENVIRONMENT  # a failed fetch is the network or the API, not the input
        raise fail(e) from e
    for name, rows in sorted(written.items()):
        say(f"{name}.csv: {rows} offers written to {output}", stderr=True)
