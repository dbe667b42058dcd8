"""`modelfleet build`: a model's images through the docker SDK, optionally pushed to the stack's registry.

Contract: `build_model(project_dir, model, stack_name, push=..., registry=...)` → list of
`BuiltImage`, one per image made:
- serving image — from the spec's `build` section (context relative to the spec file,
  `dockerfile` inside it, `args` as build args);
- model-artifact image — when `model.uri` is `file://DIR` (relative to the spec file, or
  absolute as `file:///abs`): `FROM scratch`, the directory copied to `/models`, OCI labels
  `org.opencontainers.image.title` (model name), `org.opencontainers.image.version`, and
  `modelfleet.io/content-digest`. Serve it as a KServe modelcar with
  `storageUri: oci://REPO@DIGEST`. (KServe's modelcar sidecar runs a shell to link `/models`:
  pass `--model-base busybox` or another locally available base with `/bin/sh` for that.)
- launcher image — on an Azure ML stack, for a built-in runtime (`modelfleet.azureml_container`):
  `FROM` the runtime's pinned image with the runtime profile's command as ENTRYPOINT (Azure ML
  deployments have no command field), tagged `azureml-<runtime>-<hash of the build context>`, the
  tag the stack's environment references.
All images go to one repository per model (the one the stack's registry provisions, see
`registry_auth`); serving tags `<version>` and `sha256-<content digest>`, model tags
`model-<version>` and `model-sha256-<content digest>`. The content digest is
`sha256` over, for every file in sorted relative-POSIX-path order,
`path + "\\0" + sha256(file bytes) hex + "\\n"`.
With `push`, credentials are obtained first (failing fast), images are pushed, and each
`BuiltImage.digest` is the registry's manifest digest to pin in the spec.
Errors: no daemon, registry unreachable, credentials refused → `EnvironmentError_` (exit 3);
nothing to build, unknown model → `BuildError` (exit 2).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn

from modelfleet.environment import AnyStack, find_stack, load_stack_file
from modelfleet.errors import EnvironmentError_, ModelfleetError
from modelfleet.registry_auth import Login, login_for, target_for
from modelfleet.spec import ModelSpec, SpecFile, load_specs, spec_paths

if TYPE_CHECKING:
    from modelfleet.azureml_container import Launcher

CONTENT_LABEL = "modelfleet.io/content-digest"
TITLE_LABEL = "org.opencontainers.image.title"
VERSION_LABEL = "org.opencontainers.image.version"
MODEL_DIR_IN_IMAGE = "/models"
_CHUNK = 1 << 20
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


class BuildError(ModelfleetError):
    """Nothing to build, or the build itself failed on the user's inputs (exit 2)."""


@dataclass
class BuiltImage:
    """One image: its role, repository, tags, local id, content digest and (after push) registry digest."""

    role: Literal["serving", "model", "launcher"]
    repository: str
    tags: tuple[str, ...]
    image_id: str
    content_digest: str
    digest: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def pinned(self) -> str | None:
        return f"{self.repository}@{self.digest}" if self.digest else None

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "repository": self.repository, "tags": list(self.tags), "image_id": self.image_id,
                "content_digest": self.content_digest, "digest": self.digest, "pinned": self.pinned}


def tag_safe(text: str) -> str:
    """A docker tag from free text: [A-Za-z0-9_.-], at most 128 characters."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:128]


def content_digest(directory: Path) -> str:
    """`sha256:<hex>` over the directory's files (paths and contents), independent of mtimes."""
    outer = hashlib.sha256()
    for path in sorted((p for p in directory.rglob("*") if p.is_file()), key=lambda p: p.relative_to(directory).as_posix()):
        inner = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                inner.update(chunk)
        outer.update(f"{path.relative_to(directory).as_posix()}\0{inner.hexdigest()}\n".encode())
    return f"sha256:{outer.hexdigest()}"


def model_directory(spec_file: SpecFile, spec: ModelSpec) -> Path | None:
    """The local model directory of a `file://` URI, or None for remote stores."""
    uri = spec.model.uri
    if not uri.startswith("file://"):
        return None
    raw = uri.removeprefix("file://")
    path = Path(raw) if raw.startswith("/") else spec_file.path.parent / raw
    if not path.is_dir():
        raise BuildError(f"{spec_file.path}: model.uri {uri!r} is not a directory ({path}). "
                         "To fix: point file:// at the directory holding the model files (relative to the spec file)")
    return path


def docker_client() -> Any:
    """A connected docker SDK client (DOCKER_HOST or the default socket)."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as e:
        raise EnvironmentError_("the docker SDK is not installed. To fix: pip install 'modelfleet[build]'") from e
    host = os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        raise EnvironmentError_(f"docker daemon unreachable: no socket at {host}. To fix: start it (`sudo systemctl start docker`, "
                                "or `sudo dockerd &`) or point DOCKER_HOST at a running daemon")
    client = None
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except DockerException as e:
        if client is not None:
            client.close()
        raise EnvironmentError_(f"docker daemon unreachable: {e}. To fix: start it (`sudo systemctl start docker`, "
                                "or `sudo dockerd &`) or point DOCKER_HOST at a running daemon") from e
    return client


def _reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Reproducible layers: no owner, fixed mtime."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def model_context(directory: Path, base: str) -> Any:
    """A temporary-file tar context: a Dockerfile copying `directory` to /models."""
    dockerfile = f"FROM {base}\nCOPY models/ {MODEL_DIR_IN_IMAGE}/\n".encode()
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the docker SDK, closed by the caller
    with tarfile.open(fileobj=handle, mode="w") as tar:
        info = _reset(tarfile.TarInfo("Dockerfile"))
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        tar.add(str(directory), arcname="models", filter=_reset)
    handle.seek(0)
    return handle


def files_context(files: dict[str, str]) -> Any:
    """A temporary-file tar context of `files` (name → text), reproducible (fixed owner and mtime)."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the docker SDK, closed by the caller
    with tarfile.open(fileobj=handle, mode="w") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = _reset(tarfile.TarInfo(name))
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    handle.seek(0)
    return handle


def _events(stream: Iterator[dict[str, Any]], what: str) -> Iterator[dict[str, Any]]:
    for event in stream:
        if "error" in event or "errorDetail" in event:
            message = (event.get("errorDetail") or {}).get("message") or event.get("error")
            raise BuildError(f"{what} failed: {str(message).strip()}. To fix: see the message above")
        yield event


_LAYER = re.compile(r"^ ---> ([0-9a-f]{12,64})$")


# after an interrupt the daemon may still commit the step that was running when the client went away
SETTLE_SECONDS = 3.0
QUIET_SECONDS = 0.5


def _late_children(client: Any, created: list[str]) -> list[str]:
    """Dangling images whose parent is one of `created`: steps the daemon committed after the client left."""
    from docker.errors import DockerException

    ours = {c[:12] for c in created}
    try:
        images = client.images.list(filters={"dangling": True})
    except DockerException:
        return []
    return [i.id.removeprefix("sha256:") for i in images
            if str(i.attrs.get("Parent") or "").removeprefix("sha256:")[:12] in ours and i.id.removeprefix("sha256:")[:12] not in ours]


def _remove_dangling(client: Any, created: list[str], settle: bool = False) -> None:
    """Remove the intermediate images this build created, newest first, when nothing tags them:
    an interrupted or failed legacy build otherwise leaves each finished step as a dangling image.
    With `settle`, first wait (up to SETTLE_SECONDS, until QUIET_SECONDS pass with nothing new) for
    a step the daemon was still running to commit, and remove it too."""
    from docker.errors import DockerException

    if settle and created:
        deadline, quiet_since = time.monotonic() + SETTLE_SECONDS, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < QUIET_SECONDS:
            late = _late_children(client, created)
            if late:
                created.extend(late)
                quiet_since = time.monotonic()
            time.sleep(0.1)
    for image_id in reversed(created):
        try:
            if not client.images.get(image_id).tags:
                client.images.remove(image_id, noprune=False)
        except DockerException:
            continue  # already gone, or a child image still needs it


def _build(client: Any, progress: Progress, what: str, **kwargs: Any) -> str:
    task = progress.add_task(f"build {what}", total=None)
    image_id = ""
    created: list[str] = []  # layers this build made (not ones reused from the cache)
    cached = False
    from docker.errors import APIError

    try:
        for event in _events(client.api.build(decode=True, rm=True, forcerm=True, **kwargs), f"build of {what}"):
            raw = str(event.get("stream") or "")
            line = raw.strip()
            if line.startswith("Step "):
                progress.update(task, description=f"build {what}: {line[:70]}")
            layer = _LAYER.match(raw.rstrip("\n"))
            if layer:
                if not cached:
                    created.append(layer.group(1))
                cached = False
            elif line == "---> Using cache":
                cached = True
            image_id = (event.get("aux") or {}).get("ID", image_id)
    except APIError as e:
        _remove_dangling(client, created, settle=True)
        raise BuildError(f"build of {what} failed: {e.explanation or e}. To fix: check the Dockerfile and context") from e
    except (BuildError, KeyboardInterrupt):
        _remove_dangling(client, created, settle=True)
        raise
    progress.update(task, description=f"built {what}", total=1, completed=1)
    return image_id


UNREACHABLE = ("connection refused", "no such host", "i/o timeout", "dial tcp", "server gave http response", "timeout")


def _registry_error(host: str, message: str) -> EnvironmentError_:
    lowered = message.lower()
    if any(m in lowered for m in UNREACHABLE):
        fix = f"start the registry or check its address ({host}); override it with --registry HOST[:PORT][/PATH]"
        return EnvironmentError_(f"registry {host} unreachable: {message.strip()}. To fix: {fix}")
    return EnvironmentError_(f"registry {host} refused the push: {message.strip()}. To fix: check the credentials "
                             f"(docker login {host}, or MODELFLEET_REGISTRY_USERNAME/PASSWORD) and push permission")


def login(client: Any, target: Login) -> None:
    """Check the credentials with the daemon before building, so bad ones fail fast."""
    if target.auth_config is None:
        return
    from docker.errors import APIError

    try:
        client.login(username=target.username, password=target.password, registry=target.host, reauth=True)
    except APIError as e:
        raise _registry_error(target.host, str(e.explanation or e)) from e


def push(client: Any, progress: Progress, image: BuiltImage, target: Login) -> str:
    """Push every tag; return the manifest digest the registry reported."""
    from docker.errors import APIError

    digest = ""
    for tag in image.tags:
        task = progress.add_task(f"push {image.repository.rsplit('/', 1)[-1]}:{tag}", total=None)
        layers: dict[str, tuple[int, int]] = {}
        try:
            stream = client.api.push(image.repository, tag=tag, stream=True, decode=True, auth_config=target.auth_config)
            for event in stream:
                if "error" in event or "errorDetail" in event:
                    raise _registry_error(target.host, str((event.get("errorDetail") or {}).get("message") or event.get("error")))
                detail = event.get("progressDetail") or {}
                if detail.get("total") and event.get("id"):
                    layers[event["id"]] = (int(detail.get("current") or 0), int(detail["total"]))
                    progress.update(task, completed=sum(c for c, _ in layers.values()), total=sum(t for _, t in layers.values()))
                digest = (event.get("aux") or {}).get("Digest", digest)
        except APIError as e:
            raise _registry_error(target.host, str(e.explanation or e)) from e
        progress.update(task, description=f"pushed {tag}", total=1, completed=1)
    if not digest:
        raise EnvironmentError_(f"{target.host} did not report a digest for {image.repository}. To fix: retry the push")
    return digest


@dataclass(frozen=True)
class Plan:
    """What `build` will make for one model on one stack."""

    spec_file: SpecFile
    spec: ModelSpec
    stack: AnyStack
    context: Path | None
    model_dir: Path | None
    launcher: Launcher | None = None


def plan_build(project_dir: Path, model: str, stack_name: str) -> Plan:
    specs = {s.name: s for s in load_specs(spec_paths(project_dir / "model_specs"))}
    if model not in specs:
        raise BuildError(f"no model named {model!r}. Allowed: {', '.join(sorted(specs)) or 'none'}. To fix: pass a spec's name")
    stack = load_stack_file(find_stack(project_dir / "stacks", stack_name))
    if not stack.selects(model):
        raise BuildError(f"stack {stack.stack!r} does not serve {model!r} (models: {', '.join(stack.models)}). "
                         "To fix: add it to modelfleet:models or pick a stack that serves it")
    spec_file = specs[model]
    spec = spec_file.for_environment(stack.environment)
    context = None
    if spec.build is not None:
        context = (spec_file.path.parent / spec.build.context).resolve()
        if not (context / spec.build.dockerfile).is_file():
            raise BuildError(f"{spec_file.path}: build: no {spec.build.dockerfile} in {context}. "
                             "To fix: build.context is relative to the spec file; build.dockerfile to the context")
    model_dir = model_directory(spec_file, spec)
    launcher = None
    if stack.platform == "azureml" and spec.serving.runtime != "custom":
        from modelfleet.targets.azureml import launcher_of

        launcher = launcher_of(spec, stack.model_copy(update={"images": {k: v for k, v in stack.images.items() if k != model}}))[0].launcher
    if context is None and model_dir is None and launcher is None:
        raise BuildError(f"{spec_file.path}: nothing to build for {model!r}. To fix: add a `build:` section "
                         "(serving image) or point model.uri at a local directory with file:// (model image)")
    return Plan(spec_file, spec, stack, context, model_dir, launcher)


def build_model(project_dir: Path, model: str, stack_name: str, *, push_images: bool = False, registry: str | None = None,
                model_base: str = "scratch", console: Console | None = None, client: Any = None) -> list[BuiltImage]:
    """Build (and with `push_images`, push) the model's images; see the module docstring."""
    return build_planned(plan_build(project_dir, model, stack_name), push_images=push_images, registry=registry,
                         model_base=model_base, console=console, client=client)


def _build_all(plan: Plan, client: Any, push_images: bool, registry: str | None, model_base: str,
               console: Console | None) -> list[BuiltImage]:
    model = plan.spec.name
    target = login_for(plan.stack, registry) if push_images else target_for(plan.stack, registry)
    login(client, target)
    repository = target.repository(plan.stack.stack, model, plan.stack.registry.kind)
    spec = plan.spec
    images: list[BuiltImage] = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  console=console or Console(stderr=True), transient=False) as progress:
        if plan.context is not None and spec.build is not None:
            digest = content_digest(plan.context)
            labels = {TITLE_LABEL: model, VERSION_LABEL: spec.version, CONTENT_LABEL: digest}
            tags = (tag_safe(spec.version), f"sha256-{digest.split(':', 1)[1]}")
            image_id = _build(client, progress, f"{model} serving image", path=str(plan.context), dockerfile=spec.build.dockerfile,
                              buildargs=dict(spec.build.args), labels=labels, tag=f"{repository}:{tags[0]}")
            images.append(BuiltImage("serving", repository, tags, image_id, digest, labels=labels))
        if plan.model_dir is not None:
            digest = content_digest(plan.model_dir)
            labels = {TITLE_LABEL: model, VERSION_LABEL: spec.version, CONTENT_LABEL: digest}
            tags = (f"model-{tag_safe(spec.version)}", f"model-sha256-{digest.split(':', 1)[1]}")
            with model_context(plan.model_dir, model_base) as context:
                image_id = _build(client, progress, f"{model} model image", fileobj=context, custom_context=True,
                                  labels=labels, tag=f"{repository}:{tags[0]}")
            images.append(BuiltImage("model", repository, tags, image_id, digest, labels=labels))
        if plan.launcher is not None:
            launcher = plan.launcher
            labels = {TITLE_LABEL: model, VERSION_LABEL: spec.version, CONTENT_LABEL: f"sha256:{launcher.digest}"}
            with files_context(launcher.files()) as context:
                image_id = _build(client, progress, f"{model} Azure ML launcher ({launcher.runtime})", fileobj=context,
                                  custom_context=True, labels=labels, tag=f"{repository}:{launcher.tag}")
            images.append(BuiltImage("launcher", repository, (launcher.tag,), image_id, f"sha256:{launcher.digest}", labels=labels))
        for image in images:
            for tag in image.tags[1:]:
                client.api.tag(image.image_id, image.repository, tag=tag)
        if push_images:
            for image in images:
                image.digest = push(client, progress, image, target)
    return images


def build_planned(plan: Plan, *, push_images: bool, registry: str | None = None, model_base: str = "scratch",
                  console: Console | None = None, client: Any = None) -> list[BuiltImage]:
    """`build_model` for a plan the caller made (e.g. with its stack's registry replaced)."""
    if client is not None:
        return _build_all(plan, client, push_images, registry, model_base, console)
    own = docker_client()
    try:
        return _build_all(plan, own, push_images, registry, model_base, console)
    finally:
        own.close()
