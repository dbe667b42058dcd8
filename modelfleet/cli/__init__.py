"""`modelfleet` command line (Typer + Rich): one module per command group, each thin and
delegating to the core (`modelfleet.validate`, `.preview`, `.cost`, `.check`, `.render`, ...).

- `common` — consoles, `--project-dir`, formats, `fail` (error → message + exit code)
- `validate` — `validate`, `schema`;  `preview` — `preview`;  `check` — `check`
- `cost` — `cost`;  `catalog` — the `catalog` group;  `delivery` — `render`, `build`
- `aws` — `quota`, `smoke`;  `rollout` — `promote`, `abort`

Exit codes: 0 ok, 1 policy/budget/quota verdict, 2 bad input, 3 environment (credentials,
daemon). Every command takes `--project-dir`. JSON output is the DESIGN §5 contract.
Entry point: `main` (`modelfleet` script, `python -m modelfleet.cli`).
"""

from __future__ import annotations

import sys

import typer

from modelfleet.cli.aws import quota_command, smoke_command
from modelfleet.cli.catalog import app as catalog_app
from modelfleet.cli.check import check_command
from modelfleet.cli.common import errors
from modelfleet.cli.cost import cost_command
from modelfleet.cli.delivery import build_command, render_command
from modelfleet.cli.preview import preview_command
from modelfleet.cli.rollout import abort_command, promote_command
from modelfleet.cli.validate import schema_command, validate_command
from modelfleet.errors import ModelfleetError

app = typer.Typer(help="One model spec → GPU node pools, registries and endpoints on any platform.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

app.command("validate")(validate_command)
app.command("preview")(preview_command)
app.command("schema")(schema_command)
app.command("check")(check_command)
app.add_typer(catalog_app, name="catalog")
app.command("render")(render_command)
app.command("build")(build_command)
app.command("cost")(cost_command)
app.command("quota")(quota_command)
app.command("smoke")(smoke_command)
app.command("promote")(promote_command)
app.command("abort")(abort_command)


def main() -> None:
    try:
        app()
    except ModelfleetError as e:  # a command forgot to translate: still no traceback for user errors
        errors.print(f"[red]error:[/] {e}", highlight=False)
        sys.exit(e.exit_code)
