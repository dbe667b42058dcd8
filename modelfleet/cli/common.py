"""What every command module shares: output, errors, the project and stack options.

Contract:
- Output never interprets user values: every Rich console here has markup, emoji and
  highlighting off; colour comes only from `Text` styles. `show()` prints a renderable at
  the terminal's width in a TTY and, piped, at the width the renderable needs — never
  cropped, never squeezed to 80 columns. `out()` writes machine output (JSON, Markdown,
  GitHub annotations) to stdout unchanged.
- `fail(e, fmt)` reports a `ModelfleetError` in the requested format — located lines on
  stderr for people, `{"ok": false, "problems": [...]}` on stdout for `json`, `::error`
  lines for `github` — and returns the `typer.Exit` carrying the error's exit code.
- `project_root(project_dir)` finds the project like Pulumi (walk up to Pulumi.yaml;
  `--project-dir`/`--cwd` starts the walk elsewhere); `stack_names(root, values)` accepts
  repeated and comma-separated `--stack` values and refuses unknown names with the closest
  known ones.
Exit codes: 0 ok, 1 policy/budget/quota verdict, 2 bad input, 3 environment (credentials,
daemon, missing extra).
"""

from __future__ import annotations

import difflib
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.text import Text

from modelfleet.environment import STACK_FILE_RE, stack_paths
from modelfleet.errors import ModelfleetError, Problem, SpecError
from modelfleet.github_commands import annotation
from modelfleet.project import STACKS_DIR, find_project, require

ProjectDir = Annotated[Path | None, typer.Option(
    "--project-dir", "--cwd", "-C", metavar="DIR", show_default=False,
    help="Run as if started in DIR: the project is the nearest directory at or above it holding Pulumi.yaml "
         "(default: the current directory).")]
StackList = Annotated[list[str] | None, typer.Option(
    "--stack", "-s", metavar="STACK", show_default=False,
    help="Stack name; repeat or separate with commas (default: every stack in stacks/).")]
StackOption = Annotated[str, typer.Option("--stack", "-s", metavar="STACK", help="Stack name (stacks/Pulumi.<STACK>.yaml).")]


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"


class PreviewFormat(StrEnum):
    tree = "tree"
    json = "json"


def _console(stream: Any, width: int | None = None) -> Console:
    return Console(file=stream, width=width, markup=False, emoji=False, highlight=False)


def stderr_console() -> Console:
    """A console for progress displays on stderr (markup off like every other)."""
    return _console(sys.stderr)


def show(renderable: RenderableType, *, stderr: bool = False) -> None:
    """Print a Rich renderable: wrapped to a terminal, or at its full width when piped."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        _console(stream).print(renderable)
        return
    probe = _console(io.StringIO(), width=100_000)
    width = Measurement.get(probe, probe.options, renderable).maximum
    _console(stream, width=max(width, 20)).print(renderable, crop=False)


def say(*parts: str | tuple[str, str] | Text, stderr: bool = False) -> None:
    """One line of human output; `(text, style)` parts are coloured in a terminal only."""
    stream = sys.stderr if stderr else sys.stdout
    _console(stream).print(Text.assemble(*parts), soft_wrap=not stream.isatty())


def out(text: str) -> None:
    """Machine output on stdout, exactly as given (a trailing newline is added if missing)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def diagnostic_line(*parts: str | None) -> str:
    """`stack: model: field: message` without empty segments (a stack-wide warning has no model)."""
    return ": ".join(p for p in parts if p)


def problems_of(e: ModelfleetError) -> list[dict[str, Any]]:
    """The error as located problems, each with the fields a text line shows."""
    if isinstance(e, SpecError):
        return [p.as_dict() for p in e.problems]
    found = []
    for line in str(e).splitlines() or [type(e).__name__]:
        message, _, fix = line.partition(" To fix: ")
        found.append(Problem("", message.rstrip(".") if fix else message, fix=fix.rstrip(".")).as_dict() | {"file": None})
    return found


def fail(e: ModelfleetError, fmt: str = "text") -> typer.Exit:
    """Report an error the user can fix, in the requested format, and return the Exit to raise."""
    problems = e.problems if isinstance(e, SpecError) else None
    if fmt == "json":
        out(json.dumps({"ok": False, "exit_code": e.exit_code, "problems": problems_of(e)}, indent=2))
    elif fmt == "github":
        if problems:
            for p in problems:
                out(annotation("error", p.render(), file=p.file or None, line=p.line, title=p.field or "spec"))
        else:
            for line in str(e).splitlines():
                out(annotation("error", line, title="modelfleet"))
    else:
        for line in [p.render() for p in problems] if problems else str(e).splitlines():
            say(("error:", "red"), " ", line, stderr=True)
    return typer.Exit(e.exit_code)


def project_root(project_dir: Path | None, *, specs: bool = False, stacks: bool = False) -> Path:
    """The project directory (raises `ProjectError`, exit 2, when there is none or it is empty)."""
    root = find_project(project_dir if project_dir is not None else Path.cwd(), explicit=project_dir is not None)
    require(root, specs=specs, stacks=stacks)
    return root


def known_stacks(root: Path) -> list[str]:
    return [m.group("stack") for p in stack_paths(root / STACKS_DIR) if (m := STACK_FILE_RE.match(p.name))]


def stack_names(root: Path, values: list[str] | None) -> list[str] | None:
    """`--stack a --stack b,c` → ["a", "b", "c"] (None when not given); unknown names are exit 2."""
    if not values:
        return None
    names = list(dict.fromkeys(n.strip() for v in values for n in v.split(",") if n.strip()))
    known = known_stacks(root)
    problems = []
    for name in names:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        fix = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
               else f"pick an existing stack, or create {root / STACKS_DIR}/Pulumi.{name}.yaml")
        problems.append(Problem(str(root / STACKS_DIR), f"no stack named {name!r}", field="--stack",
                                allowed=", ".join(known) or "none", fix=fix))
    if problems:
        raise SpecError(problems)
    return names


@contextmanager
def status(message: str) -> Iterator[None]:
    """A transient status line on stderr while long work runs — in a terminal only."""
    if sys.stderr.isatty():
        with _console(sys.stderr).status(message):
            yield
    else:
        yield
