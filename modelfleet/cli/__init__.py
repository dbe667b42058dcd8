"""`modelfleet` command line (Typer + Rich): one module per command group, each thin and
delegating to the core (`modelfleet.validate`, `.preview`, `.cost`, `.check`, `.render`, ...).

- `common` — output, errors, project discovery, `--stack` parsing;  `streams` — pipe/locale-safe stdio
- `validate` — `validate`, `schema`;  `preview` — `preview`;  `check` — `check`
- `cost` — `cost`;  `catalog` — the `catalog` group;  `delivery` — `render`, `build`
- `pr` — `pr` (validate + preview diff + cost diff + policies in one comment)
- `quota` — `quota` (AWS and Azure);  `smoke` — `smoke` (every platform);  `release` — `release build`, `release pin`
- `rollout` — `promote`, `abort`;  `explain` — `explain` (a field's meaning, from the schema);  `new` — `new` (scaffold a spec)

Exit codes: 0 ok, 1 policy/budget/quota verdict (or an unexpected error, reported in one
line; `--debug` shows its traceback), 2 bad input, 3 environment (credentials, daemon,
missing extra). Entry point: `main` (`modelfleet` script, `python -m modelfleet.cli`).
"""

from __future__ import annotations

import atexit
import os
import sys
import traceback
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
import typer.core

from modelfleet.cli import streams
from modelfleet.cli.catalog import app as catalog_app
from modelfleet.cli.check import check_command
from modelfleet.cli.common import fail, say
from modelfleet.cli.cost import cost_command
from modelfleet.cli.delivery import build_command, render_command
from modelfleet.cli.explain import explain_command
from modelfleet.cli.new import new_command
from modelfleet.cli.pr import pr_command
from modelfleet.cli.preview import preview_command
from modelfleet.cli.quota import quota_command
from modelfleet.cli.release import app as release_app
from modelfleet.cli.rollout import abort_command, promote_command
from modelfleet.cli.smoke import smoke_command
from modelfleet.cli.validate import schema_command, validate_command
from modelfleet.errors import ModelfleetError

PROG = "modelfleet"


def _argument_metavar_only(self: typer.core._TyperParameter, ctx: Any) -> str | None:
    """Typer (0.2x) prints an argument's Python type (`<list[Path]>`) beside its metavar, where
    options show the metavar alone; arguments with a metavar follow the options' rule here."""
    return None if self.metavar is not None else _typer_argument_type(self, ctx)


_typer_argument_type = typer.core.TyperArgument.display_type_rich
typer.core.TyperArgument.display_type_rich = _argument_metavar_only  # type: ignore[method-assign,assignment]
DEBUG_ENV = "MODELFLEET_DEBUG"

app = typer.Typer(
    name=PROG,
    help="One model spec → GPU node pools, registries and endpoints on any platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain help: option help may hold brackets (HOST[:PORT][/PATH]) that Rich markup would parse
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        try:
            say(f"{PROG} {version(PROG)}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            say(f"{PROG} (not installed)")
        raise typer.Exit(0)


@app.callback()
def root(
    show_version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                               help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help=f"On an unexpected error, print the traceback "
                                                        f"(anywhere on the line; or set {DEBUG_ENV}=1).")] = False,
) -> None:
    """One model spec → GPU node pools, registries and endpoints on any platform."""


app.command("validate")(validate_command)
app.command("preview")(preview_command)
app.command("schema")(schema_command)
app.command("check")(check_command)
app.add_typer(catalog_app, name="catalog")
app.command("render")(render_command)
app.command("build")(build_command)
app.command("cost")(cost_command)
app.command("pr")(pr_command)
app.command("quota")(quota_command)
app.command("smoke")(smoke_command)
app.command("promote")(promote_command)
app.command("abort")(abort_command)
app.add_typer(release_app, name="release")
app.command("explain")(explain_command)
app.command("new")(new_command)


def main() -> None:
    """Run the CLI; no exception ever reaches the user as a traceback unless asked for."""
    streams.install()
    argv = sys.argv[1:]
    debug = "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    try:
        app(args=[a for a in argv if a != "--debug"], prog_name=PROG)
    except ModelfleetError as e:  # a command forgot to translate: still a located message and its exit code
        raise SystemExit(fail(e).exit_code) from e
    except KeyboardInterrupt:
        say(("interrupted", "yellow"), stderr=True)
        raise SystemExit(130) from None
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, exit 1
        if debug:
            traceback.print_exc()
        detail = (str(e).strip().splitlines() or [""])[0]
        say(("error:", "red"), f" unexpected {type(e).__name__}" + (f": {detail}" if detail else "")
            + (". This is a bug in modelfleet; please report it with the traceback" if debug
               else f". This is a bug in modelfleet: re-run with --debug (or {DEBUG_ENV}=1) for the traceback"), stderr=True)
        raise SystemExit(1) from None
    finally:
        if "modelfleet.preview" in sys.modules:  # only commands that ran the program under mocks leave loops open
            # at exit, not now: a later preview in this process would find its worker threads' loops closed
            atexit.register(sys.modules["modelfleet.preview"].close_event_loops)
