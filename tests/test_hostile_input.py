"""Hostile and mistaken input is refused before anything is planned.

Each case runs through validate, preview, check, cost and render. `validate` must exit 2
naming the file (and line where one exists) and what is wrong; every other command must
exit 2 as well, and no command may print a traceback or echo a credential.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile import COMMANDS, SAGEMAKER, SPEC, SPEC_FILE, STACK_FILE, Case, command, spec_edit, stack_edit
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

AKIA = "AKIAIOSFODNN7EXAMPLQ"
HEX = "0123456789abcdef" * 4

NUMBERS = [
    Case("infinite target", SPEC_FILE, "finite", line=21, edits=spec_edit(("  target: 8", "  target: .inf"))),
    Case("NaN cpu", SPEC_FILE, "finite", line=15, edits=spec_edit(("  cpu: 4", "  cpu: .nan"))),
    Case("huge target", SPEC_FILE, "1000000", line=21, edits=spec_edit(("  target: 8", "  target: 1e300"))),
    Case("fractional utilization", SPEC_FILE, "whole percentage", edits=spec_edit(("  metric: concurrency\n  target: 8", "  metric: cpu_utilization\n  target: 0.4"))),
    Case("negative price", STACK_FILE, "greater than or equal to 0", line=8, edits=stack_edit(("{L4: 0.35}", "{L4: -0.2}"))),
    Case("infinite budget", STACK_FILE, "finite", edits=stack_edit(("  modelfleet:tags:", "  modelfleet:budget: {monthly_usd: .inf}\n  modelfleet:tags:"))),
]

NAMES = [
    Case("version with a space", SPEC_FILE, "label value", line=2, edits=spec_edit(("version: 1.0.0", "version: 1.0 beta"))),
    Case("version with a slash", SPEC_FILE, "label value", line=2, edits=spec_edit(("version: 1.0.0", "version: release/1"))),
    Case("version with an RTL mark", SPEC_FILE, "label value", line=2, edits=spec_edit(("version: 1.0.0", "version: \"1.0\u200f\""))),
    Case("tag over app.kubernetes.io", STACK_FILE, "reserved", line=10,
         edits=stack_edit(("{cost-center: ml-platform}", "{app.kubernetes.io/name: evil}"))),
    Case("tag over modelfleet.io", STACK_FILE, "reserved", line=10, edits=stack_edit(("{cost-center: ml-platform}", "{modelfleet.io/model: other}"))),
    Case("tag value with a newline", STACK_FILE, "label value", line=10, edits=stack_edit(("{cost-center: ml-platform}", '{cost-center: "a\\nb"}'))),
    Case("empty env name", SPEC_FILE, "environment variable name", line=12, edits=spec_edit(('{HF_HUB_OFFLINE: "1"}', '{"": "1"}'))),
    Case("env name with =", SPEC_FILE, "environment variable name", line=12, edits=spec_edit(('{HF_HUB_OFFLINE: "1"}', '{"A=B": "1"}'))),
    Case("image with a space", SPEC_FILE, "whitespace", edits=spec_edit(("  port: 8000", "  port: 8000\n  image: 'harbor.local/x :1'"))),
    Case("image with ;", SPEC_FILE, "grammar", edits=spec_edit(("  port: 8000", "  port: 8000\n  image: 'harbor.local/x;rm'"))),
    Case("image with upper-case host", SPEC_FILE, "lower-case", edits=spec_edit(("  port: 8000", "  port: 8000\n  image: Harbor.Local/x:1"))),
    Case("image with empty tag", SPEC_FILE, "empty tag", edits=spec_edit(("  port: 8000", "  port: 8000\n  image: 'harbor.local/x:'"))),
    Case("image with non-hex digest", SPEC_FILE, "hex", edits=spec_edit(("  port: 8000", "  port: 8000\n  image: harbor.local/x@sha256:" + "z" * 64))),
    Case("stack image override with a short digest", STACK_FILE, "hex",
         edits=stack_edit(("  modelfleet:tags:", "  modelfleet:images: {vllm: 'harbor.local/vllm@sha256:abc'}\n  modelfleet:tags:"))),
    Case("registry url with scheme", STACK_FILE, "scheme", line=9, edits=stack_edit(("url: harbor.local/ml", "url: https://harbor.local/ml"))),
    Case("same node twice", STACK_FILE, "listed twice", line=7,
         edits=stack_edit(("[{name: n1, accelerator: L4, count: 4}]", "[{name: n1, accelerator: L4, count: 4}, {name: n1, accelerator: L4, count: 2}]"))),
    Case("node name with a space", STACK_FILE, "pattern", edits=stack_edit(("name: n1,", "name: 'n 1',"))),
    Case("colliding SageMaker names", "Pulumi.x-prod.yaml", "m-x-prod",
         files={"model_specs/m.yaml": SPEC.replace("chat-model", "m").replace("L4:1", "none"),
                "model_specs/m-x.yaml": SPEC.replace("chat-model", "m-x").replace("L4:1", "none"),
                "stacks/Pulumi.x-prod.yaml": SAGEMAKER + "  modelfleet:models: [m]\n",
                "stacks/Pulumi.prod.yaml": SAGEMAKER + "  modelfleet:models: [m-x]\n"},
         commands=("validate", "preview", "check", "cost")),
]

NAMESPACES = [
    Case(f"model named {ns}", SPEC_FILE, "namespace", line=1, edits=spec_edit(("name: chat-model", f"name: {ns}")))
    for ns in ("kube-system", "default", "kube-node-lease", "keda", "kserve", "monitoring", "karpenter")
]

PATHS = [
    Case("build context outside", SPEC_FILE, "outside the repository", edits=spec_edit(("resources:", "build: {context: ../../..}\nresources:"))),
    Case("dockerfile outside", SPEC_FILE, "outside the repository", edits=spec_edit(("resources:", "build: {context: ., dockerfile: /etc/passwd}\nresources:"))),
    Case("file uri outside", SPEC_FILE, "outside the repository", line=5, edits=spec_edit(("  uri: s3://bucket/chat/1.0.0/", "  uri: file:///etc"))),
    Case("symlinked context", SPEC_FILE, "outside the repository", edits=spec_edit(("resources:", "build: {context: escape}\nresources:"))),
    Case("environment that is a path", STACK_FILE, "not a known environment", line=2, edits=stack_edit(("environment: dev", "environment: ../../x"))),
]

CREDENTIALS = [
    Case("user-info in the model uri", SPEC_FILE, "credentials", line=5,
         edits=spec_edit(("  uri: s3://bucket/chat/1.0.0/", f"  uri: s3://{AKIA}:{SECRET}@bucket/chat/"))),
    Case("user-info in capture_url", STACK_FILE, "credentials",
         edits=stack_edit(("  modelfleet:tags:", f"  modelfleet:capture_url: http://admin:{SECRET}@evil.example.com/\n  modelfleet:tags:"))),
    Case("credential in env", SPEC_FILE, "AWS access key", line=12, edits=spec_edit(('{HF_HUB_OFFLINE: "1"}', f'{{HF_HUB_OFFLINE: "1", KEY: {AKIA}}}'))),
    Case("password in env", SPEC_FILE, "literal value", line=12, edits=spec_edit(('{HF_HUB_OFFLINE: "1"}', f'{{DB_PASSWORD: {SECRET}}}'))),
    Case("token in args", SPEC_FILE, "serving.args", line=11, edits=spec_edit(('"8192"]', f'"8192", "--api-key", "{SECRET}"]'))),
    Case("bucket wildcard", SPEC_FILE, "wildcard", line=5, edits=spec_edit(("  uri: s3://bucket/chat/1.0.0/", "  uri: s3://*/"))),
]

ENVIRONMENTS = [
    Case(f"environment {env!r}", STACK_FILE, "not a known environment", line=2, edits=stack_edit(("environment: dev", f"environment: {env}")))
    for env in ("production", "Prod", '"prod "')
]

NETWORK = [
    Case("public model with token auth on Kubernetes", SPEC_FILE, "cannot be honoured on Kubernetes",
         edits=spec_edit(("resources:", "network: {public: true, auth: token}\nresources:"))),
]

SM_STACK = "stacks/Pulumi.sm-prod.yaml"
GHCR_CREDENTIAL = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/ghcr-AbCdEf"


def _sagemaker(setting: str) -> dict[str, str]:
    """A SageMaker stack (alongside the on-prem one) carrying one setting."""
    return {SM_STACK: SAGEMAKER + "  modelfleet:models: [chat-model]\n" + setting}


PULL_THROUGH = [
    Case("pull-through key with user-info", SM_STACK, "user-info", line=8,
         files=_sagemaker(f"  modelfleet:pull_through: {{'admin:{SECRET}@ghcr.io': {{credential: '{GHCR_CREDENTIAL}'}}}}\n"),
         commands=("validate", "preview", "check", "cost")),
    Case("pull-through key typo names the allowed keys", SM_STACK, "Allowed: credential, prefix", line=8,
         files=_sagemaker(f"  modelfleet:pull_through: {{ghcr.io: {{credentail: '{GHCR_CREDENTIAL}'}}}}\n"),
         commands=("validate", "preview", "check", "cost")),
    Case("pull-through from a registry ECR cannot mirror", SM_STACK, "--push", line=8,
         files=_sagemaker("  modelfleet:pull_through: {harbor.example.com: {}}\n"), commands=("validate", "preview", "check", "cost")),
    Case("pull-through credential outside ecr-pullthroughcache/", SM_STACK, "ecr-pullthroughcache/", line=8,
         files=_sagemaker("  modelfleet:pull_through: {ghcr.io: {credential: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ml/ghcr-AbCdEf'}}\n"),
         commands=("validate", "preview", "check", "cost")),
]

CASES = PULL_THROUGH + NETWORK + PARSING + NUMBERS + NAMES + NAMESPACES + PATHS + CREDENTIALS + ENVIRONMENTS


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_refuses_with_location(case: Case, tmp_path: Path, runner: CliRunner) -> None:
    project = case.build(tmp_path)
    (project / "model_specs" / "escape").symlink_to("/etc")
    result = runner.invoke(app, command("validate", project))
    out = _flat(result.output)
    assert result.exit_code == 2, f"{case.id}: exit {result.exit_code}: {out}"
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), repr(result.exception)
    located = f"{case.where}:{case.line}" if case.line else case.where
    assert located in out, f"{case.id}: expected {located!r} in: {out}"
    assert case.says in out, f"{case.id}: expected {case.says!r} in: {out}"
    assert "To fix:" in out, out
    assert SECRET not in out and AKIA not in out


@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "validate"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_command_refuses_without_traceback(case: Case, name: str, tmp_path: Path, runner: CliRunner) -> None:
    if name not in case.commands:
        pytest.skip(f"{name} does not read what {case.id} breaks")
    project = case.build(tmp_path)
    (project / "model_specs" / "escape").symlink_to("/etc")
    result = runner.invoke(app, command(name, project))
    assert result.exit_code == 2, f"{case.id} / {name}: exit {result.exit_code}: {result.output}"
    assert isinstance(result.exception, SystemExit), f"{case.id} / {name}: {result.exception!r}"
    assert "Traceback" not in result.output
    assert SECRET not in result.output
    assert not (project / "rendered").exists(), "render wrote files for invalid input"
