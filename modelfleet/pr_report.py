"""Views of a `PrReport`: one Markdown PR comment, GitHub annotations, and JSON.

Contract:
- `markdown(report)` — a verdict line; a table with one row per affected stack (resources
  `+N ~N -N`, monthly min / expected / max deltas, policy verdicts); per stack a collapsible
  resource diff (`diff` code block, `pulumi preview` style), and the policy violations with
  new ones marked. Unaffected stacks are not mentioned at all.
- `github_annotations(report)` — GitHub workflow commands: `::error file=…,line=…` per validation
  problem, `::error` per mandatory and `::warning` per advisory violation, `::error` per
  stack over budget, `::notice` with the summary.
- `as_json(report)` — the same facts; money as decimal strings.
"""

from __future__ import annotations

from typing import Any

from modelfleet.check import Violation
from modelfleet.cost.diff import Change
from modelfleet.cost.model import money_str
from modelfleet.cost.report_text import after_and_delta, delta, usd
from modelfleet.github_commands import annotation
from modelfleet.pr import PrReport, StackResult


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def verdict(report: PrReport) -> str:
    if report.problems:
        return f"❌ {len(report.problems)} invalid input(s): nothing was planned"
    if report.error:
        return "❌ cannot compare with the base"
    if not report.stacks:
        return "✅ no change affects any stack's plan"
    bits = []
    if report.mandatory:
        bits.append(f"{len(report.mandatory)} mandatory policy violation(s)")
    if report.over_budget:
        bits.append(f"{len(report.over_budget)} stack(s) over budget")
    icon = "❌" if bits else "✅"
    changed = sum(1 for s in report.stacks if s.changes)
    return f"{icon} {len(report.stacks)} stack(s) affected, {changed} with resource changes" + (f"; {', '.join(bits)}" if bits else "")


def _cost_cells(c: Change | None) -> list[str]:
    if c is None:
        return ["—", "—", "—"]
    return [after_and_delta(c.before_min, c.after_min), after_and_delta(c.before_expected, c.after_expected),
            after_and_delta(c.before_max, c.after_max)]


def _policy_cell(s: StackResult) -> str:
    mandatory = [v for v in s.violations if v.level == "mandatory"]
    advisory = len(s.violations) - len(mandatory)
    new = len(s.new)
    text = ("❌ " if mandatory else "✅ ") + f"{len(mandatory)} mandatory, {advisory} advisory"
    if new:
        text += f" ({new} new)"
    if s.fixed:
        text += f", {len(s.fixed)} fixed"
    return text


def _resources_cell(s: StackResult) -> str:
    return f"+{s.count('+')} ~{s.count('~')} -{s.count('-')}" + (f" ({s.unchanged} unchanged)" if s.unchanged else "")


def _diff_lines(s: StackResult) -> list[str]:
    lines = []
    for c in s.changes:
        detail = f" ({', '.join(c.keys)})" if c.keys else ""
        lines.append(f"{c.op} {c.type} {c.name}{detail}")
    return lines


def _key(v: Violation) -> tuple[str, str, str, str]:
    return (v.rule, v.stack, v.resource, v.message)


def _violation_row(v: Violation, new: bool) -> str:
    icon = "❌" if v.level == "mandatory" else "⚠️"
    return f"| {icon} | {v.rule}{' **new**' if new else ''} | `{_md(v.resource)}` | {_md(v.message)} |"


def markdown(report: PrReport) -> str:
    out = [f"### modelfleet pr: {verdict(report)}", ""]
    if report.problems:
        out += ["| File | Field | Problem |", "|---|---|---|"]
        out += [f"| `{_md(p.location())}` | `{_md(p.field or '-')}` | {_md(p.render().split(': ', 2)[-1])} |" for p in report.problems]
        return "\n".join(out) + "\n"
    if report.error:
        return "\n".join([*out, "```", report.error, "```"]) + "\n"
    if not report.stacks:
        same = f" Selected but with the same effective inputs: {', '.join(report.unchanged)}." if report.unchanged else ""
        return "\n".join([*out, f"Compared with `{report.base}` ({report.base_commit[:12]}).{same}"]) + "\n"
    out += [f"Compared with `{report.base}` ({report.base_commit[:12]}); {report.rules_evaluated} policy rules; "
            "cost is monthly, after (change): min = every model at its minimum replicas, max = at its maximum.", "",
            "| Stack | Why | Resources | Monthly min | Expected | Max | Policies |",
            "|---|---|---|---:|---:|---:|---|"]
    for s in report.stacks:
        budget = " ⚠️ over budget" if s.budget_over else ""
        out.append(f"| {s.stack}{budget} | {_md(s.reason)} | {_resources_cell(s)} | " + " | ".join(_cost_cells(s.cost))
                   + f" | {_policy_cell(s)} |")
    if report.cost is not None and len(report.stacks) > 1:
        t = report.cost.total
        out.append(f"| **Total** | | | {delta(t.before_min, t.after_min)} | {delta(t.before_expected, t.after_expected)} | "
                   f"{delta(t.before_max, t.after_max)} | |")
    for s in report.stacks:
        out += ["", f"#### {s.stack}", ""]
        lines = _diff_lines(s)
        if lines:
            out += [f"<details><summary>{len(lines)} resource change(s)</summary>", "", "```diff", *lines, "```", "", "</details>"]
        else:
            out.append("No resource changes.")
        # what this change brings (new violations, anything mandatory, fixes) is shown; the rest is folded
        shown = [v for v in s.violations if v.level == "mandatory" or _key(v) in s.new]
        folded = [v for v in s.violations if v not in shown]
        if shown or s.fixed:
            out += ["", "| | Rule | Resource | Message |", "|---|---|---|---|"]
            out += [_violation_row(v, _key(v) in s.new) for v in shown]
            out += [f"| ✅ | {v.rule} fixed | `{_md(v.resource)}` | {_md(v.message)} |" for v in s.fixed]
        if folded:
            out += ["", f"<details><summary>{len(folded)} advisory finding(s) already on {report.base}</summary>", "",
                    "| | Rule | Resource | Message |", "|---|---|---|---|", *[_violation_row(v, False) for v in folded], "",
                    "</details>"]
        if s.warnings:
            out += ["", f"<details><summary>{len(s.warnings)} warning(s)</summary>", ""]
            out += [f"- {_md(': '.join(x for x in (w.get('model'), w.get('field'), w.get('message')) if x))}" for w in s.warnings]
            out += ["", "</details>"]
    if report.unchanged:
        out += ["", f"Selected by the change but with the same effective inputs (no diff): {', '.join(report.unchanged)}."]
    out += ["", f"<sub>{report.plans} plan(s) in {report.jobs} process(es); one plan per stack and side feeds the diff, "
                "the cost and the policies.</sub>"]
    return "\n".join(out) + "\n"


def github_annotations(report: PrReport) -> list[str]:
    lines = []
    for p in report.problems:
        lines.append(annotation("error", p.render(), file=p.file or None, line=p.line, title=p.field or "invalid input"))
    if report.error:
        lines.append(annotation("error", report.error, title="modelfleet pr"))
    for s in report.stacks:
        for v in s.violations:
            lines.append(annotation("error" if v.level == "mandatory" else "warning", v.message, title=f"{v.rule} {v.stack}/{v.resource}"))
        if s.budget_over and s.cost is not None:
            lines.append(annotation("error", f"stack {s.stack}: monthly max {usd(s.cost.after_max)} exceeds its budget. To fix: "
                                    "lower max_replicas or pick cheaper accelerators, or raise modelfleet:budget",
                                    title=f"budget {s.stack}"))
    lines.append(annotation("notice", verdict(report), title="modelfleet pr"))
    return lines


def _change_json(c: Change | None) -> dict[str, str] | None:
    if c is None:
        return None
    return {k: str(money_str(getattr(c, k))) for k in ("before_min", "before_expected", "before_max", "after_min",
                                                  "after_expected", "after_max", "delta_min", "delta_expected", "delta_max")}


def as_json(report: PrReport) -> dict[str, Any]:
    return {
        "ok": report.exit_code == 0, "exit_code": report.exit_code, "base": report.base, "base_commit": report.base_commit,
        "problems": [p.as_dict() for p in report.problems], "error": report.error or None,
        "rules_evaluated": report.rules_evaluated, "plans": report.plans, "jobs": report.jobs,
        "unchanged": report.unchanged,
        "stacks": [{
            "stack": s.stack, "reason": s.reason, "unchanged": s.unchanged,
            "resources": [{"op": c.op, "type": c.type, "name": c.name, "model": c.model, "changed": list(c.keys)} for c in s.changes],
            "cost": _change_json(s.cost), "over_budget": s.budget_over,
            "violations": [{"rule": v.rule, "level": v.level, "resource": v.resource, "message": v.message,
                            "new": (v.rule, v.stack, v.resource, v.message) in s.new} for v in s.violations],
            "fixed": [{"rule": v.rule, "level": v.level, "resource": v.resource, "message": v.message} for v in s.fixed],
            "warnings": s.warnings,
        } for s in report.stacks],
    }
