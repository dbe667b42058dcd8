"""Delivery commands: `render` (GitOps YAML) and `build` (images → the stack's registry).

Plain functions with Typer-annotated parameters; `modelfleet.cli` registers them.
Exit codes: 0 ok, 2 bad input (unknown stack/model, not a Kubernetes stack, nothing to
build, no project), 3 environment (docker daemon, registry, credentials, an output
directory that cannot be written — the path is named).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from modelfleet.cli.common import ProjectDir, StackOption, fail, out, project_root, say, stack_names, stderr_console
from modelfleet.errors import EnvironmentError_, ModelfleetError


class HelmAs(StrEnum):
    flux = "flux"
    argocd = "argocd"


class BuildFormat(StrEnum):
    text = "text"
    json = "json"


def render_command(
    stack: StackOption,
    output: Annotated[Path, typer.Option("--out", "-o", metavar="DIR",
                                         help="Directory for the YAML tree (point Argo CD / Flux at it).")],
    helm: Annotated[HelmAs, typer.Option("--helm", help="Helm add-ons as Flux HelmReleases or Argo CD Applications.")] = HelmAs.flux,
    project_dir: ProjectDir = None,
) -> None:
    """Write the stack's Kubernetes objects as sorted, stable YAML plus a kustomization.yaml."""
    from modelfleet.render import render_stack, write_rendered

    try:
        root = project_root(project_dir, specs=True, stacks=True)
        stack_names(root, [stack])
        rendered = render_stack(root, stack, HelmAs(helm).value)  # type: ignore[arg-type]
        try:
            write_rendered(rendered, output)
        except OSError as e:
            where = e.filename or output
            raise EnvironmentError_(f"cannot write {where}: {e.strerror or e}. To fix: make {output} writable, "
                                    "or render elsewhere with --out DIR") from e
    except ModelfleetError as e:
        raise fail(e) from e
    say(("rendered", "green"), f" {rendered.objects} objects for stack {stack} into {output}")
    for note in rendered.notes:
        say(("note", "yellow"), f" {note}")


def build_command(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model name (the spec's `name`).")],
    stack: StackOption,
    push: Annotated[bool, typer.Option("--push", help="Log in to the stack's registry and push.")] = False,
    registry: Annotated[str | None, typer.Option("--registry", metavar="HOST[:PORT][/PATH]", show_default=False,
                                                 help="Registry to use instead of the stack's.")] = None,
    model_base: Annotated[str, typer.Option("--model-base", metavar="IMAGE",
                                            help="Base of the model-artifact image (must exist locally).")] = "scratch",
    fmt: Annotated[BuildFormat, typer.Option("--format", "-f", help="text or json.")] = BuildFormat.text,
    project_dir: ProjectDir = None,
) -> None:
    """Build the serving image (spec `build`) and the model-artifact image (file:// model); --push prints digests to pin."""
    from modelfleet.build import build_model

    try:
        root = project_root(project_dir, specs=True, stacks=True)
        stack_names(root, [stack])
        images = build_model(root, model, stack, push_images=push, registry=registry, model_base=model_base,
                             console=stderr_console())
    except ModelfleetError as e:
        raise fail(e, BuildFormat(fmt).value) from e
    if BuildFormat(fmt) == BuildFormat.json:
        out(json.dumps({"model": model, "stack": stack, "images": [i.as_dict() for i in images]}, indent=2))
        return
    for image in images:
        tags = ", ".join(image.tags)
        say((f"{image.role} image", "green"), f" {image.repository} ({tags}) {image.content_digest}")
        if image.pinned:
            where = "serving.image" if image.role == "serving" else "model.uri"
            value = image.pinned if image.role == "serving" else f"oci://{image.pinned}"
            say(f"  pushed {image.digest}; pin it in the spec: {where}: {value}")
