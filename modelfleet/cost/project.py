"""Estimates for a project directory, now and at a git ref.

Contract:
- `current_plans(project_dir, names)` previews the named stacks (all when None) exactly like
  `modelfleet preview`, and remembers a content key per stack (the stack's settings plus the
  merged specs it selects).
- `plans_with_base(project_dir, ref, names)` → (current, plans at `ref`): extracts
  model_specs/, stacks/ and policies/config at `ref` into a temporary directory (`gitref`,
  never the working tree) and previews them with the current code. A stack whose key equals
  a current one reuses the current plan (same inputs, same code → same plan), so only stacks
  the change touches are previewed twice. With explicit `names`, a stack missing at `ref` is
  left out (it counts as 0 there). Both sides are validated before anything is previewed.
- `known_names(project_dir)` → (spec names, environments) that a usage file may mention.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from modelfleet.collisions import collision_problems
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


@dataclass(frozen=True)
class Prepared:
    """A validated, placed stack ready to preview, with its content key."""

    stack: AnyStack
    specs: list[SpecFile]
    key: str


def _key(stack: AnyStack, specs: list[SpecFile], selected: set[str]) -> str:
    parts = [stack.model_dump_json(exclude={"file"})]
    for spec in sorted(specs, key=lambda s: s.name):
        if spec.name in selected:
            parts.append(spec.path.name)
            parts.append(spec.for_environment(stack.environment).model_dump_json())
    return "\n".join(parts)


def prepare(project_dir: Path, names: list[str] | None, skip_missing: bool = False) -> list[Prepared]:
    """Load and place every selected stack (all errors surface here, before any preview)."""
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
    placed = [(stack, plan_stack(stack, specs)) for stack in stacks]
    if not names:  # every stack of the project: their cloud names must not collide
        collisions = collision_problems([sp for _, sp in placed])
        if collisions:
            raise SpecError(collisions)
    return [Prepared(stack, specs, _key(stack, specs, {p.model for p in sp.placements})) for stack, sp in placed]


def _planned(prepared: list[Prepared], plans: list[ResourcePlan]) -> Planned:
    out = Planned(plans=plans)
    for p, plan in zip(prepared, plans, strict=True):
        out.keys[p.stack.stack] = p.key
        out.by_key[p.key] = plan
    return out


def current_plans(project_dir: Path, names: list[str] | None = None) -> Planned:
    prepared = prepare(project_dir, names)
    return _planned(prepared, [preview_loaded(p.stack, p.specs) for p in prepared])


def plans_with_base(project_dir: Path, ref: str, names: list[str] | None) -> tuple[Planned, list[ResourcePlan]]:
    """(the working tree's plans, the plans at `ref`); stacks with identical inputs are previewed once."""
    current = prepare(project_dir, names)
    with tempfile.TemporaryDirectory(prefix="modelfleet-cost-") as tmp:
        root = extract_at_ref(project_dir, ref, PROJECT_PATHS, Path(tmp))
        try:
            base = prepare(root, names, skip_missing=True) if (root / "stacks").is_dir() else []
        except ModelfleetError as e:
            message = str(e).replace(f"{root}/", f"{ref}:")
            raise BaseRefError(f"the project at {ref!r} cannot be previewed: {message}\n"
                               "To fix: compare with a ref whose specs and stacks are valid", e.exit_code) from e
        known = {p.key for p in current}
        todo = list({p.key: p for p in base if p.key not in known}.values())
        planned = _planned(current, [preview_loaded(p.stack, p.specs) for p in current])
        fresh = [preview_loaded(p.stack, p.specs) for p in todo]
    by_key = {**planned.by_key, **{p.key: plan for p, plan in zip(todo, fresh, strict=True)}}
    return planned, [by_key[p.key] for p in base]


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
