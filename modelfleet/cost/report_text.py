"""Human views of estimates: Rich tables for terminals, Markdown shaped like Infracost's PR comment.

Contract: `cost_tables(stacks, diff)` → Rich renderables (one table per stack, components
under their model, then notes: expected basis, usage-dependent and unpriced resources,
budget verdict; a table of changes when `diff` is given). `cost_markdown(stacks, diff)`
→ Markdown: with a diff, a headline over min, expected and max together ("Monthly cost will
increase: min +$X (+Y%), expected …, max …" — any change in any of them is a change), a
table of the stacks that changed (each figure after, with its change), the unchanged stacks
in one line, then per changed stack its changed models with the components in a
collapsible `<details>`; without a diff, the current min / expected / max per stack and
model. Usage-dependent and unpriced resources are always listed, never hidden in a 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.table import Table
from rich.text import Text

from modelfleet.cost.diff import Change, Diff, percent
from modelfleet.cost.model import Component, RolloutCost, StackCost, money, number_str


def usd(value: Decimal | None) -> str:
    return "—" if value is None else f"${money(value):,.2f}"


def signed(value: Decimal) -> str:
    v = money(value)
    return f"+${v:,.2f}" if v > 0 else f"-${-v:,.2f}" if v < 0 else "$0.00"


def pct(before: Decimal, after: Decimal) -> str:
    if money(after) == money(before):
        return ""
    p = percent(before, after)
    if p is None:
        return "(new)" if money(after) else ""
    return f"({'+' if p >= 0 else ''}{p}%)"


def _qty(c: Component) -> str:
    if c.usage_based:
        return "depends on usage"
    lo, hi = number_str(c.quantity_min), number_str(c.quantity_max)
    return f"{lo} {c.unit}" if lo == hi else f"{lo}–{hi} {c.unit}"


def _unit_price(c: Component) -> str:
    if c.unit_price is None:
        return "—"
    return "free" if c.unit_price == 0 else f"${number_str(c.unit_price)}"


def _monthly(c: Component, value: Decimal) -> str:
    return "depends on usage" if c.usage_based else usd(value)


def _stack_title(s: StackCost) -> str:
    budget = f"  budget {usd(s.budget)}" if s.budget is not None else ""
    return f"{s.stack}  ({s.platform}/{s.target}, {s.environment}){budget}"


def stack_table(s: StackCost) -> Table:
    table = Table(title=Text(_stack_title(s)), title_justify="left", show_lines=False)
    for header, justify in (("Model / component", "left"), ("Quantity", "right"), ("Unit price", "right"),
                            ("Monthly min", "right"), ("Expected", "right"), ("Monthly max", "right")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for m in [*s.models, s.shared]:
        if m is s.shared and not m.components:
            continue
        table.add_row(Text(m.model, style="bold"), "", "", usd(m.monthly_min), usd(m.monthly_expected), usd(m.monthly_max))
        for c in m.components:
            if c.usage_based:
                continue
            share = f" × {money(c.share * 100)}% share" if c.share is not None else ""
            table.add_row(Text(f"  {c.description}{share}"), _qty(c), _unit_price(c), _monthly(c, c.monthly_min),
                          _monthly(c, c.monthly_expected), _monthly(c, c.monthly_max))
        usage = m.usage_based
        if usage:
            kinds = ", ".join(sorted({c.description for c in usage}))
            table.add_row(Text(f"  + {len(usage)} usage-dependent: {kinds}", style="italic"), "", "", "", "", "depends on usage")
        for note in m.notes:
            table.add_row(Text(f"  note: {note}", style="dim"), "", "", "", "", "")
    style = "bold red" if s.over_budget else "bold"
    table.add_row(Text("Total", style=style), "", "", Text(usd(s.monthly_min), style=style),
                  Text(usd(s.monthly_expected), style=style), Text(usd(s.monthly_max), style=style))
    return table


def second_slot_text(r: RolloutCost) -> str:
    """`+$a – $b/month (expected $c)`, or the one-off overlap when the second slot is transient."""
    text = f"+{usd(r.extra_min)} – {usd(r.extra_max)}/month (expected {usd(r.extra_expected)})"
    if r.overlap_hours is not None:
        text += (f", plus {usd(r.overlap_min)} – {usd(r.overlap_max)} once per update "
                 f"({number_str(r.overlap_hours)} h overlap)")
    return text


def rollout_cost_line(r: RolloutCost) -> str:
    return (f"rollout {r.model} {r.stable_version} → {r.new_version} ({r.strategy}, {r.phase.replace('_', ' ')}): "
            f"second slot {second_slot_text(r)}; {r.basis}")


def stack_notes(s: StackCost) -> list[str]:
    lines = [f"{s.expected_basis}"]
    lines += [rollout_cost_line(r) for r in s.rollouts]
    free_lines = [c for m in [*s.models, s.shared] for c in m.components if c.unit_price == 0 and not c.usage_based]
    if free_lines:
        lines.append(f"{len(free_lines)} CPU workload(s) listed as free: on-prem clusters have no internal CPU rate "
                     "(only gpu_hour_usd is priced)")
    usage = s.usage_based
    if usage:
        lines.append(f"{len(usage)} usage-dependent component(s) not in the totals (depends on usage): "
                     + ", ".join(sorted({f'{c.name} ({c.description})' for c in usage})))
    for u in s.unpriced:
        lines.append(f"unpriced: {u.type} {u.name}: {u.reason}")
    if s.free:
        lines.append(f"{len(s.free)} free resource(s) (IAM, namespaces, autoscalers, pods priced through their nodes, ...)")
    if s.over_budget:
        lines.append(f"OVER BUDGET: monthly max {usd(s.monthly_max)} exceeds the budget {usd(s.budget)}")
    return lines


def moved(c: Change) -> bool:
    """Any change in min, expected or max is a change (a higher floor is guaranteed spend)."""
    return any(money(d) != 0 for d in (c.delta_min, c.delta_expected, c.delta_max))


def delta(before: Decimal, after: Decimal) -> str:
    """`+$1,234.00 (+5.0%)`; no change is `±$0.00`."""
    if money(after) == money(before):
        return "±$0.00"
    share = pct(before, after).strip("()")
    return f"{signed(after - before)}, {share}" if share else signed(after - before)


def after_and_delta(before: Decimal, after: Decimal) -> str:
    return f"{usd(after)} ({delta(before, after)})"


def _cells(c: Change) -> list[str]:
    return [after_and_delta(c.before_min, c.after_min), after_and_delta(c.before_expected, c.after_expected),
            after_and_delta(c.before_max, c.after_max)]


def diff_table(d: Diff) -> Table:
    """Changed stacks and models with min / expected / max after (change); unchanged stacks in the caption."""
    same = [sc.stack.name for sc in d.stacks if not moved(sc.stack)]
    table = Table(title=Text(f"Monthly cost vs {d.base_ref}: after (change)"), title_justify="left",
                  caption=Text(f"unchanged: {', '.join(same)}") if same else None, caption_justify="left")
    for header, justify in (("Stack / model", "left"), ("Min", "right"), ("Expected", "right"), ("Max", "right")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for sc in d.stacks:
        if not moved(sc.stack):
            continue
        table.add_row(Text(sc.stack.name, style="bold"), *_cells(sc.stack))
        for m in sc.models:
            if moved(m):
                table.add_row(Text(f"  {m.name}"), *_cells(m))
    table.add_row(Text("Total", style="bold"), *_cells(d.total))
    return table


def cost_tables(stacks: list[StackCost], diff: Diff | None = None) -> list[Any]:
    out: list[Any] = []
    if diff is not None:  # with a diff, only the stacks whose figures moved get their full table
        moving = {sc.stack.name for sc in diff.stacks if moved(sc.stack)}
        stacks = [s for s in stacks if s.stack in moving]
    for s in stacks:
        out.append(stack_table(s))
        out.extend(Text(line, style="red" if line.startswith("OVER BUDGET") else "dim") for line in stack_notes(s))
    if diff is not None:
        out.append(diff_table(diff))
    return out


# Markdown ------------------------------------------------------------------------------------

def _md(text: str) -> str:
    return text.replace("|", "\\|")


def summary_line(total: Change) -> str:
    """The headline: direction over min, expected and max together, then each figure's change."""
    deltas = [money(total.delta_min), money(total.delta_expected), money(total.delta_max)]
    if not any(deltas):
        return "Monthly cost will not change"
    word = "increase" if all(x >= 0 for x in deltas) else "decrease" if all(x <= 0 for x in deltas) else "change"
    def part(before: Decimal, after: Decimal) -> str:
        return "±$0.00" if money(after) == money(before) else f"{signed(after - before)} {pct(before, after)}".strip()

    return (f"Monthly cost will {word}: min {part(total.before_min, total.after_min)}, expected "
            f"{part(total.before_expected, total.after_expected)}, max {part(total.before_max, total.after_max)}")


def _components_md(s: StackCost) -> list[str]:
    lines = ["| Model | Component | Quantity | Unit price | Monthly min | Monthly max |", "|---|---|---:|---:|---:|---:|"]
    for m in [*s.models, s.shared]:
        for c in m.components:
            if not c.usage_based:
                lines.append(f"| {_md(m.model)} | {_md(c.description)} | {_md(_qty(c))} | {_unit_price(c)} | "
                             f"{_monthly(c, c.monthly_min)} | {_monthly(c, c.monthly_max)} |")
        if m.usage_based:
            kinds = ", ".join(sorted({c.description for c in m.usage_based}))
            lines.append(f"| {_md(m.model)} | {len(m.usage_based)} usage-dependent: {_md(kinds)} | depends on usage | — | — | — |")
    lines.append("")
    lines.extend(f"- {_md(line)}" for line in stack_notes(s))
    return lines


def rollouts_md(s: StackCost) -> list[str]:
    """Rollouts in progress with their second slot's cost (in the totals above)."""
    if not s.rollouts:
        return []
    lines = ["", "| Rollout | Versions | Second slot min | Expected | Max |", "|---|---|---:|---:|---:|"]
    for r in s.rollouts:
        lines.append(f"| {_md(r.model)} ({r.strategy}, {r.phase.replace('_', ' ')}) | {_md(str(r.stable_version))} → "
                     f"{_md(str(r.new_version))} | +{usd(r.extra_min)} | +{usd(r.extra_expected)} | +{usd(r.extra_max)} |")
    lines += [f"- {_md(r.model)}: {_md(r.basis)}" + (
        f" (one-off {usd(r.overlap_min)} – {usd(r.overlap_max)} per update)" if r.overlap_hours is not None else "")
        for r in s.rollouts]
    return lines


def _details(s: StackCost) -> list[str]:
    return ["", f"<details><summary>Components of {s.stack}</summary>", "", *_components_md(s), "", "</details>", ""]


def _change_row(c: Change) -> str:
    return f"| {_md(c.name)} | " + " | ".join(_cells(c)) + " |"


def cost_markdown(stacks: list[StackCost], diff: Diff | None = None) -> str:
    lines = ["### modelfleet cost estimate", ""]
    by_name = {s.stack: s for s in stacks}
    if diff is not None:
        changed = [sc for sc in diff.stacks if moved(sc.stack)]
        same = [sc.stack.name for sc in diff.stacks if not moved(sc.stack)]
        lines += [f"**{summary_line(diff.total)}**", "",
                  f"Compared with `{diff.base_ref}`. Each cell is the monthly figure after the change, with the change: "
                  "min = every model at its minimum replicas, expected = at the usage file's averages (else min), "
                  "max = at its maximum replicas.", ""]
        if changed:
            lines += ["| Stack | Min | Expected | Max |", "|---|---:|---:|---:|", *[_change_row(sc.stack) for sc in changed]]
        if same:
            lines += ["", f"{len(same)} stack(s) unchanged: {', '.join(same)}."]
        for sc in changed:
            lines += ["", f"#### {sc.stack.name}", "", "| Model | Min | Expected | Max |", "|---|---:|---:|---:|"]
            lines += [_change_row(m) for m in sc.models if moved(m)]
            if sc.stack.name in by_name:
                lines += _details(by_name[sc.stack.name])
        return "\n".join(lines).rstrip() + "\n"
    total_min = sum((s.monthly_min for s in stacks), Decimal(0))
    total_max = sum((s.monthly_max for s in stacks), Decimal(0))
    lines += [f"**Monthly cost: {usd(total_min)} – {usd(total_max)}**", "",
              "| Stack | Min | Expected | Max | Budget |", "|---|---:|---:|---:|---:|"]
    for s in stacks:
        flag = " ⚠️ over budget" if s.over_budget else ""
        lines.append(f"| {s.stack} | {usd(s.monthly_min)} | {usd(s.monthly_expected)} | {usd(s.monthly_max)} | {usd(s.budget)}{flag} |")
    for s in stacks:
        lines += ["", f"#### {s.stack}", "", f"_{s.expected_basis}_", "", "| Model | Min | Expected | Max |", "|---|---:|---:|---:|"]
        for m in [*s.models, s.shared]:
            if m is s.shared and not m.components:
                continue
            lines.append(f"| {_md(m.model)} | {usd(m.monthly_min)} | {usd(m.monthly_expected)} | {usd(m.monthly_max)} |")
        lines += rollouts_md(s)
        lines += _details(s)
    return "\n".join(lines).rstrip() + "\n"

