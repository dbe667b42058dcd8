"""`modelfleet promote` / `abort`: the rollout state in the stack file, edited in place.

Golden: the edit of a stack file with comments, flow and block styles and quotes is byte for
byte the file plus the one entry (tests/golden/rollout/; MODELFLEET_UPDATE_GOLDEN=1 refreshes
after review). Every bundled stack survives a promote with only `modelfleet:stable` changed.
Bad input exits 2 with a located message and leaves the file untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.environment import parse_stack
from modelfleet.rollout_state import STABLE_KEY, edit_stable

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "rollout" / "Pulumi.edge.yaml"
GOLDEN = ROOT / "tests" / "golden" / "rollout"
runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch Git repository: bundled specs, bundled stacks and the edge stack, committed."""
    shutil.copytree(ROOT / "model_specs", tmp_path / "model_specs")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    shutil.copy(FIXTURE, tmp_path / "stacks" / FIXTURE.name)
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    return tmp_path


def run(project: Path, *args: str):
    return runner.invoke(app, [*args, "--project-dir", str(project)])


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("MODELFLEET_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed: review, then MODELFLEET_UPDATE_GOLDEN=1"


def without_stable(text: str) -> str:
    """The file minus the lines of the modelfleet:stable block (key line and its indented entries)."""
    out, inside = [], False
    for line in text.splitlines(True):
        if line.strip().startswith(f"{STABLE_KEY}:"):
            inside = not line.rstrip().endswith("}")  # a flow mapping is one line
            continue
        if inside and line.startswith("    "):
            continue
        inside = False
        out.append(line)
    return "".join(out)


def test_promote_then_abort_edit_only_the_one_entry(project):
    stack = project / "stacks" / FIXTURE.name
    before = stack.read_text()
    result = run(project, "promote", "llama3-8b-chat", "--stack", "edge")
    assert result.exit_code == 0, result.output
    promoted = stack.read_text()
    check_golden("edge.promoted.yaml", promoted)
    assert "-    llama3-8b-chat: 1.3.2          # canary in progress to the spec's 1.4.0" in result.output, "the diff is printed"
    assert "+    llama3-8b-chat: 1.4.0          # canary in progress to the spec's 1.4.0" in result.output
    changed = [(a, b) for a, b in zip(before.splitlines(), promoted.splitlines(), strict=True) if a != b]
    assert changed == [("    llama3-8b-chat: 1.3.2          # canary in progress to the spec's 1.4.0",
                        "    llama3-8b-chat: 1.4.0          # canary in progress to the spec's 1.4.0")]
    assert parse_stack(promoted, str(stack)).stable["llama3-8b-chat"].version == "1.4.0"


def test_abort_records_the_aborted_version_next_to_the_stable_one(project):
    stack = project / "stacks" / FIXTURE.name
    result = run(project, "abort", "llama3-8b-chat", "--stack", "edge")
    assert result.exit_code == 0, result.output
    aborted = stack.read_text()
    check_golden("edge.aborted.yaml", aborted)
    entry = parse_stack(aborted, str(stack)).stable["llama3-8b-chat"]
    assert (entry.version, entry.aborted) == ("1.3.2", "1.4.0")
    assert without_stable(aborted) == without_stable(FIXTURE.read_text())


@pytest.mark.parametrize("stack", sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")))
def test_every_bundled_stack_gains_only_the_stable_entry(project, stack):
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    before = path.read_text()
    # azureml-prod serves only the model Azure ML can register (its s3:// specs are errors there)
    model, written = ("fraud-xgb", "5.1.0") if stack == "azureml-prod" else ("resnet50-vision", "'3.2'")
    result = run(project, "promote", model, "--stack", stack)
    assert result.exit_code == 0, result.output
    after = path.read_text()
    assert after.startswith(before), "existing lines are kept byte for byte; the new key is appended to config"
    assert after[len(before):] == f"  {STABLE_KEY}:\n    {model}: {written}\n", "3.2 stays a string (quoted)"


def test_dry_run_prints_the_diff_and_writes_nothing(project):
    stack = project / "stacks" / FIXTURE.name
    before = stack.read_text()
    result = run(project, "promote", "llama3-8b-chat", "--stack", "edge", "--dry-run")
    assert result.exit_code == 0 and "+    llama3-8b-chat: 1.4.0" in result.output
    assert stack.read_text() == before


BAD = [
    (("promote", "no-such-model", "--stack", "edge"), "no model named 'no-such-model'"),
    (("promote", "llama3-8b-chat", "--stack", "nowhere"), "no stack named 'nowhere'"),
    (("promote", "fraud-xgb", "--stack", "edge"), "does not serve fraud-xgb"),
    (("promote", "llama3-70b-instruct", "--stack", "edge"), "no rollout in progress"),
    (("abort", "llama3-70b-instruct", "--stack", "edge"), "no rollout in progress"),
    (("abort", "resnet50-vision", "--stack", "edge"), "first deploy"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_refusals_exit_2_and_write_nothing(project, args, message):
    stacks = {p: p.read_text() for p in (project / "stacks").iterdir()}
    result = run(project, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "To fix:" in result.output and "Traceback" not in result.output
    assert {p: p.read_text() for p in (project / "stacks").iterdir()} == stacks


def test_abort_twice_is_refused(project):
    assert run(project, "abort", "llama3-8b-chat", "--stack", "edge").exit_code == 0
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "abort"], cwd=project, check=True)
    again = run(project, "abort", "llama3-8b-chat", "--stack", "edge")
    assert again.exit_code == 2 and "already aborted" in again.output


def test_abort_of_a_rolling_model_is_refused(project):
    (project / "stacks" / "Pulumi.edge.yaml").write_text(FIXTURE.read_text().replace("2.0.1", "1.9.0"))
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "70b rollout"], cwd=project, check=True)
    result = run(project, "abort", "llama3-70b-instruct", "--stack", "edge")
    assert result.exit_code == 2 and "strategy rolling" in result.output and "git revert" in result.output


def test_dirty_stack_file_is_refused(project):
    stack = project / "stacks" / FIXTURE.name
    dirty = stack.read_text().replace("80000", "90000")
    stack.write_text(dirty)
    result = run(project, "promote", "llama3-8b-chat", "--stack", "edge")
    assert result.exit_code == 2 and "uncommitted changes" in result.output
    assert stack.read_text() == dirty


@pytest.mark.parametrize("entry", ["[1, 2]", "{version: 1.3.2, bogus: x}", "''", "{aborted: 1.4.0}", "'1.3 2'"])
def test_a_stable_entry_that_does_not_parse_is_located(project, entry):
    stack = project / "stacks" / FIXTURE.name
    broken = stack.read_text().replace("llama3-8b-chat: 1.3.2", f"llama3-8b-chat: {entry}")
    stack.write_text(broken)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "x"], cwd=project, check=True)
    result = run(project, "promote", "llama3-8b-chat", "--stack", "edge")
    assert result.exit_code == 2, result.output
    assert "Pulumi.edge.yaml:15" in result.output and "modelfleet:stable" in result.output, result.output
    assert stack.read_text() == broken


@settings(max_examples=40, deadline=None)
@given(version=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,20}", fullmatch=True))
def test_any_version_round_trips_as_text(version):
    after = edit_stable(FIXTURE.read_text(), "edge", "llama3-8b-chat", version)
    assert parse_stack(after, "stacks/Pulumi.edge.yaml").stable["llama3-8b-chat"].version == version
    assert without_stable(after) == without_stable(FIXTURE.read_text())
