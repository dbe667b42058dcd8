"""Which specs a stack serves: the `modelfleet:models` globs, with `!` exclusions.

Contract (pure; a stack file is read only to point at a glob's line):
- A glob is shell-style (`*`, `?`, `[abc]`, as Python's `fnmatch`), matched case-sensitively
  against each spec's `name:`; a glob written `!GLOB` excludes.
- Order does not matter (unlike .gitignore): a spec joins the stack when at least one
  include matches it and no exclusion does, so `["*", "!sdxl-*"]` and `["!sdxl-*", "*"]`
  both serve every spec except the sdxl ones.
- `glob_problem(globs)` → (message, allowed, fix) for a list that cannot mean what it says:
  an empty glob, a bare `!`, `!!…`, or exclusions without any include (which select nothing).
- `membership(globs, name)` says how a spec relates to a stack: the include it joins through
  (the first that matches) and the exclusion that keeps it out (the first that matches).
- `unmatched_glob_diagnostics(stack, names)` → a warning per glob that matches no spec (a typo
  never silently selects nothing), located at its line, naming close spec names or the specs there are.
- `joins(names, stacks)` → per spec, the stacks it joins (and through which glob) and the
  stacks whose exclusions keep it out: what `validate` shows.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol

from modelfleet.plan import Diagnostic

EXCLUDE = "!"
MODELS_KEY = "modelfleet:models"
_WILDCARDS = re.compile(r"[*?\[\]]")


class _Stack(Protocol):
    stack: str
    file: str
    models: tuple[str, ...]
    environment: str

    @property
    def production(self) -> bool: ...


@dataclass(frozen=True)
class Membership:
    via: str | None  # the first include glob matching the spec
    excluded_by: str | None  # the first `!` glob matching it

    @property
    def joins(self) -> bool:
        return self.via is not None and self.excluded_by is None


def membership(globs: Sequence[str], name: str) -> Membership:
    via = next((g for g in globs if not g.startswith(EXCLUDE) and fnmatchcase(name, g)), None)
    excluded = next((g for g in globs if g.startswith(EXCLUDE) and fnmatchcase(name, g[1:])), None)
    return Membership(via, excluded)


def selects(globs: Sequence[str], name: str) -> bool:
    return membership(globs, name).joins


def glob_problem(globs: Sequence[str]) -> tuple[str, str, str] | None:
    allowed = "globs over spec names ('*', 'llama3-*'); '!GLOB' excludes, wherever it is written"
    for glob in globs:
        pattern = glob[1:] if glob.startswith(EXCLUDE) else glob
        if not pattern.strip():
            return f"{glob!r} is not a glob: it selects nothing", allowed, "remove it, or write the spec names it should match"
        if pattern.startswith(EXCLUDE):
            return (f"{glob!r} starts with more than one '!': an exclusion is one '!' before a glob", allowed,
                    f"write {'!' + pattern.lstrip(EXCLUDE)!r}")
    if globs and all(g.startswith(EXCLUDE) for g in globs):
        return ("only exclusions: a spec joins a stack through an include glob, so this list selects nothing", allowed,
                f"add the specs to serve, e.g. {['*', *globs]!r}")
    return None


def _close(pattern: str, names: Iterable[str]) -> list[str]:
    """Spec names a mistyped glob probably meant (compared over the glob's literal part)."""
    literal = _WILDCARDS.sub("", pattern).lower()
    if not literal:
        return []
    scored = []
    for name in names:
        compared = name[:len(literal)] if pattern.endswith("*") else name
        ratio = difflib.SequenceMatcher(None, literal, compared.lower()).ratio()
        if ratio >= 0.7:
            scored.append((-ratio, name))
    return [name for _, name in sorted(scored)[:3]]


def _glob_line(stack: _Stack, index: int) -> int | None:
    from modelfleet.errors import SpecError
    from modelfleet.yamlmarks import load_yaml, read_source

    try:
        _, marks = load_yaml(read_source(Path(stack.file)), stack.file)
    except (SpecError, OSError):
        return None
    return marks.locate(("config", MODELS_KEY, index))[0]


def _listing(names: Collection[str], limit: int = 8) -> str:
    ordered = sorted(names)
    shown = ", ".join(ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "") if ordered else "none"


def unmatched_glob_diagnostics(stack: _Stack, names: Collection[str]) -> list[Diagnostic]:
    """A warning for each of the stack's globs that matches none of `names` (every spec of the project)."""
    found = []
    for index, glob in enumerate(stack.models):
        excluded = glob.startswith(EXCLUDE)
        pattern = glob[1:] if excluded else glob
        if any(fnmatchcase(name, pattern) for name in names):
            continue
        line = _glob_line(stack, index)
        where = f"{stack.file}:{line}" if line else stack.file
        near = _close(pattern, names)
        hint = f"did you mean {' or '.join(repr(n) for n in near)}? Otherwise " if near else ""
        effect = "keeps nothing out" if excluded else "selects nothing"
        found.append(Diagnostic("warning", "", MODELS_KEY,
                                f"{where}: {glob!r} matches no spec, so it {effect} (specs: {_listing(names)}). "
                                f"To fix: {hint}correct it (globs match each spec's name, not its file name) or remove it"))
    return found


def joins(names: Iterable[str], stacks: Sequence[_Stack]) -> list[dict[str, Any]]:
    """Per spec name (sorted): the stacks it joins, with the glob it joins through, and the
    stacks an exclusion keeps it out of."""
    out = []
    for name in sorted(set(names)):
        joined, kept_out = [], []
        for stack in sorted(stacks, key=lambda s: s.stack):
            m = membership(stack.models, name)
            if m.joins:
                joined.append({"stack": stack.stack, "via": m.via, "environment": stack.environment,
                               "production": stack.production})
            elif m.excluded_by is not None and m.via is not None:
                kept_out.append({"stack": stack.stack, "by": m.excluded_by})
        out.append({"spec": name, "stacks": joined, "excluded_from": kept_out})
    return out


def joins_line(entry: dict[str, Any]) -> str:
    """`fraud-xgb → eks-dev, lab-dev (via 'fraud-*'); eks-prod (via '*'); not sagemaker-prod (excluded by '!fraud-*')`."""
    groups: dict[str, list[str]] = {}
    for s in entry["stacks"]:
        groups.setdefault(s["via"], []).append(s["stack"])
    parts = [f"{', '.join(stacks)} (via {via!r})" for via, stacks in groups.items()] or ["no stack"]
    excluded: dict[str, list[str]] = {}
    for s in entry["excluded_from"]:
        excluded.setdefault(s["by"], []).append(s["stack"])
    parts += [f"not {', '.join(stacks)} (excluded by {by!r})" for by, stacks in excluded.items()]
    return f"{entry['spec']} → " + "; ".join(parts)
