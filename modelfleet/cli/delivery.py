"""Delivery commands: `render` (GitOps YAML) and `build` (images → the stack's registry).

Plain functions with Typer-annotated parameters; `modelfleet.cli` registers them.
Exit codes: 0 ok, 2 bad input (unknown stack/model, not a Kubernetes stack, nothing to
build), 3 environment (docker daemon, registry, credentials).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from modelfleet.errors import ModelfleetError

ProjectDir = Annotated[Path, typer.Option("--project-dir", help="Project root (holds model_specs/ and stacks/).")]


class HelmAs(StrEnum):
    flux = "flux"
    argocd = "argocd"


class BuildFormat(StrEnum):
    text = "text"
    json = "json"


def _fail(e: ModelfleetError) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {escape(str(e))}", markup=True, highlight=False)
    return typer.Exit(e.exit_code)


def render_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Kubernetes stack to render.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the YAML tree (point Argo CD / Flux at it).")],
    helm: Annotated[HelmAs, typer.Option("--helm", help="Helm add-ons as Flux HelmReleases or Argo CD Applications.")] = HelmAs.flux,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write the stack's Kubernetes objects as sorted, stable YAML plus a kustomization.yaml."""
    from modelfleet.render import render_stack, write_rendered

    console = Console(soft_wrap=True)
    try:
        rendered = render_stack(project_dir, stack, HelmAs(helm).value)  # type: ignore[arg-type]
        write_rendered(rendered, out)
    except ModelfleetError as e:
        raise _fail(e) from e
    console.print(f"[green]rendered[/] {rendered.objects} objects for stack {stack} into {out}", highlight=False)
    for note in rendered.notes:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False)


def build_command(
    model: Annotated[str, typer.Argument(help="Model name (the spec's `name`).")],
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack whose environment and registry to use.")],
    push: Annotated[bool, typer.Option("--push", help="Log in to the stack's registry and push.")] = False,
    registry: Annotated[str | None, typer.Option("--registry", help="Registry HOST[:PORT][/PATH] instead of the stack's.")] = None,
    model_base: Annotated[str, typer.Option("--model-base", help="Base of the model-artifact image (must exist locally).")] = "scratch",
    fmt: Annotated[BuildFormat, typer.Option("--format", "-f", help="text or json.")] = BuildFormat.text,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Build the serving image (spec `build`) and the model-artifact image (file:// model); --push prints digests to pin."""
    from modelfleet.build import build_model

    console = Console(soft_wrap=True)
    try:
        images = build_model(project_dir, model, stack, push_images=push, registry=registry, model_base=model_base)
    except ModelfleetError as e:
        raise _fail(e) from e
    if BuildFormat(fmt) == BuildFormat.json:
        typer.echo(json.dumps({"model": model, "stack": stack, "images": [i.as_dict() for i in images]}, indent=2))
        return
    for image in images:
        tags = ", ".join(image.tags)
        console.print(f"[green]{image.role} image[/] {image.repository} ({tags}) {image.content_digest}", highlight=False)
        if image.pinned:
            where = "serving.image" if image.role == "serving" else "model.uri"
            value = image.pinned if image.role == "serving" else f"oci://{image.pinned}"
            console.print(f"  pushed {image.digest}; pin it in the spec: {where}: {value}", highlight=False)
