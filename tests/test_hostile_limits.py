"""Inputs built to exhaust memory or time are refused within bounds, in a fresh interpreter
under an address-space limit (a regression here would be killed, not swap the machine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile import SPEC, SPEC_FILE, STACK_FILE, Case, command, run_limited

# billion laughs: nine levels of nine aliases expand to ~4×10⁸ nodes
BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n" for i in range(9))
MERGE_BOMB = "base0: &m0 {a: 1, b: 2}\n" + "".join(
    f"base{i}: &m{i} {{<<: [*m{i - 1}], k{i}: [{', '.join([f'*m{i - 1}'] * 9)}]}}\n" for i in range(1, 9))

CASES = [
    Case("billion laughs in a spec", SPEC_FILE, "aliases", files={SPEC_FILE: SPEC + BOMB}),
    Case("billion laughs in a stack", STACK_FILE, "aliases", files={STACK_FILE: "config:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines())}),
    Case("merge-key bomb", SPEC_FILE, "aliases", files={SPEC_FILE: SPEC + MERGE_BOMB}),
    Case("50 MB spec", SPEC_FILE, "limit", files={SPEC_FILE: "description: " + "x" * 50_000_000 + "\n"}),
]
MEMORY_MIB = 1536
TIMEOUT_S = 90


@pytest.mark.parametrize("name", ["validate", "preview", "cost"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bombs_are_refused_within_memory_and_time(case: Case, name: str, tmp_path: Path) -> None:
    project = case.build(tmp_path)
    result = run_limited(command(name, project), memory_mib=MEMORY_MIB, timeout_s=TIMEOUT_S)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, f"{case.id} / {name}: exit {result.returncode}: {out[-2000:]}"
    assert "Traceback" not in out and "MemoryError" not in out, out[-2000:]
    assert case.where in out and case.says in out, out[-2000:]
