"""Offline policy checks: run every rule of the policy pack over `ResourcePlan`s.

Contract:

* `run_checks(plans, config_dir)` evaluates `policies.rules.RULES` over each plan with the
  config `config_dir / f"{plan.environment}.json"` (Pulumi `--policy-pack-config` format;
  rule defaults when the file is absent). Resource rules see custom resources only; stack
  rules see every resource. The plan's environment is authoritative for `environment`.
* The verdicts are the ones `pulumi preview --policy-pack policies` gives for the same
  resources and config (tests prove it against the real wrappers in `policies/pack.py`).
* `CheckReport.to_json()` is the DESIGN §5 shape
  `{"rules_evaluated", "violations": [{"rule", "level", "stack", "resource", "message"}]}`, plus
  `"rollouts"`: every rollout in progress (the preview's rollout entry with its `stack`, and its
  second slot's cost once `with_rollout_costs` added it), also listed by the other formats;
  `list_rules_json()` is the `--list-rules` shape; `exit_code` is 1 on any mandatory violation.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from modelfleet.errors import ModelfleetError
from modelfleet.github_commands import annotation
from modelfleet.plan import ResourcePlan
from modelfleet.render_preview import rollout_line

ViolationLevel = Literal["mandatory", "advisory"]
FORMATS = ("table", "json", "github", "markdown")


class PolicyConfigError(ModelfleetError):
    """A policy pack config file is unreadable or names an unknown enforcement level."""


@dataclass(frozen=True)
class Violation:
    rule: str
    level: ViolationLevel
    stack: str
    resource: str
    message: str


@dataclass
class CheckReport:
    """Verdicts of one `check` run. `rules` lists the (id, level) of each rule evaluated."""

    rules_evaluated: int
    violations: list[Violation] = field(default_factory=list)
    rules: list[tuple[str, str]] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)
    rollouts: list[dict[str, Any]] = field(default_factory=list)  # each rollout in progress, with its "stack"

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    def as_dict(self) -> dict[str, Any]:
        return {"rules_evaluated": self.rules_evaluated, "violations": [asdict(v) for v in self.violations],
                "rollouts": self.rollouts}

    def rollout_lines(self) -> list[str]:
        return [f"{r['stack']}: {rollout_line(r)}" for r in self.rollouts]

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=False)

    def to_github(self) -> str:
        """GitHub workflow commands: `::error` for mandatory, `::warning` for advisory."""
        lines = []
        for v in self.violations:
            lines.append(annotation("error" if v.level == "mandatory" else "warning", v.message,
                                    title=f"{v.rule} {v.stack}/{v.resource}"))
        lines += [annotation("notice", line, title="rollout in progress") for line in self.rollout_lines()]
        lines.append(self.summary())
        return "\n".join(lines)

    def to_markdown(self) -> str:
        out = [f"### modelfleet check: {self.summary()}", ""]
        if self.violations:
            out += ["| | rule | stack | resource | message |", "|---|---|---|---|---|"]
            for v in self.violations:
                icon = "❌" if v.level == "mandatory" else "⚠️"
                cells = [icon, v.rule, v.stack, f"`{v.resource}`", v.message]
                out.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        if self.rollouts:
            out += ["", "Rollouts in progress:", ""] + ["- " + line.replace("|", "\\|") for line in self.rollout_lines()]
        return "\n".join(out)

    def to_table(self) -> Table:
        table = Table(title=Text(f"modelfleet check — {self.summary()}"), show_lines=False)
        for column in ("rule", "level", "stack", "resource", "message"):
            table.add_column(column, overflow="fold")
        for v in self.violations:
            style = "red" if v.level == "mandatory" else "yellow"
            table.add_row(v.rule, Text(v.level, style=style), Text(v.stack), Text(v.resource), Text(v.message))
        return table

    def rollouts_table(self) -> Table:
        table = Table(title="rollouts in progress")
        table.add_column("stack")
        table.add_column("rollout", overflow="fold")
        for r in self.rollouts:
            table.add_row(Text(r["stack"]), Text(rollout_line(r)))
        return table

    def rules_table(self) -> Table:
        """Per-rule verdicts: each evaluated rule with its level and violation count."""
        counts: dict[str, int] = {}
        for v in self.violations:
            counts[v.rule] = counts.get(v.rule, 0) + 1
        table = Table(title="rules")
        for column in ("rule", "level", "result"):
            table.add_column(column)
        for rule_id, level in self.rules:
            n = counts.get(rule_id, 0)
            table.add_row(rule_id, level, Text(f"{n} violation(s)", style="red") if n else Text("pass", style="green"))
        return table

    def summary(self) -> str:
        n_mandatory = len(self.mandatory)
        n_advisory = len(self.violations) - n_mandatory
        return (
            f"{self.rules_evaluated} rules over {len(self.stacks)} stack(s): "
            f"{n_mandatory} mandatory, {n_advisory} advisory violation(s)"
        )

    def render(self, fmt: str, console: Console | None = None) -> str | None:
        """Text for json/github/markdown; prints Rich tables for `table` (returns None)."""
        if fmt == "json":
            return self.to_json()
        if fmt == "github":
            return self.to_github()
        if fmt == "markdown":
            return self.to_markdown()
        if fmt == "table":
            console = console or Console()
            console.print(self.rules_table())
            console.print(self.to_table())
            if self.rollouts:
                console.print(self.rollouts_table())
            return None
        raise PolicyConfigError(f"Unknown format {fmt!r}. To fix: use one of {', '.join(FORMATS)}.")


def rules_module(config_dir: Path | None = None) -> ModuleType:
    """`policies.rules`, importing it from the project next to `config_dir` if not installed."""
    try:
        return importlib.import_module("policies.rules")
    except ModuleNotFoundError:
        if config_dir is None:
            raise
        sys.path.insert(0, str(Path(config_dir).resolve().parent.parent))
        return importlib.import_module("policies.rules")


def load_pack_config(path: Path) -> dict[str, Any]:
    """A policy pack config file as a dict; `{}` when the file does not exist."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise PolicyConfigError(f"{path}: not valid JSON ({e}). To fix: correct the file.") from e
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: expected an object keyed by rule id. To fix: correct the file.")
    return data


def _resource_dicts(plan: ResourcePlan) -> list[dict[str, Any]]:
    return [
        {"type": r.type, "name": r.name, "urn": r.urn, "parent": r.parent, "props": r.inputs, "options": r.options}
        for r in plan.resources
    ]


def policy_environment(plan: ResourcePlan) -> str:
    """The environment rules see: a stack-declared production environment (modelfleet:environments)
    is held to every prod rule and reads the prod config, like `prod` itself."""
    return "prod" if plan.config.get("production") else plan.environment


def _check_plan(
    plan: ResourcePlan, pack_config: dict[str, Any], rules: Sequence[Any], resolve: Any, evaluated: dict[str, str]
) -> list[Violation]:
    found: list[Violation] = []
    resources = _resource_dicts(plan)
    for rule in rules:
        try:
            level, params = resolve(rule, pack_config)
        except ValueError as e:
            raise PolicyConfigError(f"{rule.id}: {e}. To fix: correct policies/config/{plan.environment}.json.") from e
        if level == "disabled":
            continue
        evaluated.setdefault(rule.id, level)
        params["environment"] = policy_environment(plan)
        if rule.kind == "stack":
            hits = rule.check_stack(resources, params)
        else:
            hits = [
                (r.name, message)
                for r in plan.resources
                if r.custom
                for message in rule.check_resource(r.type, r.inputs, params, r.options)
            ]
        found += [Violation(rule.id, level, plan.stack, name, message) for name, message in hits]
    return found


def run_checks(plans: Iterable[ResourcePlan], config_dir: Path) -> CheckReport:
    rules_pkg = rules_module(config_dir)
    resolve = importlib.import_module("policies.rules._config").resolve
    evaluated: dict[str, str] = {}
    violations: list[Violation] = []
    stacks: list[str] = []
    plans_seen = list(plans)
    for plan in plans_seen:
        stacks.append(plan.stack)
        pack_config = load_pack_config(Path(config_dir) / f"{policy_environment(plan)}.json")
        violations += _check_plan(plan, pack_config, rules_pkg.RULES, resolve, evaluated)
    rollouts = [{"stack": plan.stack, **r} for plan in plans_seen for r in plan.config.get("rollouts") or []]
    return CheckReport(len(evaluated), violations, sorted(evaluated.items()), stacks, rollouts)


def with_rollout_costs(report: CheckReport, plans: Iterable[ResourcePlan]) -> CheckReport:
    """The report's rollouts, each with its second slot's cost (`second_slot`) from the cost engine."""
    from modelfleet.cost import estimate_plan
    from modelfleet.cost.report_json import second_slot_json

    slots = {(plan.stack, r.model): second_slot_json(r) for plan in plans for r in estimate_plan(plan).rollouts}
    report.rollouts = [{**r, "second_slot": slots.get((r["stack"], r["model"]))} for r in report.rollouts]
    return report


def list_rules_json(config_dir: Path | None = None) -> list[dict[str, Any]]:
    return [
        {"id": r.id, "level": r.level, "area": r.area, "description": r.description, "refs": list(r.refs)}
        for r in rules_module(config_dir).RULES
    ]


def rules_table(config_dir: Path | None = None) -> Table:
    table = Table(title="modelfleet policy rules")
    for column in ("id", "level", "area", "description", "refs"):
        table.add_column(column, overflow="fold")
    for rule in list_rules_json(config_dir):
        table.add_row(rule["id"], rule["level"], rule["area"], Text(rule["description"]), ", ".join(rule["refs"]))
    return table


def exit_code(report: CheckReport) -> int:
    return 1 if report.mandatory else 0
