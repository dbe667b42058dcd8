"""Read project files as they were at a git ref, without touching the working tree.

Contract: `extract_at_ref(project_dir, ref, paths, dest)` writes the given project-relative
paths (e.g. `model_specs`, `stacks`, `policies/config`) as of `ref` under `dest` and returns
the directory that plays the project root there. It uses `git archive` only (no checkout,
no index change). A path missing at `ref` is simply absent. Errors: not a git repository
or an unknown ref → `GitRefError` (exit 2) naming the ref; git missing → exit 3.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from modelfleet.errors import EnvironmentError_, ModelfleetError


class GitRefError(ModelfleetError):
    """The --diff ref cannot be read (exit 2)."""


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as e:
        raise EnvironmentError_("git is not installed. To fix: install git, or run `cost` without --diff") from e


def resolve(project_dir: Path, ref: str) -> tuple[str, str]:
    """(commit sha, project path prefix inside the repository) for `ref`."""
    top = _git(project_dir, "rev-parse", "--show-prefix")
    if top.returncode != 0:
        raise GitRefError(f"{project_dir} is not inside a git repository, so --diff {ref!r} cannot be read. "
                          "To fix: run from a git checkout, or drop --diff")
    found = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0 or ref.startswith("-"):
        raise GitRefError(f"git ref {ref!r} does not exist in {project_dir}. "
                          "To fix: fetch it (e.g. `git fetch origin main`) or name an existing branch, tag or commit")
    return found.stdout.decode().strip(), top.stdout.decode().strip()


def extract_at_ref(project_dir: Path, ref: str, paths: tuple[str, ...], dest: Path) -> Path:
    sha, prefix = resolve(project_dir, ref)
    wanted = [f"{prefix}{p}" for p in paths]
    listed = _git(project_dir, "ls-tree", "--name-only", sha, "--", *[w.rstrip("/") for w in wanted])
    present = [line for line in listed.stdout.decode().splitlines() if line]
    root = dest / prefix if prefix else dest
    root.mkdir(parents=True, exist_ok=True)
    if not present:
        return root
    # paths given to `git archive` are relative to the current directory; run it from the top
    top = _git(project_dir, "rev-parse", "--show-toplevel").stdout.decode().strip()
    archive = _git(Path(top), "archive", "--format=tar", sha, "--", *present)
    if archive.returncode != 0:
        raise GitRefError(f"git archive of {ref!r} failed: {archive.stderr.decode().strip()}. To fix: check the ref")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return root
