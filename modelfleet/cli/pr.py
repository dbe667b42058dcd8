"""`modelfleet pr --base REF`: the whole pull-request check from one plan per affected stack.

Output: `--format markdown` (default) prints the PR comment; `github` prints annotations
(workflow commands) and the comment goes to `--comment FILE` and, in GitHub Actions, to the
job summary; `json` prints the report. `--comment FILE` writes the Markdown in every format.
Exit codes: 0 ok; 1 a mandatory policy violation or a stack over budget; 2 invalid input
(validation problems are reported in the chosen format), an unknown ref, no project;
3 environment (git missing, a missing extra, an unwritable --comment file).
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from modelfleet.cli.common import ProjectDir, fail, out, project_root, say, status
from modelfleet.errors import EnvironmentError_, ModelfleetError


class PrFormat(StrEnum):
    markdown = "markdown"
    github = "github"
    json = "json"


def pr_command(
    base: Annotated[str, typer.Option("--base", "-b", metavar="REF", help="Git ref the pull request merges into, e.g. origin/main.")],
    fmt: Annotated[PrFormat, typer.Option("--format", "-f", help="markdown (the PR comment), github (annotations) or json.")] = PrFormat.markdown,
    comment: Annotated[Path | None, typer.Option("--comment", metavar="FILE", show_default=False,
                                                 help="Also write the Markdown comment to FILE (for a sticky PR comment).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", min=0, help="Worker processes for planning (0 = one per usable CPU).")] = 0,
    project_dir: ProjectDir = None,
) -> None:
    """Validate, preview diff, cost diff and policy verdicts for the stacks a change affects; one Markdown comment."""
    from modelfleet.pr import run_pr
    from modelfleet.pr_report import as_json, github_annotations, markdown

    try:
        root = project_root(project_dir, specs=True, stacks=True)
        with status(f"planning the stacks changed since {base}"):
            report = run_pr(root, base, jobs or None)
        text = markdown(report)
        for target in filter(None, [comment, Path(os.environ["GITHUB_STEP_SUMMARY"]) if fmt == PrFormat.github
                                    and os.environ.get("GITHUB_STEP_SUMMARY") else None]):
            try:
                with target.open("a" if target != comment else "w", encoding="utf-8") as f:
                    f.write(text)
            except OSError as e:
                raise EnvironmentError_(f"cannot write {target}: {e.strerror or e}. To fix: pass a writable --comment FILE") from e
    except ModelfleetError as e:
        raise fail(e, "json" if fmt == PrFormat.json else "github" if fmt == PrFormat.github else "text") from e
    if fmt == PrFormat.json:
        out(json.dumps(as_json(report), indent=2))
    elif fmt == PrFormat.github:
        out("\n".join(github_annotations(report)))
    else:
        out(text)
    if report.exit_code and fmt == PrFormat.markdown:
        say(("pr:", "red"), f" exit {report.exit_code}: see the comment above", stderr=True)
    raise typer.Exit(report.exit_code)
