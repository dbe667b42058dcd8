"""`modelfleet release build|pin`: one artifact promoted dev → staging → prod by digest.

`release build --registry R --out FILE` builds and pushes every model image once and writes the
release file; `release pin --stack S --release FILE` writes those digests into the stack file as
`modelfleet:images.<model>` (see `modelfleet.release`). Exit 0 ok, 2 bad input (unknown stack,
bad release file), 3 environment (docker daemon, registry, credentials).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from modelfleet.cli.common import ProjectDir, StackOption, fail, out, project_root, say, stack_names
from modelfleet.errors import ModelfleetError

app = typer.Typer(help="Build each model image once, and pin its digest into the stacks of every stage.",
                  no_args_is_help=True)


@app.command("build")
def build_command(
    registry: Annotated[str, typer.Option("--registry", metavar="HOST/PATH",
                                          help="Release registry every stage pulls from, e.g. ghcr.io/acme/models.")],
    out_file: Annotated[Path, typer.Option("--out", "-o", metavar="FILE",
                                           help="Release file to write (JSON: model → repository@sha256 digest).")] = Path("release.json"),
    project_dir: ProjectDir = None,
) -> None:
    """Build and push every model with a `build:` section that a stack serves; record the digests."""
    from modelfleet.release import build_release, write_release

    try:
        release = build_release(project_root(project_dir, specs=True, stacks=True), registry)
    except ModelfleetError as e:
        raise fail(e) from e
    write_release(release, out_file)
    for model, reference in sorted(release.images.items()):
        say(("released", "green"), f" {model}: {reference}")
    say(f"wrote {out_file} ({len(release.images)} image(s))")


@app.command("pin")
def pin_command(
    stack: StackOption,
    release_file: Annotated[Path, typer.Option("--release", metavar="FILE", help="Release file from `modelfleet release build`.")],
    project_dir: ProjectDir = None,
) -> None:
    """Write the release's digests into the stack as modelfleet:images.<model> (models the stack serves)."""
    from modelfleet.release import pin_stack, read_release

    try:
        root = project_root(project_dir, specs=True, stacks=True)
        stack_names(root, [stack])
        pins = pin_stack(root, stack, read_release(release_file))
    except ModelfleetError as e:
        raise fail(e) from e
    out(json.dumps({"stack": stack, "pinned": pins}, indent=2))
