"""Hostile and mistaken input is refused before anything is planned.

Each case runs through validate, preview, check, cost and render. `validate` must exit 2
naming the file (and line where one exists) and what is wrong; every other command must
exit 2 as well, and no command may print a traceback or echo a credential.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile import COMMANDS, SPEC, SPEC_FILE, STACK_FILE, Case, command
from typer.testing import CliRunner

from modelfleet.cli import app

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"

PARSING = [
    Case("latin-1 stack", STACK_FILE, "not UTF-8", line=2, files={STACK_FILE: "config:\n  modelfleet:environment: d\xe9v\n".encode("latin-1")}),
    Case("utf-16 spec", SPEC_FILE, "UTF-16", line=1, files={SPEC_FILE: SPEC.encode("utf-16")}),
    Case("binary spec", SPEC_FILE, "binary", files={SPEC_FILE: b"\x7fELF\x02\x01\x01\x00\x00\x00"}),
    Case("oversized spec", SPEC_FILE, "limit", line=1, files={SPEC_FILE: SPEC + "description: '" + "x" * (1024 * 1024) + "'\n"}),
    Case("alias bomb in a stack", STACK_FILE, "aliases", files={STACK_FILE: "config:\n  a: &a [x, x, x, x, x, x, x, x]\n"
         + "".join(f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 8)}]\n" for i in range(7))}),
    Case("recursive alias", SPEC_FILE, "contains it", files={SPEC_FILE: SPEC + "x: &x [1, *x]\n"}),
    Case("deep nesting", SPEC_FILE, "nest", files={SPEC_FILE: SPEC + "description: " + "[" * 200 + "]" * 200 + "\n"}),
    Case("stack as .yaml and .yml", "Pulumi.dev.yml", "also defined by Pulumi.dev.yaml", line=1,
         files={"stacks/Pulumi.dev.yml": "config:\n  modelfleet:environment: dev\n"}),
    Case("upper-case extension", "chat2.YAML", "not a spec file", files={"model_specs/chat2.YAML": SPEC.replace("chat-model", "chat-two")}),
    Case("spec in a sub-folder", "team/chat3.yaml", "sub-folder", line=1,
         files={"model_specs/team/chat3.yaml": SPEC.replace("chat-model", "chat-three")}),
    Case("stack not named like one", "pulumi.staging.yaml", "not a stack file", line=1,
         files={"stacks/pulumi.staging.yaml": "config: {}\n"}),
    Case("no specs", "model_specs", "no model specs", files={SPEC_FILE: None}),
    Case("no stacks", "stacks", "no stack files", files={STACK_FILE: None}),
]

CASES = PARSING


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_refuses_with_location(case: Case, tmp_path: Path, runner: CliRunner) -> None:
    project = case.build(tmp_path)
    result = runner.invoke(app, command("validate", project))
    out = _flat(result.output)
    assert result.exit_code == 2, f"{case.id}: exit {result.exit_code}: {out}"
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), repr(result.exception)
    located = f"{case.where}:{case.line}" if case.line else case.where
    assert located in out, f"{case.id}: expected {located!r} in: {out}"
    assert case.says in out, f"{case.id}: expected {case.says!r} in: {out}"
    assert "To fix:" in out, out
    assert SECRET not in out


@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "validate"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_command_refuses_without_traceback(case: Case, name: str, tmp_path: Path, runner: CliRunner) -> None:
    project = case.build(tmp_path)
    result = runner.invoke(app, command(name, project))
    assert result.exit_code == 2, f"{case.id} / {name}: exit {result.exit_code}: {result.output}"
    assert isinstance(result.exception, SystemExit), f"{case.id} / {name}: {result.exception!r}"
    assert "Traceback" not in result.output
    assert SECRET not in result.output
    assert not (project / "rendered").exists(), "render wrote files for invalid input"
