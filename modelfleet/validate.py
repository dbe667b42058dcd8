"""`modelfleet validate`: specs, stacks, and placement of every selected model.

Collects every problem across all files before failing (one run shows them all). Paths
may be spec files, stack files or directories; none = model_specs/ and stacks/. The summary
carries the warnings (placement, overrides no stack uses, stack globs that match no spec of
the project) and, per validated spec, the stacks it joins (`modelfleet.selection.joins`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelfleet.alert_destinations import destination_problems
from modelfleet.collisions import collision_problems
from modelfleet.environment import STACK_FILE_RE, AnyStack, load_stack_file, stack_layout
from modelfleet.errors import Problem, SpecError
from modelfleet.located import placement_error, spec_location
from modelfleet.placement import place_stack
from modelfleet.selection import joins, unmatched_glob_diagnostics
from modelfleet.spec import SpecFile, load_specs, spec_layout
from modelfleet.yamlmarks import load_yaml, read_source


def _split(project_dir: Path, paths: list[Path]) -> tuple[list[Path], list[Path], list[Problem]]:
    """Spec files, stack files, and what is wrong with the directories they came from."""
    if not paths:
        specs, spec_problems = spec_layout(project_dir / "model_specs")
        stacks, stack_problems = stack_layout(project_dir / "stacks")
        return specs, stacks, spec_problems + stack_problems
    specs = []
    stacks = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found_specs, spec_problems = spec_layout(path, required=False)
            found_stacks, stack_problems = stack_layout(path, required=False)
            specs += found_specs
            stacks += found_stacks
            problems += spec_problems + stack_problems
        elif STACK_FILE_RE.match(path.name):
            stacks.append(path)
        else:
            specs.append(path)
    return specs, stacks, problems


def unused_overrides(specs: list[SpecFile], stacks: list[AnyStack]) -> list[dict[str, Any]]:
    """Warnings for `environments:` overrides no stack of the project applies (a typo such as
    `Prod`, or an environment that was retired)."""
    used = {stack.environment for stack in stacks}
    out = []
    for spec in specs:
        for env in spec.base.environments:
            if env not in used:
                line = spec.line_of("environments", env)
                out.append({"stack": "<project>", "environment": env, "level": "warning", "model": spec.name,
                            "field": f"environments.{env}",
                            "message": f"{spec.path}:{line}: no stack uses environment {env!r}, so this override applies nowhere "
                                       f"(stacks use: {', '.join(sorted(used)) or 'none'}). To fix: rename it to the environment "
                                       "it is meant for, or remove it", "file": str(spec.path), "line": line})
    return out


def validate_paths(project_dir: Path, paths: list[Path]) -> dict[str, Any]:
    spec_files, stack_files, problems = _split(project_dir, paths)
    if paths and not stack_files and not any(p.is_dir() for p in paths):
        # specs given alone: still check them against the project's stacks
        stack_files, stack_problems = stack_layout(project_dir / "stacks", required=False)
        problems += stack_problems
    if paths and not spec_files and not stack_files and not problems:
        raise SpecError([Problem(", ".join(map(str, paths)), "no spec or stack files found there",
                                 allowed="model spec files (*.yaml), stack files (Pulumi.<stack>.yaml) or directories holding them",
                                 fix="pass model_specs/, stacks/ or the files themselves")])
    specs: list[SpecFile] = []
    try:
        specs = load_specs(spec_files)
    except SpecError as e:
        problems += e.problems
    stacks: list[AnyStack] = []
    for path in stack_files:
        try:
            stack = load_stack_file(path)
        except SpecError as e:
            problems += e.problems
            continue
        problems += destination_problems(stack)
        stacks.append(stack)
    if problems:
        raise SpecError(problems)
    warnings: list[dict[str, Any]] = unused_overrides(specs, stacks) if not paths else []
    names = project_spec_names(project_dir, specs, complete=not paths)
    for stack in stacks:  # a glob that matches no spec of the project (a typo selects nothing)
        warnings += [{"stack": stack.stack, "environment": stack.environment, **d.as_dict(), "file": stack.file}
                     for d in unmatched_glob_diagnostics(stack, names)]
    placement_errors: list[dict[str, str]] = []
    placed = []
    by_name = {spec.name: spec for spec in specs}
    for stack in stacks:
        sp = place_stack(stack, specs)
        placed.append(sp)
        for d in sp.diagnostics:
            entry = {"stack": stack.stack, "environment": stack.environment, **d.as_dict()}
            if d.level == "error":
                placement_errors.append({**entry, "stack_file": stack.file})
            else:  # where a person fixes it: the spec field's line, else the stack file
                file, line = spec_location(entry, by_name, stack.environment) or (stack.file, None)
                warnings.append({**entry, "file": file, "line": line})
    if placement_errors:
        raise placement_error(placement_errors, specs, lambda e: e["environment"])
    collisions = collision_problems(placed)
    if collisions:
        raise SpecError(collisions)
    return {"specs": len(specs), "stacks": len(stacks), "warnings": warnings,
            "joins": joins([spec.name for spec in specs], stacks)}


def project_spec_names(project_dir: Path, specs: list[SpecFile], *, complete: bool) -> set[str]:
    """Every spec name of the project: the loaded specs' when they are all of them, else also the
    `name:` of each file in model_specs/ (read without validating it)."""
    names = {spec.name for spec in specs}
    if complete:
        return names
    for path in spec_layout(project_dir / "model_specs", required=False)[0]:
        try:
            data, _ = load_yaml(read_source(path), str(path))
        except SpecError:
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            names.add(data["name"])
    return names
