"""What a spec field or stack setting means, read from the pydantic models' JSON Schema
(`modelfleet.spec.ModelSpec`, `modelfleet.environment` stacks): the one place descriptions live.

Contract:
- `explain(path)` → `FieldDoc` for a dotted path: a spec field (`autoscaling.metric`,
  `environments.prod.autoscaling.min_replicas`) or a stack setting (`modelfleet:addons.argo_rollouts`,
  `aws:region`); a path the spec does not have but a stack does resolves to the stack setting.
  Unknown paths raise `SpecError` (exit 2) with the closest known paths.
- `spec_description(path)` → the schema description of a spec field (what `new` writes as comments).
- `known_paths()` → every dotted path `explain` accepts (map keys shown as `<key>`).
A field that exists only on some platforms or cluster kinds says where (`only_on`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from modelfleet.environment import NAMESPACE, REGION_KEYS
from modelfleet.environment import json_schema as stack_schema
from modelfleet.errors import Problem, SpecError
from modelfleet.spec import json_schema as spec_schema

SPEC_FILE = "model_specs/<model>.yaml"
STACK_FILE = "stacks/Pulumi.<stack>.yaml (config:)"
# stack fields modelfleet derives from the file itself, never written under config:
DERIVED_STACK_FIELDS = ("stack", "file")
MAP_KEY = "<key>"
_NO_DEFAULT = object()


@dataclass(frozen=True)
class FieldDoc:
    path: str                       # canonical: `autoscaling.metric` or `modelfleet:addons.argo_rollouts`
    where: str                      # the file it is written in
    description: str
    type: str
    allowed: tuple[Any, ...] = ()
    default: Any = _NO_DEFAULT
    required: bool = False
    examples: tuple[Any, ...] = ()
    only_on: str = ""               # e.g. "platform kubernetes; cluster.kind onprem"
    fields: tuple[tuple[str, str], ...] = ()  # (name, description) of an object's fields
    note: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.path, "file": self.where, "description": self.description, "type": self.type,
                "allowed": list(self.allowed) or None, "required": self.required,
                "default": self.default if self.has_default else None, "has_default": self.has_default,
                "examples": list(self.examples), "only_on": self.only_on or None,
                "fields": [{"name": n, "description": d} for n, d in self.fields], "note": self.note or None}


@dataclass
class _Match:
    node: dict[str, Any]
    required: bool
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (discriminator, value, all values)
    parents: list[str] = field(default_factory=list)


class _Schema:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.defs = root.get("$defs", {})

    def deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target = self.defs[node["$ref"].rsplit("/", 1)[-1]]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def branches(self, node: dict[str, Any], prefix: str = "") -> list[tuple[dict[str, Any], tuple[tuple[str, str, tuple[str, ...]], ...]]]:
        """The alternatives a value may take; a discriminated union tags each with its value."""
        node = self.deref(node)
        alternatives = node.get("oneOf") or node.get("anyOf")
        if not alternatives:
            return [(node, ())]
        tag = (node.get("discriminator") or {}).get("propertyName")
        found = []
        values = []
        for alt in alternatives:
            alt = self.deref(alt)
            value = (alt.get("properties", {}).get(tag) or {}).get("const") if tag else None
            if value is None and tag:
                value = next(iter((alt.get("properties", {}).get(tag) or {}).get("enum", [])), None)
            values.append(str(value))
            found.append((alt, value))
        out = []
        for alt, value in found:
            cond = ((prefix + tag, str(value), tuple(values)),) if tag else ()
            for sub, subcond in self.branches(alt, prefix):
                out.append((sub, cond + subcond))
        return out

    def child(self, match: _Match, segment: str) -> list[_Match]:
        found = []
        prefix = ".".join(match.parents)
        for branch, cond in self.branches(match.node, prefix + "." if prefix else ""):
            if branch.get("type") == "array" and isinstance(branch.get("items"), dict):
                inner = _Match(branch["items"], match.required, match.conditions + cond, match.parents)
                found += self.child(inner, segment)
                continue
            props = branch.get("properties") or {}
            if segment in props:
                found.append(_Match(props[segment], segment in branch.get("required", ()), match.conditions + cond,
                                    [*match.parents, segment]))
            elif isinstance(branch.get("additionalProperties"), dict):
                found.append(_Match(branch["additionalProperties"], False, match.conditions + cond, [*match.parents, segment]))
        return found

    def children(self, node: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The named fields of an object (merged over union branches and array items)."""
        out: dict[str, dict[str, Any]] = {}
        for branch, _ in self.branches(node):
            if branch.get("type") == "array" and isinstance(branch.get("items"), dict):
                out.update({k: v for k, v in self.children(branch["items"]).items() if k not in out})
            for name, sub in (branch.get("properties") or {}).items():
                out.setdefault(name, sub)
        return out


@cache
def _spec() -> _Schema:
    return _Schema(spec_schema())


@cache
def _stack() -> _Schema:
    root = stack_schema()
    for name in DERIVED_STACK_FIELDS:
        for branch, _ in _Schema(root).branches(root):
            branch.get("properties", {}).pop(name, None)
    return _Schema(root)


def _type_of(schema: _Schema, *nodes: dict[str, Any]) -> str:
    parts: list[str] = []
    for node in nodes:
        tag = (schema.deref(node).get("discriminator") or {}).get("propertyName")
        if tag:  # one object shape per value of `tag`
            values = sorted({str(c[1]) for _, conds in schema.branches(node) for c in conds[:1]})
            parts.append(f"object, by {tag}: {' | '.join(values)}")
            continue
        parts += [t for branch, _ in schema.branches(node) if (t := _type_one(schema, branch)) not in parts]
    parts = list(dict.fromkeys(parts))
    if "null" in parts and len(parts) > 1:
        parts.remove("null")
        parts.append("null (unset)")
    return " | ".join(parts) or "any"


def _type_one(schema: _Schema, node: dict[str, Any]) -> str:
    node = schema.deref(node)
    kind = node.get("type")
    if "const" in node or "enum" in node:  # the values are listed as allowed
        return _kind_name(kind or "string")
    if kind == "array":
        items = node.get("items")
        return f"list of {_type_of(schema, items)}" if isinstance(items, dict) else "list"
    if kind == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if node.get("properties"):
            return f"object ({', '.join(node['properties'])})"
        if isinstance(extra, dict):
            return f"mapping of string to {_type_of(schema, extra)}"
        return "mapping"
    text = _kind_name(kind)
    bounds = []
    if "minimum" in node:
        bounds.append(f"≥ {node['minimum']:g}")
    if "exclusiveMinimum" in node:
        bounds.append(f"> {node['exclusiveMinimum']:g}")
    if "maximum" in node:
        bounds.append(f"≤ {node['maximum']:g}")
    if "exclusiveMaximum" in node:
        bounds.append(f"< {node['exclusiveMaximum']:g}")
    if "minLength" in node and node["minLength"] > 0:
        bounds.append(f"at least {node['minLength']} characters")
    if "maxLength" in node:
        bounds.append(f"at most {node['maxLength']} characters")
    if "pattern" in node:
        bounds.append(f"matching {node['pattern']}")
    return f"{text}, {', '.join(bounds)}" if bounds else text


def _kind_name(kind: Any) -> str:
    return {"number": "number", "integer": "integer", "string": "string", "boolean": "boolean",
            "null": "null"}.get(str(kind), str(kind or "any"))


def _allowed(schema: _Schema, *nodes: dict[str, Any]) -> tuple[Any, ...]:
    values: list[Any] = []
    for branch, _ in [b for node in nodes for b in schema.branches(node)]:
        items = branch.get("items") if branch.get("type") == "array" else None
        source = schema.deref(items) if isinstance(items, dict) else branch
        for sub, _ in schema.branches(source) if isinstance(items, dict) else [(source, ())]:
            for value in [*sub.get("enum", ()), *([sub["const"]] if "const" in sub else [])]:
                if value not in values:
                    values.append(value)
    return tuple(values)


def _only_on(matches: list[_Match]) -> str:
    seen: dict[str, tuple[list[str], tuple[str, ...]]] = {}
    for m in matches:
        for tag, value, every in m.conditions:
            values, _ = seen.setdefault(tag, ([], every))
            if value not in values:
                values.append(value)
    return "; ".join(f"{tag} {' or '.join(values)}" for tag, (values, every) in seen.items() if set(values) != set(every))


def _normalise(path: str) -> tuple[str, list[str], str]:
    """(`spec` | `stack` | `any`, segments, note) for what the user typed."""
    text = path.strip().strip(".")
    note = ""
    if text.startswith("config."):
        text = text.removeprefix("config.")
    if text in REGION_KEYS:
        return "stack", ["region"], f"written as {' or '.join(REGION_KEYS)} (the provider's own key)"
    if text.startswith(f"{NAMESPACE}:"):
        return "stack", [s for s in text.removeprefix(f"{NAMESPACE}:").split(".") if s], note
    segments = [s for s in text.split(".") if s]
    if len(segments) > 2 and segments[0] == "environments":
        env = segments[1]
        return "spec", segments[2:], f"an override for environment {env!r}, deep-merged over the base spec"
    return "any", segments, note


def _resolve(schema: _Schema, segments: list[str]) -> list[_Match]:
    found = _walk(schema, segments)
    # mapping keys may hold dots (registry hosts such as ghcr.io under modelfleet:pull_through): join neighbours
    for i in range(len(segments) - 1):
        for j in range(i + 2, len(segments) + 1):
            if found:
                return found
            found = _walk(schema, [*segments[:i], ".".join(segments[i:j]), *segments[j:]])
    return found


def _walk(schema: _Schema, segments: list[str]) -> list[_Match]:
    matches = [_Match(schema.root, True)]
    for segment in segments:
        matches = [c for m in matches for c in schema.child(m, segment)]
        if not matches:
            return []
    return matches


def _doc(schema: _Schema, matches: list[_Match], path: str, where: str, note: str) -> FieldDoc:
    node = matches[0].node
    descriptions = list(dict.fromkeys(schema.deref(m.node).get("description", "") for m in matches if schema.deref(m.node).get("description")))
    examples: list[Any] = []
    for m in matches:
        for example in schema.deref(m.node).get("examples", ()):
            if example not in examples:
                examples.append(example)
    fields: dict[str, str] = {}
    for m in matches:
        for name, sub in schema.children(m.node).items():
            fields.setdefault(name, schema.deref(sub).get("description", ""))
    default = schema.deref(node).get("default", _NO_DEFAULT)
    if fields and isinstance(default, dict):
        default = _NO_DEFAULT  # an object's default is its fields' defaults, listed with them
    nodes = [m.node for m in matches]
    return FieldDoc(path=path, where=where, description=" / ".join(descriptions), type=_type_of(schema, *nodes),
                    allowed=_allowed(schema, *nodes), default=default, required=all(m.required for m in matches),
                    examples=tuple(examples), only_on=_only_on(matches), fields=tuple(fields.items()), note=note)


def explain(path: str) -> FieldDoc:
    """The documentation of one spec field or stack setting (SpecError with close matches if unknown)."""
    kind, segments, note = _normalise(path)
    if not segments:
        raise _unknown(path)
    if kind in ("spec", "any"):
        matches = _resolve(_spec(), segments)
        if matches:
            return _doc(_spec(), matches, ".".join(segments), SPEC_FILE, note)
    if kind in ("stack", "any"):
        matches = _resolve(_stack(), segments)
        if matches:
            canonical = f"{NAMESPACE}:{'.'.join(segments)}" if segments != ["region"] else " or ".join(REGION_KEYS)
            return _doc(_stack(), matches, canonical, STACK_FILE, note)
    raise _unknown(path)


def spec_description(path: str) -> str:
    """The schema description of a spec field (dotted path)."""
    return explain(path).description


def top_level() -> tuple[FieldDoc, FieldDoc]:
    """The spec's fields and the stack's settings (`modelfleet explain` with no FIELD)."""
    spec = _doc(_spec(), [_Match(_spec().root, True)], "model spec", SPEC_FILE, "")
    stack = _doc(_stack(), [_Match(_stack().root, True)], "stack settings", STACK_FILE, "")
    spec = FieldDoc(path=spec.path, where=spec.where, description="One model and how to serve it.", type="object",
                    fields=spec.fields)
    stack = FieldDoc(path=stack.path, where=stack.where, description="One environment on one platform (Pulumi config under "
                     f"the {NAMESPACE} namespace).", type="object",
                     fields=tuple((f"{NAMESPACE}:{n}" if n != "region" else " / ".join(REGION_KEYS), d) for n, d in stack.fields))
    return spec, stack


@cache
def known_paths() -> tuple[str, ...]:
    found: list[str] = []

    def walk(schema: _Schema, node: dict[str, Any], prefix: str, depth: int) -> None:
        if depth > 6:
            return
        for name, sub in schema.children(node).items():
            path = f"{prefix}{name}"
            found.append(path)
            walk(schema, sub, path + ".", depth + 1)
            for branch, _ in schema.branches(sub):
                extra = branch.get("additionalProperties")
                if isinstance(extra, dict) and schema.children(extra):
                    walk(schema, extra, f"{path}.{MAP_KEY}.", depth + 2)

    walk(_spec(), _spec().root, "", 0)
    walk(_stack(), _stack().root, f"{NAMESPACE}:", 0)
    return tuple(dict.fromkeys(found))


def _unknown(path: str) -> SpecError:
    paths = known_paths()
    query = path.strip()
    last = query.rpartition(".")[2].rpartition(":")[2]
    # the same field name elsewhere first (`argo_rollouts` → modelfleet:addons.argo_rollouts), then similar paths
    close = [p for p in paths if p.rpartition(".")[2].rpartition(":")[2] == last]
    close += [c for c in difflib.get_close_matches(query, paths, n=5, cutoff=0.6) if c not in close]
    if not close:  # a known parent with a mistyped last segment
        parent = query.rpartition(".")[0]
        siblings = [p.rpartition(".")[2] for p in paths if p.rpartition(".")[0] == parent]
        close = [f"{parent}.{c}" if parent else c for c in difflib.get_close_matches(last, siblings, n=5, cutoff=0.5)]
    close = close[:5]
    spec_top = [p for p in paths if "." not in p and ":" not in p]
    allowed = ", ".join(close) if close else f"a spec field ({', '.join(spec_top)}, ...) or a stack setting ({NAMESPACE}:<setting>)"
    fix = (f"did you mean {' or '.join(repr(c) for c in close[:3])}?" if close
           else "run `modelfleet explain` to list the fields, and join nested ones with dots, e.g. autoscaling.metric")
    return SpecError([Problem("modelfleet explain", "no such field in the model spec or the stack settings",
                              field="FIELD", value=query, allowed=allowed, fix=fix)])
