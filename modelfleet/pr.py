"""The pull-request check: validate, preview diff, cost diff and policy verdicts from ONE plan
per affected stack and side (the branch and the base ref), planned in parallel processes.

Contract:
- `run_pr(project_dir, base, jobs)` → `PrReport`. Stacks are the ones the change affects
  (`changed.select_changed`, with `policies/` project-wide), plus stacks the change deletes.
  Validation problems (file:line) stop before planning. Each stack is planned once on the
  branch and once at `base` (files extracted with `git archive`, the working tree untouched);
  a stack whose effective inputs (stack settings and the merged specs it selects) are
  identical on both sides is not affected (`unchanged`) and not planned — unless policies
  changed, then it is planned once for both policy runs. The same plans feed the resource
  diff, the cost diff and both policy runs.
- Resource diff like `pulumi preview`: `+` create, `~` update (the top-level inputs or
  options that differ), `-` delete, matched by URN. Whether an update replaces the resource is
  the provider's call at deploy time and is not predicted here.
- `PrReport.exit_code`: 2 invalid input; 1 a mandatory policy violation or a stack over
  budget on the branch; 0 otherwise.
Rendering lives in `modelfleet.pr_report`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from modelfleet.changed import changed_paths, select_changed, validate_since
from modelfleet.check import CheckReport, Violation, run_checks
from modelfleet.cost import StackCost, estimate_plan
from modelfleet.cost.diff import Change, Diff, compare
from modelfleet.cost.project import PROJECT_PATHS, BaseRefError, Prepared, prepare
from modelfleet.environment import STACK_FILE_RE, stack_paths, target_of
from modelfleet.errors import ModelfleetError, Problem, SpecError
from modelfleet.gitref import extract_at_ref, resolve
from modelfleet.plan import PlannedResource, ResourcePlan
from modelfleet.preview import preview_loaded

Op = Literal["+", "~", "-"]


@dataclass(frozen=True)
class ResourceChange:
    op: Op
    type: str
    name: str
    model: str | None
    keys: tuple[str, ...] = ()  # for "~": the top-level inputs / options that differ


@dataclass
class StackResult:
    stack: str
    reason: str
    changes: list[ResourceChange]
    unchanged: int
    cost: Change | None
    budget_over: bool
    violations: list[Violation]  # on the branch
    new: set[tuple[str, str, str, str]] = field(default_factory=set)  # (rule, stack, resource, message) not at base
    fixed: list[Violation] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    def count(self, op: Op) -> int:
        return sum(1 for c in self.changes if c.op == op)


@dataclass
class PrReport:
    base: str
    base_commit: str
    stacks: list[StackResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # validation: nothing was planned
    error: str = ""  # an invalid base ref project, or another located failure
    cost: Diff | None = None
    estimates: list[StackCost] = field(default_factory=list)
    rules_evaluated: int = 0
    jobs: int = 1
    plans: int = 0
    unchanged: list[str] = field(default_factory=list)  # selected by the change, same effective inputs

    @property
    def mandatory(self) -> list[Violation]:
        return [v for s in self.stacks for v in s.violations if v.level == "mandatory"]

    @property
    def over_budget(self) -> list[StackCost]:
        return [e for e in self.estimates if e.over_budget]

    @property
    def exit_code(self) -> int:
        if self.problems or self.error:
            return 2
        return 1 if self.mandatory or self.over_budget else 0


# --- planning in parallel processes -------------------------------------------------------------

_TASKS: list[Prepared] = []  # set before the pool forks; children read it from their copy


def _fresh_event_loop() -> None:
    """A forked worker must not reuse the parent's event loop (its executor threads did not fork)."""
    asyncio.set_event_loop(asyncio.new_event_loop())


def _plan_task(index: int) -> ResourcePlan:
    task = _TASKS[index]
    return preview_loaded(task.stack, task.specs)


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def plan_all(prepared: list[Prepared], jobs: int) -> list[ResourcePlan]:
    """Plan each prepared stack. The cloud SDKs load their generated modules lazily, on first
    use, and that costs more than planning a stack: so the first (largest) stack of each
    platform is planned here, and the rest in forked workers that inherit the loaded modules."""
    global _TASKS
    order = sorted(range(len(prepared)), key=lambda i: -len(prepared[i].key))  # the key holds the merged specs: a size proxy
    planned: dict[int, ResourcePlan] = {}
    warmed: set[str] = set()
    for i in order:
        target = target_of(prepared[i].stack)
        if target not in warmed:
            warmed.add(target)
            planned[i] = preview_loaded(prepared[i].stack, prepared[i].specs)
    rest = [i for i in order if i not in planned]
    if jobs <= 1 or len(rest) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        planned.update((i, preview_loaded(prepared[i].stack, prepared[i].specs)) for i in rest)
    else:
        _TASKS = prepared
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=min(jobs, len(rest)), mp_context=context,
                                     initializer=_fresh_event_loop) as pool:
                planned.update(zip(rest, pool.map(_plan_task, rest), strict=True))
        finally:
            _TASKS = []
    return [planned[i] for i in range(len(prepared))]


# --- diffs ----------------------------------------------------------------------------------------

def resource_diff(before: ResourcePlan | None, after: ResourcePlan | None) -> tuple[list[ResourceChange], int]:
    """(+/~/- changes sorted by type and name, number unchanged), matched by URN."""
    old = before.by_urn() if before else {}
    new = after.by_urn() if after else {}
    changes: list[ResourceChange] = []
    unchanged = 0
    for urn in sorted(old.keys() | new.keys()):
        a, b = old.get(urn), new.get(urn)
        if a is None and b is not None:
            changes.append(ResourceChange("+", b.type, b.name, b.model))
        elif b is None and a is not None:
            changes.append(ResourceChange("-", a.type, a.name, a.model))
        elif a is not None and b is not None:
            keys = _differing(a, b)
            if keys:
                changes.append(ResourceChange("~", b.type, b.name, b.model, keys))
            else:
                unchanged += 1
    order = {"-": 0, "~": 1, "+": 2}
    return sorted(changes, key=lambda c: (c.type, c.name, order[c.op])), unchanged


def _differing(a: PlannedResource, b: PlannedResource) -> tuple[str, ...]:
    keys = sorted(k for k in a.inputs.keys() | b.inputs.keys() if a.inputs.get(k) != b.inputs.get(k))
    keys += sorted(f"options.{k}" for k in a.options.keys() | b.options.keys() if a.options.get(k) != b.options.get(k))
    return tuple(keys)


def _key(v: Violation) -> tuple[str, str, str, str]:
    return (v.rule, v.stack, v.resource, v.message)


# --- the check ------------------------------------------------------------------------------------

def _stacks_at(root: Path) -> set[str]:
    return {m.group("stack") for p in stack_paths(root / "stacks") if (m := STACK_FILE_RE.match(p.name))}


def run_pr(project_dir: Path, base: str, jobs: int | None = None) -> PrReport:
    sha, _ = resolve(project_dir, base)
    report = PrReport(base=base, base_commit=sha)
    selection = select_changed(project_dir, base, project_wide=("policies",))
    try:
        validated = validate_since(project_dir, base)
    except SpecError as e:
        report.problems = list(e.problems)
        return report
    except ModelfleetError as e:
        report.error = str(e)
        return report
    reasons = dict(selection.reasons)
    changed = changed_paths(project_dir, base)
    with tempfile.TemporaryDirectory(prefix="modelfleet-pr-") as tmp:
        base_root = extract_at_ref(project_dir, base, PROJECT_PATHS, Path(tmp))
        stacks_dir = project_dir.resolve() / "stacks"
        deleted = {m.group("stack") for p in changed if p.parent == stacks_dir and (m := STACK_FILE_RE.match(p.name))}
        for name in sorted((_stacks_at(base_root) - _stacks_at(project_dir)) & deleted):
            reasons[name] = "stack deleted"
        names = sorted(reasons)
        if not names:
            return report
        present = [n for n in names if reasons[n] != "stack deleted"]
        head = prepare(project_dir, present) if present else []
        try:
            before = prepare(base_root, names, skip_missing=True) if (base_root / "stacks").is_dir() else []
        except ModelfleetError as e:
            message = str(e).replace(f"{base_root}/", f"{base}:")
            raise BaseRefError(f"the project at {base!r} cannot be planned: {message}\n"
                               "To fix: compare with a ref whose specs and stacks are valid", e.exit_code) from e
        # a stack whose effective inputs (stack settings + merged specs) are the same on both sides
        # plans the same: unaffected, unless policies changed (then one plan, two policy runs)
        policies_changed = any(r == "policies changed" for r in reasons.values())
        base_keys = {p.stack.stack: p.key for p in before}
        same = {p.stack.stack for p in head if base_keys.get(p.stack.stack) == p.key}
        if not policies_changed:
            report.unchanged = sorted(same)
            names = [n for n in names if n not in same]
            head = [p for p in head if p.stack.stack not in same]
            before = [p for p in before if p.stack.stack not in same]
            if not names:
                return report
        known = {p.key for p in head}
        base_only = list({p.key: p for p in before if p.key not in known}.values())
        todo = [*head, *base_only]
        report.jobs = max(1, min(jobs or usable_cpus(), len(todo)))
        report.plans = len(todo)
        plans = plan_all(todo, report.jobs)
        by_key = {p.key: plan for p, plan in zip(todo, plans, strict=True)}
        head_plans = [by_key[p.key] for p in head]
        base_plans = [by_key[p.key] for p in before]
        head_check = run_checks(head_plans, project_dir / "policies" / "config")
        base_check = run_checks(base_plans, base_root / "policies" / "config")
    after_costs = [estimate_plan(p) for p in head_plans]
    before_costs = [estimate_plan(p) for p in base_plans]
    report.estimates = after_costs
    report.cost = compare(base, before_costs, after_costs)
    report.rules_evaluated = head_check.rules_evaluated
    report.stacks = _results(names, reasons, head_plans, base_plans, head_check, base_check, report.cost, after_costs,
                             validated.get("warnings", []))
    return report


def _results(names: list[str], reasons: dict[str, str], head: list[ResourcePlan], base: list[ResourcePlan],
             head_check: CheckReport, base_check: CheckReport, cost: Diff, estimates: list[StackCost],
             warnings: list[dict[str, Any]]) -> list[StackResult]:
    after = {p.stack: p for p in head}
    before = {p.stack: p for p in base}
    costs = {s.stack.name: s.stack for s in cost.stacks}
    over = {e.stack for e in estimates if e.over_budget}
    base_keys = {_key(v) for v in base_check.violations}
    head_keys = {_key(v) for v in head_check.violations}
    out = []
    for name in names:
        changes, unchanged = resource_diff(before.get(name), after.get(name))
        mine = [v for v in head_check.violations if v.stack == name]
        out.append(StackResult(
            stack=name, reason=reasons[name], changes=changes, unchanged=unchanged, cost=costs.get(name),
            budget_over=name in over, violations=mine, new={_key(v) for v in mine} - base_keys,
            fixed=[v for v in base_check.violations if v.stack == name and _key(v) not in head_keys],
            warnings=[w for w in warnings if w.get("stack") == name]))
    return out
