"""The EKS version calendar: an unknown version or one past the end of extended support is a
located stack error (exit 2); extended support or the last 90 days of standard support is a
warning; the bundled stacks run supported versions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelfleet import kubernetes_versions as kv
from modelfleet.cli import app
from modelfleet.environment import KubernetesStack, load_stack_file, parse_stack, stack_paths
from modelfleet.errors import SpecError
from modelfleet.placement import place_stack
from modelfleet.spec import load_specs, spec_paths

ROOT = Path(__file__).resolve().parents[1]


def stack_text(version: str, create: bool = True) -> str:
    return ("config:\n  aws:region: us-east-1\n  modelfleet:environment: dev\n  modelfleet:platform: kubernetes\n"
            f"  modelfleet:cluster:\n    kind: eks\n    name: ml\n    create: {str(create).lower()}\n"
            f"    version: \"{version}\"\n  modelfleet:registry: {{kind: ecr}}\n")


@pytest.fixture()
def on(monkeypatch: pytest.MonkeyPatch):
    def pin(day: date) -> None:
        monkeypatch.setattr(kv, "today", lambda: day)
    return pin


def test_calendar_dates_follow_the_eks_rule() -> None:
    """14 months of standard support after the EKS release, 12 more of extended support."""
    for version in kv.known("eks"):
        s = kv.support("eks", version)
        assert s is not None
        months = (s.end_of_standard.year - s.release.year) * 12 + s.end_of_standard.month - s.release.month
        assert months == 14, version
        assert (s.end_of_extended.year, s.end_of_extended.month) == (s.end_of_standard.year + 1, s.end_of_standard.month)


@pytest.mark.parametrize(("day", "level"), [
    (date(2026, 11, 25), "warning"),   # last day of extended support
    (date(2026, 11, 26), "error"),     # end of extended support
    (date(2025, 8, 27), None),         # 91 days before the end of standard support
    (date(2025, 8, 28), "warning"),    # 90 days before
    (date(2025, 12, 1), "warning"),    # in extended support
])
def test_levels_for_1_31(day: date, level: str | None) -> None:
    s = kv.support("eks", "1.31")
    assert s is not None and s.level(day) == level


def test_past_end_is_a_located_error(on) -> None:
    on(date(2026, 12, 1))
    with pytest.raises(SpecError) as e:
        parse_stack(stack_text("1.31"), "stacks/Pulumi.old.yaml")
    [problem] = e.value.problems
    assert problem.line == 9 and problem.field == "config.modelfleet:cluster.version"
    assert "2026-11-26" in problem.message and "1.31" not in problem.allowed.split(", ")
    assert "1.35" in problem.fix


def test_unknown_version_lists_the_known_ones(on) -> None:
    on(date(2026, 12, 1))
    with pytest.raises(SpecError) as e:
        parse_stack(stack_text("1.40"), "stacks/Pulumi.new.yaml")
    [problem] = e.value.problems
    assert problem.field == "config.modelfleet:cluster.version" and "not in the EKS support calendar" in problem.message
    assert problem.allowed.split(", ")[0] == "1.35"


def test_extended_support_is_a_warning_at_placement(on) -> None:
    on(date(2026, 12, 1))
    stack = parse_stack(stack_text("1.32"), "stacks/Pulumi.ext.yaml")
    sp = place_stack(stack, [])
    [warning] = [d for d in sp.diagnostics if d.field == "modelfleet:cluster.version"]
    assert warning.level == "warning" and "extended support" in warning.message and "2027-03-23" in warning.message


def test_standard_support_far_from_its_end_says_nothing(on) -> None:
    on(date(2026, 12, 1))
    sp = place_stack(parse_stack(stack_text("1.35"), "stacks/Pulumi.ok.yaml"), [])
    assert not [d for d in sp.diagnostics if d.field == "modelfleet:cluster.version"]


def test_validate_exits_2_on_an_expired_version(tmp_path: Path, cli: CliRunner, on) -> None:
    on(date(2026, 12, 1))
    (tmp_path / "stacks").mkdir()
    (tmp_path / "model_specs").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: modelfleet\nruntime: python\n")
    (tmp_path / "stacks" / "Pulumi.old.yaml").write_text(stack_text("1.31"))
    result = cli.invoke(app, ["validate", "--project-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "Pulumi.old.yaml:9" in result.output and "Traceback" not in result.output


def test_bundled_eks_stacks_run_supported_versions() -> None:
    specs = load_specs(spec_paths(ROOT / "model_specs"))
    for path in stack_paths(ROOT / "stacks"):
        stack = load_stack_file(path)  # raises on an expired or unknown version
        if isinstance(stack, KubernetesStack) and stack.cluster.kind == "eks" and getattr(stack.cluster, "version", None):
            found = kv.support("eks", stack.cluster.version)  # type: ignore[union-attr]
            assert found is not None and found.level(kv.today()) != "error", path.name
            assert place_stack(stack, specs).errors == [], path.name
