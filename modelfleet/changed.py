"""Only what changed: specs and stacks touched since a git ref, for `--changed-since REF`.

Contract:
- `changed_paths(project_dir, ref)` → absolute paths changed in `git diff --name-only REF...HEAD`
  (what the branch changed since it left REF) plus uncommitted changes (staged, unstaged,
  untracked). A bad ref or no git repository raises `ChangedError` (exit 2).
- `select_changed(project_dir, ref, project_wide=())` → `Selection`: a changed spec selects
  every stack whose `modelfleet:models` globs select it (for a deleted spec, its name at REF);
  a changed stack selects itself and the specs it selects. When a path under one of
  `project_wide` changed (e.g. `policies/` for `check`), every stack is selected.
Commands use it like this: validate → `selection.spec_paths + selection.stack_paths`;
check / cost → `preview_stacks(project_dir, list(selection.stacks))`, nothing to do when
`selection.empty`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelfleet.environment import STACK_FILE_RE, AnyStack, load_stack_file, stack_paths
from modelfleet.errors import ModelfleetError, SpecError
from modelfleet.spec import spec_paths
from modelfleet.yamlmarks import read_source


class ChangedError(ModelfleetError):
    """The git ref cannot be compared (unknown ref, shallow clone, not a repository). Exit 2."""


@dataclass(frozen=True)
class Selection:
    """What a `--changed-since` run covers; `reasons` says why each stack is in it."""

    ref: str
    spec_paths: tuple[Path, ...]
    stack_paths: tuple[Path, ...]
    stacks: tuple[str, ...]
    reasons: dict[str, str]

    @property
    def empty(self) -> bool:
        return not self.spec_paths and not self.stack_paths


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise ChangedError("git is not installed. To fix: install git, or drop --changed-since") from e
    if done.returncode != 0:
        raise ChangedError(f"git {' '.join(args)} failed: {done.stderr.strip()}. To fix: fetch the ref "
                           "(`git fetch origin main`; in CI check out with fetch-depth: 0) or pass an existing ref")
    return done.stdout


def changed_paths(project_dir: Path, ref: str) -> set[Path]:
    """Files changed since `ref` (merge-base diff) plus uncommitted and untracked files, absolute."""
    top = Path(_git(project_dir, "rev-parse", "--show-toplevel").strip())
    names = _git(project_dir, "diff", "--name-only", f"{ref}...HEAD").splitlines()
    names += _git(project_dir, "diff", "--name-only", "HEAD").splitlines()
    names += _git(project_dir, "ls-files", "--others", "--exclude-standard").splitlines()
    return {(top / name).resolve() for name in names if name.strip()}


def _old_spec_name(project_dir: Path, ref: str, path: Path) -> str | None:
    """The `name:` a since-deleted spec had at `ref` (so stacks that served it are selected)."""
    top = Path(_git(project_dir, "rev-parse", "--show-toplevel").strip())
    try:
        text = _git(project_dir, "show", f"{ref}:{path.relative_to(top).as_posix()}")
        data = yaml.safe_load(text)
    except (ChangedError, ValueError, yaml.YAMLError):
        return None
    return str(data["name"]) if isinstance(data, dict) and data.get("name") else None


def _spec_name(path: Path) -> str | None:
    try:
        data = yaml.safe_load(read_source(path))
    except (SpecError, yaml.YAMLError):
        return None
    return str(data["name"]) if isinstance(data, dict) and data.get("name") else None


def _selects(stack: AnyStack | None, name: str | None) -> bool:
    return stack is not None and name is not None and stack.selects(name)


def select_changed(project_dir: Path, ref: str, project_wide: tuple[str, ...] = ()) -> Selection:
    """Specs and stacks to work on because of what changed since `ref` (see the module docstring)."""
    changed = changed_paths(project_dir, ref)
    root = project_dir.resolve()
    specs_dir, stacks_dir = root / "model_specs", root / "stacks"
    all_specs = spec_paths(specs_dir)
    all_stacks = stack_paths(stacks_dir)
    changed_specs = [p for p in changed if p.parent == specs_dir and p.suffix in (".yaml", ".yml") and not p.name.startswith(".")]
    changed_stacks = [p for p in changed if p.parent == stacks_dir and STACK_FILE_RE.match(p.name) and p.exists()]
    wide = sorted(prefix for prefix in project_wide for p in changed if p.is_relative_to(root / prefix))

    stacks: dict[Path, AnyStack | None] = {}
    for path in all_stacks:
        try:
            stacks[path.resolve()] = load_stack_file(path)
        except ModelfleetError:
            stacks[path.resolve()] = None  # invalid stacks are reported by the command itself
    names = {p.resolve(): _spec_name(p) for p in all_specs}
    spec_names = {p: (names.get(p) if p.exists() else _old_spec_name(project_dir, ref, p)) for p in changed_specs}

    reasons: dict[str, str] = {}
    selected_stacks: set[Path] = set()
    for path, stack in stacks.items():
        label = STACK_FILE_RE.match(path.name)["stack"]  # type: ignore[index]
        if wide:
            reasons[label] = f"{wide[0]} changed"
        elif path in changed_stacks:
            reasons[label] = "stack changed"
        else:
            hits = sorted(str(n) for p, n in spec_names.items() if _selects(stack, n))
            if not hits:
                continue
            reasons[label] = "serves changed " + ", ".join(hits)
        selected_stacks.add(path)

    selected_specs = {p for p in changed_specs if p.exists()}
    for path in selected_stacks:
        stack = stacks[path]
        if stack is not None and (path in changed_stacks or wide):
            selected_specs |= {p for p, n in names.items() if n is not None and stack.selects(n)}
    ordered_stacks = tuple(sorted(selected_stacks))
    return Selection(ref=ref, spec_paths=tuple(sorted(selected_specs)), stack_paths=ordered_stacks,
                     stacks=tuple(STACK_FILE_RE.match(p.name)["stack"] for p in ordered_stacks),  # type: ignore[index]
                     reasons=dict(sorted(reasons.items())))


def validate_since(project_dir: Path, ref: str) -> dict[str, Any]:
    """`validate --changed-since REF`: validate the selection; an empty one is a clean result."""
    from modelfleet.validate import validate_paths

    selection = select_changed(project_dir, ref)
    if selection.empty:
        return {"specs": 0, "stacks": 0, "warnings": [], "changed_since": ref}
    summary = validate_paths(project_dir, [*selection.spec_paths, *selection.stack_paths])
    return {**summary, "changed_since": ref, "selected_stacks": selection.reasons}


def changed_stacks(project_dir: Path, ref: str, requested: list[str] | None, project_wide: tuple[str, ...] = ()) -> list[str]:
    """For check/cost `--changed-since`: stacks affected since `ref`, kept within `requested`
    when the user also named stacks. An empty list means there is nothing to do."""
    selection = select_changed(project_dir, ref, project_wide)
    return [name for name in selection.stacks if not requested or name in requested]
