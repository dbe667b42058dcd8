"""GitHub Actions workflow commands: the `::error` / `::warning` / `::notice` lines that become
annotations on a pull request.

Contract:
- `escape(text, prop=False)` encodes a message (`%`, CR, LF) or, with `prop`, a parameter value
  (also `:` and `,`), as GitHub's runner decodes them (actions/toolkit, packages/core/src/command.ts:
  escapeData / escapeProperty).
- `annotation(kind, message, file=None, line=None, title=None)` → one command line. `file` is
  written relative to the repository checkout — `$GITHUB_WORKSPACE` when set and the file is
  inside it, else the working directory — because GitHub attaches an annotation to a file of the
  pull request only by its repository-relative path; an absolute runner path (or `./x`) shows in
  the log but on no file (GitHub docs, "Workflow commands for GitHub Actions", "Setting an error
  message": `::error file={name},line={line},title={title}::{message}`; seen in
  crate-ci/typos#1496 and astral-sh/ruff#17435). A file outside the checkout is kept as written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

Kind = Literal["error", "warning", "notice"]


def escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def repository_path(file: str) -> str:
    """`file` relative to $GITHUB_WORKSPACE (or the working directory) when inside it."""
    path = Path(file)
    if not path.is_absolute():
        return path.as_posix().removeprefix("./")
    for base in (os.environ.get("GITHUB_WORKSPACE"), os.getcwd()):
        if base:
            try:
                return path.resolve().relative_to(Path(base).resolve()).as_posix()
            except ValueError:
                continue
    return path.as_posix()


def annotation(kind: Kind, message: str, *, file: str | None = None, line: int | None = None,
               title: str | None = None) -> str:
    params = []
    if file:
        params.append(f"file={escape(repository_path(file), prop=True)}")
        params.append(f"line={line or 1}")
    if title:
        params.append(f"title={escape(title, prop=True)}")
    return f"::{kind}{' ' + ','.join(params) if params else ''}::{escape(message)}"
