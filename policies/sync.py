"""Keep the generated parts of the policy pack in step with `rules.RULES`.

* README.md: the rule table between the `rules:start` / `rules:end` markers.
* config/<env>.json: one entry per rule id with `environment` set to the file's environment
  and every parameter present; values already in the file are kept (they are yours to edit),
  missing ones are seeded from `SEEDS` or the rule defaults.

`python -m policies.sync` rewrites both; `python -m policies.sync --check` exits 1 when
either is stale (the test suite runs the same comparison).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .rules import RULES

HERE = Path(__file__).resolve().parent
ENVIRONMENTS = ("dev", "staging", "prod")
START, END = "<!-- rules:start -->", "<!-- rules:end -->"
# First-time values per environment; afterwards the files are the source of truth.
SEEDS: dict[str, dict[str, dict[str, Any]]] = {
    "dev": {
        "MF-GPU-001": {"allowed_accelerators": ["T4", "A10G", "A10", "L4", "L40S"]},
        "MF-GPU-003": {"max_gpus_per_model": 8},
        "MF-GPU-004": {"max_replicas": 4},
        "MF-TAG-002": {"enforcementLevel": "advisory"},
    },
    "staging": {
        "MF-GPU-003": {"max_gpus_per_model": 32},
        "MF-GPU-004": {"max_replicas": 8},
    },
    "prod": {},
}


def readme_table() -> str:
    rows = ["| id | level | area | what | why | scanner ids |", "|---|---|---|---|---|---|"]
    for rule in RULES:
        refs = ", ".join(f"`{r}`" for r in rule.refs) or "—"
        rows.append(f"| {rule.id} | {rule.level} | {rule.area} | {rule.description} | {rule.why} | {refs} |")
    return "\n".join(rows)


def synced_readme(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{readme_table()}\n{END}{tail}"


def synced_config(env: str, existing: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {k: v for k, v in existing.items() if k == "all"}
    for rule in RULES:
        entry = existing.get(rule.id)
        entry = dict(entry) if isinstance(entry, dict) else {"enforcementLevel": entry} if entry else {}
        seeded = {"enforcementLevel": rule.level, **rule.defaults(), **SEEDS.get(env, {}).get(rule.id, {})}
        merged = {**seeded, **entry, "environment": env}
        result[rule.id] = {"enforcementLevel": merged.pop("enforcementLevel"), **dict(sorted(merged.items()))}
    return result


def render_config(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2) + "\n"


def stale_files(write: bool) -> list[Path]:
    stale = []
    readme = HERE / "README.md"
    current = readme.read_text() if readme.exists() else f"# Policies\n\n{START}\n{END}\n"
    outputs = {readme: (current, synced_readme(current))}
    for env in ENVIRONMENTS:
        path = HERE / "config" / f"{env}.json"
        text = path.read_text() if path.exists() else "{}"
        outputs[path] = (text, render_config(synced_config(env, json.loads(text))))
    for path, (before, after) in outputs.items():
        if before != after:
            stale.append(path)
            if write:
                path.write_text(after)
    return stale


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = stale_files(write=not check)
    for path in stale:
        print(f"{'stale' if check else 'updated'}: {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
