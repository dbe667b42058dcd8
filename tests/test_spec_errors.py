"""Every bad input gets exit 2 and a message naming file, line, field, bad value, what is allowed and how to fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelfleet.cli import app

BASE = """\
name: chat-model
version: 1.0.0
owner: nlp-team
model:
  uri: s3://bucket/chat/1.0.0/
  framework: huggingface
  size_gib: 16
serving:
  runtime: vllm
  port: 8000
resources:
  accelerator: L4:1
  cpu: 4
  memory_gib: 32
autoscaling:
  min_replicas: 1
  max_replicas: 4
  metric: concurrency
  target: 8
rollout:
  strategy: canary
  canary_percent: 10
environments:
  dev: {autoscaling: {min_replicas: 0, max_replicas: 1}}
"""

STACK = """\
config:
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:serving: deployment
  modelfleet:cluster:
    kind: onprem
    gpu_nodes: [{name: n1, accelerator: L4, count: 4}]
  modelfleet:registry: {kind: external, url: harbor.local/ml}
"""

# (case id, edit of BASE, expected line, field fragment, text that must appear)
CASES = [
    ("unknown key", ("  min_replicas: 1", "  min_replica: 1"), 16, "autoscaling.min_replica", "did you mean 'min_replicas'"),
    ("wrong type", ("  cpu: 4", "  cpu: four"), 13, "resources.cpu", "four"),
    ("min > max", ("  min_replicas: 1", "  min_replicas: 9"), 15, "autoscaling", "min_replicas (9) is greater than max_replicas (4)"),
    ("unknown accelerator", ("  accelerator: L4:1", "  accelerator: A10X:1"), 12, "resources.accelerator", "nearest"),
    ("accelerator count 0", ("  accelerator: L4:1", "  accelerator: L4:0"), 12, "resources.accelerator", "1"),
    ("accelerator count 17", ("  accelerator: L4:1", "  accelerator: L4:17"), 12, "resources.accelerator", "16"),
    ("uppercase name", ("name: chat-model", "name: Chat-Model"), 1, "name", "'Chat-Model'"),
    ("underscore name", ("name: chat-model", "name: chat_model"), 1, "name", "'chat-model'"),
    ("long name", ("name: chat-model", "name: " + "a" * 41), 1, "name", "at most 40"),
    ("missing owner", ("owner: nlp-team\n", ""), 1, "owner", "add the required field owner"),
    ("custom without image", ("  runtime: vllm", "  runtime: custom"), 8, "serving", "needs serving.image"),
    ("negative target", ("  target: 8", "  target: -3"), 19, "autoscaling.target", "> 0"),
    ("port out of range", ("  port: 8000", "  port: 70000"), 10, "serving.port", "65535"),
    ("canary percent 100", ("  canary_percent: 10", "  canary_percent: 100"), 22, "rollout.canary_percent", "99"),
    ("canary percent 0", ("  canary_percent: 10", "  canary_percent: 0"), 22, "rollout.canary_percent", "1"),
    ("unknown metric", ("  metric: concurrency", "  metric: latency"), 18, "autoscaling.metric", "concurrency"),
    ("unsupported URI", ("  uri: s3://bucket/chat/1.0.0/", "  uri: ftp://host/m"), 5, "model.uri", "s3://"),
    ("typo in override", ("dev: {autoscaling: {min_replicas: 0", "dev: {autoscaling: {min_replicaz: 0"), 24,
     "environments.dev.autoscaling.min_replicaz", "did you mean 'min_replicas'"),
]


def _write(tmp_path: Path, spec_text: str, stack_text: str = STACK) -> Path:
    (tmp_path / "model_specs").mkdir(exist_ok=True)
    (tmp_path / "stacks").mkdir(exist_ok=True)
    (tmp_path / "model_specs" / "chat.yaml").write_text(spec_text)
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(stack_text)
    return tmp_path


def _validate(cli: CliRunner, project: Path) -> tuple[int, str]:
    result = cli.invoke(app, ["validate", "--project-dir", str(project)])
    return result.exit_code, result.output


@pytest.mark.parametrize(("case", "edit", "line", "field", "text"), CASES, ids=[c[0] for c in CASES])
def test_bad_spec_is_located(tmp_path: Path, cli: CliRunner, case: str, edit: tuple[str, str], line: int, field: str, text: str) -> None:
    assert edit[0] in BASE, case
    code, out = _validate(cli, _write(tmp_path, BASE.replace(edit[0], edit[1], 1)))
    flat = " ".join(out.split())
    assert code == 2, out
    assert f"chat.yaml:{line}" in flat, f"{case}: expected line {line} in: {flat}"
    assert field in flat, f"{case}: expected field {field} in: {flat}"
    assert text in flat, f"{case}: expected {text!r} in: {flat}"
    assert "To fix:" in flat or "Allowed:" in flat, flat
    assert "Traceback" not in out


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path, cli: CliRunner) -> None:
    code, out = _validate(cli, _write(tmp_path, BASE.replace("  port: 8000", "  port: [8000")))
    assert code == 2
    assert re.search(r"chat\.yaml:\d+:\d+", out), out


def test_empty_file(tmp_path: Path, cli: CliRunner) -> None:
    code, out = _validate(cli, _write(tmp_path, ""))
    assert code == 2 and "empty" in out


def test_same_model_name_in_two_files(tmp_path: Path, cli: CliRunner) -> None:
    project = _write(tmp_path, BASE)
    (project / "model_specs" / "copy.yaml").write_text(BASE)
    code, out = _validate(cli, project)
    assert code == 2
    assert "already used by" in " ".join(out.split())


def test_kubernetes_stack_without_cluster(tmp_path: Path, cli: CliRunner) -> None:
    stack = "\n".join(line for line in STACK.splitlines() if "cluster" not in line and "kind: onprem" not in line
                      and "gpu_nodes" not in line) + "\n"
    code, out = _validate(cli, _write(tmp_path, BASE, stack))
    flat = " ".join(out.split())
    assert code == 2
    assert "Pulumi.dev.yaml" in flat and "modelfleet:cluster" in flat, flat


def test_onprem_stack_where_no_node_fits(tmp_path: Path, cli: CliRunner) -> None:
    code, out = _validate(cli, _write(tmp_path, BASE.replace("L4:1", "H100:2")))
    flat = " ".join(out.split())
    assert code == 2
    assert "chat-model" in flat and "H100:2" in flat and "n1 (4×L4)" in flat, flat


def test_invalid_input_registers_nothing(tmp_path: Path) -> None:
    """A stack that cannot place a model fails before any resource is registered."""
    from modelfleet.errors import PlacementError
    from modelfleet.preview import _run, preview_stack

    _write(tmp_path, BASE.replace("L4:1", "H100:2"))
    calls = []
    import modelfleet.preview as preview_module

    original = preview_module._run
    preview_module._run = lambda *a: calls.append(a) or original(*a)  # type: ignore[assignment]
    try:
        with pytest.raises(PlacementError):
            preview_stack(tmp_path, "dev")
    finally:
        preview_module._run = original  # type: ignore[assignment]
    assert calls == [] and _run is original


def test_stack_key_without_namespace_is_the_projects(tmp_path: Path, cli: CliRunner) -> None:
    """Pulumi reads `serving:` as `modelfleet:serving`; so does modelfleet — and a repeat is an error."""
    stack = STACK.replace("  modelfleet:serving: deployment\n", "  serving: kserve\n")
    project = _write(tmp_path, BASE, stack)
    from modelfleet.environment import load_stack_file

    assert load_stack_file(project / "stacks" / "Pulumi.dev.yaml").serving == "kserve"
    (project / "stacks" / "Pulumi.dev.yaml").write_text(stack + "  modelfleet:serving: deployment\n")
    code, out = _validate(cli, project)
    assert code == 2 and "repeats 'serving'" in out
