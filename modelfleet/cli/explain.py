"""`modelfleet explain [FIELD]`: a spec field's or stack setting's description, type, allowed
values, default and examples, read from the schema (`modelfleet.explain`). Without FIELD, the
spec's fields and the stack's settings. Needs no project.

Exit codes: 0; 2 unknown field (with the closest known ones). `-f json` prints the field as
JSON (errors too, as `{"ok": false, "problems": [...]}`).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.text import Text

from modelfleet.cli.common import fail, out, say
from modelfleet.errors import ModelfleetError


class ExplainFormat(StrEnum):
    text = "text"
    json = "json"


def explain_command(
    field: Annotated[str | None, typer.Argument(metavar="FIELD", show_default=False,
                                                help="Dotted spec field (autoscaling.metric, serving.runtime) or stack setting "
                                                     "(modelfleet:addons.argo_rollouts, aws:region); none lists them all.")] = None,
    fmt: Annotated[ExplainFormat, typer.Option("--format", "-f", help="text or json.")] = ExplainFormat.text,
) -> None:
    """What a spec field or stack setting means: description, type, allowed values, default, examples."""
    from modelfleet.explain import FieldDoc, explain, top_level

    try:
        docs: list[FieldDoc] = [explain(field)] if field is not None else list(top_level())
    except ModelfleetError as e:
        raise fail(e, fmt.value) from e
    if fmt == ExplainFormat.json:
        body: Any = docs[0].as_dict() if field is not None else {"spec": docs[0].as_dict(), "stack": docs[1].as_dict()}
        out(json.dumps(body, indent=2, default=str))
        return
    for index, doc in enumerate(docs):
        if index:
            say("")
        _render(doc)


def flow(value: Any) -> str:
    """A value as it would be written in YAML (flow style for lists and mappings)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _render(doc: Any) -> None:
    """Label column, then the value; lines are never cropped (wrapped in a terminal only)."""
    say((doc.path, "bold cyan"), f"  in {doc.where}")
    if doc.description:
        say(doc.description)
    rows: list[tuple[str, str | Text]] = [("type", doc.type + (" (required)" if doc.required else ""))]
    if doc.allowed:
        rows.append(("allowed", ", ".join(flow(v) for v in doc.allowed)))
    if doc.has_default:
        rows.append(("default", flow(doc.default) if doc.default is not None else "unset"))
    rows += [("examples" if i == 0 else "", flow(example)) for i, example in enumerate(doc.examples)]
    if doc.only_on:
        rows.append(("only on", doc.only_on))
    if doc.note:
        rows.append(("note", doc.note))
    width = max((len(name) for name, _ in doc.fields), default=0)
    rows += [("fields" if i == 0 else "", Text.assemble((name.ljust(width), "cyan"), f"  {description}".rstrip()))
             for i, (name, description) in enumerate(doc.fields)]
    for label, value in rows:
        say(f"  {label:<9} ", value)
