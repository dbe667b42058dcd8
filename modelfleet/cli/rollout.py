"""`modelfleet promote MODEL --stack S` / `modelfleet abort MODEL --stack S`: end a rollout by
editing `stacks/Pulumi.<S>.yaml` (`modelfleet.rollout_state`), print the diff, write the file.

Exit codes: 0 written (or shown with --dry-run), 2 refused (unknown model or stack, no rollout in
progress, a dirty or invalid stack file): nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelfleet.cli.common import ProjectDir, fail, out, project_root, say, stack_names
from modelfleet.errors import EnvironmentError_, ModelfleetError

Model = Annotated[str, typer.Argument(metavar="MODEL", help="Model name (the spec's `name`).")]
Stack = Annotated[str, typer.Option("--stack", "-s", metavar="STACK", help="Stack whose modelfleet:stable entry changes.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the diff without writing the file.")]


def _run(action: str, model: str, stack: str, dry_run: bool, project_dir: Path | None) -> None:
    from modelfleet.rollout_state import prepare

    try:
        root = project_root(project_dir, specs=True, stacks=True)
        stack_names(root, [stack])
        edit = prepare(root, model, stack, action)  # type: ignore[arg-type]
    except ModelfleetError as e:
        raise fail(e) from e
    if edit.diff:
        out(edit.diff)
    if not dry_run:
        try:
            edit.write()
        except OSError as e:
            raise fail(EnvironmentError_(f"cannot write {edit.path}: {e.strerror or e}. To fix: make it writable")) from e
    say(f"{'would have ' if dry_run else ''}{edit.summary}. Commit {edit.path} and open a pull request; "
        "the next deploy of the stack carries it out.")


def promote_command(model: Model, stack: Stack, dry_run: DryRun = False, project_dir: ProjectDir = None) -> None:
    """Record the spec's version as the stable one on the stack (ends a rollout; one slot remains)."""
    _run("promote", model, stack, dry_run, project_dir)


def abort_command(model: Model, stack: Stack, dry_run: DryRun = False, project_dir: ProjectDir = None) -> None:
    """Send all traffic back to the stable version; the new one stays at 0 % until the spec's version changes."""
    _run("abort", model, stack, dry_run, project_dir)
