"""Release: build each model image once, record its digest, pin that digest into every stage.

The deploy workflow promotes one artifact through dev → staging → prod: `build_release` builds
and pushes every model with a `build:` section that some stack serves, once, to one release
registry, and writes the release file; each stage's job then runs `pin_stack`, which writes
`modelfleet:images.<model>: <repository>@sha256:<digest>` into the stack file it deploys. A
model pin outranks the spec's `serving.image` (`placed.default_image`), so `pulumi up` deploys
exactly the digest the earlier stage smoke-tested: digests are content addresses and cannot move.

Contract:
- release file (JSON): `{"version": 1, "commit": "<sha>"|null, "registry": "<host/path>",
  "images": {"<model>": "<repository>@sha256:<64 hex>"}}`.
- `build_release(project_dir, registry, builder=...)` → `Release`. The release registry's kind
  follows its host: `<account>.dkr.ecr.<region>.amazonaws.com` → ECR (token from the AWS
  chain; repository `<path>/release/<model>` must exist, ECR does not create repositories on
  push), `<name>.azurecr.io` → ACR (Entra ID token), anything else → a plain registry
  (`MODELFLEET_REGISTRY_USERNAME`/`_PASSWORD` or the docker config), e.g. `ghcr.io/<owner>/<repo>`.
  The spec is taken for the environment of the first stack (by name) that serves the model.
- `read_release(path)` → `Release`; a missing, non-JSON or malformed file is a `ReleaseError` (exit 2).
- `pin_stack(project_dir, stack_name, release)` → {model: reference} written for the models of
  the release the stack serves; the stack file is edited round-trip (comments, order, quoting
  kept); the other models and keys are untouched; running it twice changes nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelfleet.environment import AnyStack, RegistryConfig, find_stack, load_stack_file, stack_paths
from modelfleet.errors import ModelfleetError
from modelfleet.spec import load_specs, spec_paths

FORMAT_VERSION = 1
REFERENCE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)+@sha256:[0-9a-f]{64}$")
ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
RELEASE_STACK = "release"


class ReleaseError(ModelfleetError):
    """A release file that cannot be read or trusted (exit 2)."""


@dataclass(frozen=True)
class Release:
    images: dict[str, str]
    registry: str = ""
    commit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "commit": self.commit, "registry": self.registry, "images": dict(sorted(self.images.items()))}


def read_release(path: Path) -> Release:
    fix = "To fix: pass the release.json written by `modelfleet release build` (the deploy workflow's `release` artifact)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ReleaseError(f"{path}: no such release file. {fix}") from e
    except (OSError, ValueError) as e:
        raise ReleaseError(f"{path}: not a JSON release file ({e}). {fix}") from e
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION or not isinstance(data.get("images"), dict):
        raise ReleaseError(f"{path}: expected {{\"version\": {FORMAT_VERSION}, \"images\": {{model: reference}}}}. {fix}")
    for model, reference in data["images"].items():
        if not isinstance(reference, str) or not REFERENCE.match(reference):
            raise ReleaseError(f"{path}: images.{model} is {reference!r}; allowed: REPOSITORY@sha256:<64 hex digits> "
                               f"(a digest, never a tag: a tag can move between stages). {fix}")
    return Release(dict(data["images"]), str(data.get("registry") or ""), data.get("commit"))


def write_release(release: Release, path: Path) -> None:
    path.write_text(json.dumps(release.as_dict(), indent=2) + "\n", encoding="utf-8")


def release_registry(registry: str) -> tuple[RegistryConfig, str | None]:
    """The registry config (and AWS region) that logs in to the release registry by its host."""
    host = registry.split("://", 1)[-1].split("/", 1)[0]
    ecr = ECR_HOST.match(host)
    if ecr:
        return RegistryConfig(kind="ecr"), ecr.group(1)
    if host.endswith(".azurecr.io"):
        return RegistryConfig(kind="acr"), None
    return RegistryConfig(kind="external", url=registry), None


def buildable(project_dir: Path) -> dict[str, str]:
    """Model → the first stack (by name) serving it, for every spec with a `build:` section."""
    specs = load_specs(spec_paths(project_dir / "model_specs"))
    stacks = [load_stack_file(p) for p in stack_paths(project_dir / "stacks")]
    found: dict[str, str] = {}
    for spec_file in sorted(specs, key=lambda s: s.name):
        if all(s.build is None for s in (spec_file.base, *spec_file.per_environment.values())):
            continue
        serving = sorted(s.stack for s in stacks if s.selects(spec_file.name))
        if serving:
            found[spec_file.name] = serving[0]
    return found


def _commit(project_dir: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(project_dir), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


Builder = Callable[..., list[Any]]


def build_release(project_dir: Path, registry: str, *, builder: Builder | None = None, client: Any = None) -> Release:
    from modelfleet.build import build_planned, plan_build

    build = builder or build_planned
    config, region = release_registry(registry)
    images: dict[str, str] = {}
    for model, stack_name in buildable(project_dir).items():
        plan = plan_build(project_dir, model, stack_name)
        stack: AnyStack = plan.stack.model_copy(update={"stack": RELEASE_STACK, "registry": config,
                                                        **({"region": region} if region else {})})
        built = build(replace(plan, stack=stack), push_images=True, registry=registry, client=client)
        serving = next((b for b in built if b.role == "serving"), None)
        if serving is None or not serving.pinned:
            raise ReleaseError(f"{model}: the build pushed no serving image digest. To fix: check the spec's build section")
        images[model] = serving.pinned
    return Release(images, registry, _commit(project_dir))


def pin_stack(project_dir: Path, stack_name: str, release: Release) -> dict[str, str]:
    from ruamel.yaml import YAML

    path = find_stack(project_dir / "stacks", stack_name)
    stack = load_stack_file(path)
    pins = {model: ref for model, ref in sorted(release.images.items()) if stack.selects(model)}
    if not pins:
        return {}
    yaml = YAML()  # round-trip: comments, key order and flow style survive the edit
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line the user wrote on one
    yaml.indent(mapping=2, sequence=4, offset=2)  # the bundled stacks' block-sequence style
    document = yaml.load(path.read_text(encoding="utf-8"))
    config = document["config"]
    if config.get("modelfleet:images") is None:
        config["modelfleet:images"] = {}
    images = config["modelfleet:images"]
    changed = False
    for model, ref in pins.items():
        if images.get(model) != ref:
            images[model] = ref
            changed = True
    if changed:
        with path.open("w", encoding="utf-8") as out:
            yaml.dump(document, out)
    load_stack_file(path)  # the pinned file must still be a valid stack
    return pins
