"""Finding the project the way the Pulumi CLI does: walk up from the working directory (or
from `--project-dir`/`--cwd`) to the first directory holding `Pulumi.yaml`.

Contract:
- `find_project(start, explicit=False)` → that directory, or `ProjectError` (exit 2) naming
  where the search began and how to point at a project. A command run from `model_specs/` or
  any subdirectory finds the root above it; a command run outside any project never succeeds
  on nothing. A directory named explicitly (`--project-dir DIR`) that holds `model_specs/` or
  `stacks/` is a project even without Pulumi.yaml (specs kept apart from the Pulumi program).
- `require(root, specs=..., stacks=...)` → `ProjectError` when the project has no model specs
  or no stacks, so `validate`, `check`, `cost` and `preview` never report an empty success.
"""

from __future__ import annotations

from pathlib import Path

from modelfleet.environment import stack_paths
from modelfleet.errors import ModelfleetError
from modelfleet.spec import spec_paths

# The Pulumi CLI looks for this file in the working directory and its parents
# (https://www.pulumi.com/docs/iac/concepts/projects/project-file/, "Pulumi.yaml" or "Pulumi.yml").
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
SPECS_DIR = "model_specs"
STACKS_DIR = "stacks"


class ProjectError(ModelfleetError):
    """No project here, or a project without specs or stacks (exit 2)."""


def find_project(start: Path, explicit: bool = False) -> Path:
    """The nearest directory at or above `start` holding Pulumi.yaml (or `start`, when named
    explicitly and holding specs or stacks)."""
    start = start.expanduser().resolve()
    if not start.is_dir():
        raise ProjectError(f"{start}: not a directory. To fix: pass --project-dir with the directory holding Pulumi.yaml")
    for directory in (start, *start.parents):
        if any((directory / name).is_file() for name in PROJECT_FILES):
            return directory
    if explicit and ((start / SPECS_DIR).is_dir() or (start / STACKS_DIR).is_dir()):
        return start
    raise ProjectError(f"no Pulumi.yaml in {start} or any directory above it: this is not inside a modelfleet project. "
                       "To fix: run the command inside the project (the directory with Pulumi.yaml, model_specs/ and "
                       "stacks/, or any directory below it), or pass --project-dir DIR")


def require(root: Path, *, specs: bool = False, stacks: bool = False) -> None:
    """Refuse a project that has nothing to work on."""
    if specs and not spec_paths(root / SPECS_DIR):
        raise ProjectError(f"{root / SPECS_DIR}: no model specs (*.yaml). To fix: add one, e.g. `modelfleet new MODEL`, "
                           "or run from the project that holds your specs")
    if stacks and not stack_paths(root / STACKS_DIR):
        raise ProjectError(f"{root / STACKS_DIR}: no stacks (Pulumi.<stack>.yaml). To fix: add a stack file "
                           "(see the README's stack section), or run from the project that holds your stacks")
