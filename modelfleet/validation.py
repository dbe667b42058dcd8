"""Turn pydantic validation errors into located `Problem`s.

Every problem names the file, line, field path, the bad value, what is allowed and how
to fix it. Unknown keys get the nearest known key as a suggestion; enum-like fields list
their choices. Shared by model specs and stack files.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Hashable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from modelfleet.errors import Problem
from modelfleet.yamlmarks import Marks


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional / Union / Annotated / list / dict annotations."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return [t for a in typing.get_args(annotation) for t in _unwrap(a)]
    if origin in (list, tuple, dict):
        args = typing.get_args(annotation)
        return _unwrap(args[-1]) if args else []
    return [annotation]


def _field(model: type[BaseModel], key: Hashable) -> Any:
    """`model`'s field for `key` as written in the file: its name or its alias
    (`modelfleet:pull_through` for `pull_through`)."""
    return model.model_fields.get(str(key)) or next(
        (f for f in model.model_fields.values() if key in (f.alias, f.validation_alias)), None)


def _tagged(model: type[BaseModel], tag: Hashable) -> bool:
    """Whether `tag` is the discriminator value of `model` (a Literal field, e.g. platform: sagemaker)."""
    return any(typing.get_origin(f.annotation) is typing.Literal and tag in typing.get_args(f.annotation)
               for f in model.model_fields.values())


def model_at(root: type[BaseModel], loc: Sequence[Hashable]) -> type[BaseModel] | None:
    """The pydantic model class that owns the last key of `loc`, for listing allowed keys."""
    candidates: list[type[BaseModel]] = [root]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        owners = [c for c in candidates if _field(c, part) is not None]
        if not owners:
            # a discriminated union's tag picks its member; dict keys stay on the current candidates
            candidates = [c for c in candidates if _tagged(c, part)] or candidates
            continue
        field = _field(owners[0], part)
        candidates = [t for t in _unwrap(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
        if not candidates:
            return None
    return candidates[0]


def _allowed_for(error: ErrorDetails, root: type[BaseModel]) -> tuple[str, str]:
    """(allowed, fix) text for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-union")))]
    if kind == "extra_forbidden":
        owner = model_at(root, loc)
        known = sorted(f.alias or name for name, f in owner.model_fields.items()) if owner else []
        near = difflib.get_close_matches(str(loc[-1]), known, n=1)
        fix = f"did you mean {near[0]!r}? rename the key" if near else "remove the key"
        return ", ".join(known), fix
    if kind == "finite_number":
        return "a finite number (not .nan, .inf or -.inf)", "write the number itself"
    if kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern', '')}", "change the value to match the pattern"
    if kind == "missing":
        return "", f"add the required field {'.'.join(map(str, loc))}"
    if kind in ("literal_error", "enum"):
        return str(ctx.get("expected", "")), "use one of the allowed values"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bounds = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}
        limit = next(iter(ctx.values()), "")
        return f"a number {bounds[kind]} {limit}", "change the value to fit the range"
    if kind.startswith(("int_", "float_", "bool_", "string_", "dict_", "list_", "model_")):
        return kind.split("_")[0] if kind != "model_type" else "a mapping", "use a value of the allowed type"
    if kind == "value_error":
        return str(ctx.get("allowed", "")), str(ctx.get("fix", ""))
    return "", ""


def problems_from(
    exc: ValidationError,
    root: type[BaseModel],
    file: str,
    marks: Marks,
    *,
    prefix: tuple[Hashable, ...] = (),
    path_map: typing.Callable[[tuple[Hashable, ...]], tuple[Hashable, ...]] | None = None,
) -> list[Problem]:
    """One `Problem` per pydantic error, located through `marks`.

    `prefix` is prepended to each error's loc for display; `path_map` maps a loc to the
    path in the YAML document when they differ (environment overrides)."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-union"))))
        allowed, fix = _allowed_for(error, root)
        message = error["msg"]
        tag = _union_tag(error)
        if tag is not None:  # pydantic's "Input tag 'x' found using 'kind'…": say it in the file's words, at the key
            key, message, allowed, fix = tag
            loc = (*loc, key)
        doc_path = path_map(loc) if path_map else (*prefix, *loc)
        line, column = marks.locate(doc_path)
        if error["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
            message = "must be a mapping"  # pydantic would name the Python class
        elif re.match(r"^(Input|String|Value|List|Dictionary|Tuple|Set|Number|Data) should ", message):
            message = "must " + message.split(" should ", 1)[1]  # pydantic's "String should match …" in the file's words
        if error["type"] == "string_type" and isinstance(error.get("input"), bool):
            # YAML 1.1 (PyYAML) reads unquoted yes/no/on/off/true/false as booleans: `name: no` is False
            message = "must be text, but YAML read the unquoted value as a boolean (yes, no, on, off, true and false are)"
            fix = "put the value in quotes, e.g. 'no'"
        value = None if error["type"] == "missing" else error.get("input")
        if tag is not None:
            value = (error.get("ctx") or {}).get("tag")
        if isinstance(value, dict) and error["type"] not in ("model_type", "dict_type"):
            value = None
        if (error.get("ctx") or {}).get("redact"):
            value = "<redacted: looks like a credential>"  # never echo a secret into logs or CI annotations
        problems.append(Problem(file, message, line=line, column=column, field=".".join(map(str, doc_path)),
                                value=value, allowed=allowed, fix=fix))
    return problems


def _union_tag(error: ErrorDetails) -> tuple[str, str, str, str] | None:
    """(key, message, allowed, fix) for a discriminated union whose tag is unknown or missing."""
    if error["type"] not in ("union_tag_invalid", "union_tag_not_found"):
        return None
    ctx = error.get("ctx") or {}
    key = str(ctx.get("discriminator", "kind")).strip("'\"")
    if error["type"] == "union_tag_not_found":
        return key, f"missing {key}", "", f"add {key}"
    expected = str(ctx.get("expected_tags", "")).replace("'", "")
    near = difflib.get_close_matches(str(ctx.get("tag", "")).lower(), [t.strip() for t in expected.split(",")], n=1)
    return key, f"unknown {key}", expected, f"did you mean {near[0]!r}?" if near else f"set {key} to one of the allowed values"


def custom_error(message: str, *, allowed: str = "", fix: str = "", redact: bool = False) -> PydanticCustomError:
    """Raise inside validators so the message, allowed values and fix reach the user intact;
    `redact` keeps the offending value (a credential) out of the reported problem."""
    ctx: dict[str, Any] = {"allowed": allowed, "fix": fix}
    if redact:
        ctx["redact"] = True
    return PydanticCustomError("value_error", message.replace("{", "(").replace("}", ")"), ctx)


def raise_problem(problem: tuple[str, str, str] | None, where: str = "", *, redact: bool = False) -> None:
    """Raise a (message, allowed, fix) problem from a checker as a located validation error; None passes."""
    if problem is not None:
        message, allowed, fix = problem
        raise custom_error(f"{where}: {message}" if where else message, allowed=allowed, fix=fix, redact=redact)
