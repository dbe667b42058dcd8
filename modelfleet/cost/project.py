"""Estimates for a project directory, now and at a git ref.

Contract:
- `current_plans(project_dir, names)` previews the named stacks (all when None) exactly like
  `modelfleet preview`, and remembers a content key per stack (the stack's settings plus the
  merged specs it selects).
- `plans_at_ref(project_dir, ref, names, current)` extracts model_specs/, stacks/ and
  policies/config at `ref` into a temporary directory (`gitref`, never the working tree) and
  previews them with the current code. A stack whose key equals the current one reuses the
  current plan (same inputs, same code → same plan). With explicit `names`, a stack missing
  at `ref` is left out (it counts as 0 there).
- `known_names(project_dir)` → (spec names, environments) that a usage file may mention.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from modelfleet.environment import AnyStack, find_stack, load_stack_file, stack_paths
from modelfleet.errors import ModelfleetError, SpecError
from modelfleet.gitref import extract_at_ref
from modelfleet.plan import ResourcePlan
from modelfleet.preview import preview_loaded
from modelfleet.program import plan_stack
from modelfleet.spec import SpecFile, load_specs, spec_paths

PROJECT_PATHS = ("model_specs", "stacks", "policies/config")


class BaseRefError(ModelfleetError):
    """The project at the --diff ref is invalid; keeps the original exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Planned:
    plans: list[ResourcePlan]
    keys: dict[str, str] = field(default_factory=dict)  # stack → content key
    by_key: dict[str, ResourcePlan] = field(default_factory=dict)


def _key(stack: AnyStack, specs: list[SpecFile], selected: set[str]) -> str:
    parts = [stack.model_dump_json(exclude={"file"})]
    for spec in sorted(specs, key=lambda s: s.name):
        if spec.name in selected:
            parts.append(spec.path.name)
            parts.append(spec.for_environment(stack.environment).model_dump_json())
    return "\n".join(parts)


def _plan_all(project_dir: Path, names: list[str] | None, reuse: dict[str, ResourcePlan] | None = None,
              skip_missing: bool = False) -> Planned:
    specs = load_specs(spec_paths(project_dir / "model_specs"))
    stacks_dir = project_dir / "stacks"
    if names:
        paths = []
        for n in names:
            try:
                paths.append(find_stack(stacks_dir, n))
            except SpecError:
                if not skip_missing:
                    raise
    else:
        paths = stack_paths(stacks_dir)
    stacks = [load_stack_file(p) for p in paths]
    placed = [(stack, plan_stack(stack, specs)) for stack in stacks]  # validate every stack before previewing any
    out = Planned(plans=[])
    for stack, sp in placed:
        key = _key(stack, specs, {p.model for p in sp.placements})
        plan = (reuse or {}).get(key) or preview_loaded(stack, specs)
        out.plans.append(plan)
        out.keys[stack.stack] = key
        out.by_key[key] = plan
    return out


def current_plans(project_dir: Path, names: list[str] | None = None) -> Planned:
    return _plan_all(project_dir, names)


def plans_at_ref(project_dir: Path, ref: str, names: list[str] | None, current: Planned) -> list[ResourcePlan]:
    with tempfile.TemporaryDirectory(prefix="modelfleet-cost-") as tmp:
        root = extract_at_ref(project_dir, ref, PROJECT_PATHS, Path(tmp))
        if not (root / "stacks").is_dir():
            return []
        try:
            return _plan_all(root, names, reuse=current.by_key, skip_missing=True).plans
        except ModelfleetError as e:
            message = str(e).replace(f"{root}/", f"{ref}:")
            raise BaseRefError(f"the project at {ref!r} cannot be previewed: {message}\n"
                               f"To fix: compare with a ref whose specs and stacks are valid", e.exit_code) from e


def known_names(project_dir: Path) -> tuple[set[str], set[str]]:
    specs = load_specs(spec_paths(project_dir / "model_specs"))
    environments: set[str] = set()
    for path in stack_paths(project_dir / "stacks"):
        try:
            environments.add(load_stack_file(path).environment)
        except SpecError:
            continue  # an invalid stack is reported when it is costed, not while checking a usage file
    for spec in specs:
        environments.update(spec.per_environment)
    return {s.name for s in specs}, environments
