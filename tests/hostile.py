"""Shared helpers for the hostile-input suite: a small project to mutate, and runners.

A case edits the base project (replace text in a file, or write a file's bytes), then every
command runs on it. In-process runs go through Typer's CliRunner; the cases that try to
exhaust memory run in a subprocess under an address-space limit (`run_limited`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
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
  args: ["--max-model-len", "8192"]
  env: {HF_HUB_OFFLINE: "1"}
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
  strategy: rolling
environments:
  dev: {autoscaling: {min_replicas: 0, max_replicas: 1}}
"""

STACK = """\
config:
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:serving: deployment
  modelfleet:cluster:
    kind: onprem
    gpu_nodes: [{name: n1, accelerator: L4, count: 4}]
    gpu_hour_usd: {L4: 0.35}
  modelfleet:registry: {kind: external, url: harbor.local/ml}
  modelfleet:tags: {cost-center: ml-platform}
"""

SAGEMAKER = """\
config:
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: sagemaker
  modelfleet:registry: {kind: ecr}
  modelfleet:alerts: {sns_topic_arn: "arn:aws:sns:us-east-1:123456789012:ml-oncall"}
"""

SPEC_FILE = "model_specs/chat.yaml"
STACK_FILE = "stacks/Pulumi.dev.yaml"


@dataclass(frozen=True)
class Case:
    """One hostile input: `edits` replace text in a file (old, new); `files` write whole files
    (str or bytes; None deletes). `where` is the file whose name (and `line`, if given) the
    error must cite; `says` a fragment of the message."""

    id: str
    where: str
    says: str
    line: int | None = None
    edits: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    files: dict[str, str | bytes | None] = field(default_factory=dict)
    # commands that must refuse it (a clash between two stacks leaves a one-stack render alone)
    commands: tuple[str, ...] = ("validate", "preview", "check", "cost", "render")

    def build(self, project: Path) -> Path:
        write_project(project)
        for rel, pairs in self.edits.items():
            path = project / rel
            text = path.read_text(encoding="utf-8")
            for old, new in pairs:
                assert old in text, f"{self.id}: {old!r} not in {rel}"
                text = text.replace(old, new, 1)
            path.write_text(text, encoding="utf-8")
        for rel, content in self.files.items():
            path = project / rel
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return project


def spec_edit(*pairs: tuple[str, str]) -> dict[str, tuple[tuple[str, str], ...]]:
    return {SPEC_FILE: pairs}


def stack_edit(*pairs: tuple[str, str]) -> dict[str, tuple[tuple[str, str], ...]]:
    return {STACK_FILE: pairs}


def write_project(project: Path) -> Path:
    (project / "model_specs").mkdir(parents=True, exist_ok=True)
    (project / "stacks").mkdir(exist_ok=True)
    (project / "Pulumi.yaml").write_text("name: modelfleet\nruntime: python\nstackConfigDir: stacks\n")
    (project / SPEC_FILE).write_text(SPEC)
    (project / STACK_FILE).write_text(STACK)
    return project


COMMANDS = {
    "validate": ["validate"],
    "preview": ["preview"],
    "check": ["check"],
    "cost": ["cost"],
    "render": ["render", "--stack", "dev", "--out", "{out}"],
}


def command(name: str, project: Path) -> list[str]:
    return [a.replace("{out}", str(project / "rendered")) for a in COMMANDS[name]] + ["--project-dir", str(project)]


_LIMITED = textwrap.dedent("""\
    import resource, sys
    limit = int(sys.argv[1]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.argv = ["modelfleet", *sys.argv[2:]]
    from modelfleet.cli import main
    main()
""")


def run_limited(args: list[str], *, memory_mib: int, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter under an address-space limit and a wall-clock timeout
    (raises subprocess.TimeoutExpired when it hangs)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", _LIMITED, str(memory_mib), *args], capture_output=True, text=True,
                          timeout=timeout_s, env=env, cwd=ROOT, check=False)
