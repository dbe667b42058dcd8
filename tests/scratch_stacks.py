"""Scratch project files for tests: an on-prem stack with T4 GPU nodes, one small spec per runtime, and
`write_project` to lay specs and stacks out as a project, `preview_holding_secret` to preview it with a
known value in Secrets Manager."""

import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest

from modelfleet import mocked_cloud, preview
from modelfleet.plan import ResourcePlan

ROOT = Path(__file__).resolve().parent.parent


def write_project(root: Path, specs: dict[str, str], stacks: dict[str, str]) -> Path:
    """model_specs/<name>.yaml and stacks/Pulumi.<name>.yaml under `root`, with the repository's Pulumi.yaml."""
    (root / "model_specs").mkdir(parents=True)
    for name, text in specs.items():
        (root / "model_specs" / f"{name}.yaml").write_text(text)
    (root / "stacks").mkdir()
    for name, text in stacks.items():
        (root / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    return root


def preview_holding_secret(project: Path, names: Iterable[str], value: str) -> dict[str, ResourcePlan]:
    """Plans of the stacks `names` with every Secrets Manager secret holding `value`, the value `pulumi up`
    would read at deploy time (tests plant one and look for it in every output)."""

    def call(self, args):
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            return {"arn": args.args.get("secretId"), "secretString": value}
        return mocked_cloud.call_result(args.token, args.args, self.region)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(preview._Mocks, "call", call)
        return {name: preview.preview_stack(project, name) for name in names}

ONPREM_STACK = """config:
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:serving: {engine}
  modelfleet:cluster:
    kind: onprem
    gpu_nodes: [{{name: gpu-1, accelerator: T4, count: 16}}]
  modelfleet:registry: {{kind: external, url: registry.lab.local/ml}}
  modelfleet:addons: {{monitor_labels: {{release: kps}}}}
  modelfleet:alerts: {{alertmanager_receiver: oncall}}
"""


def runtime_spec(runtime: str, metric: str = "rps", *, name: str | None = None, version: str = "1", max_replicas: int = 2,
                 extra: str = "") -> str:
    """A T4 model served by `runtime`, scaled on `metric`; the custom runtime gets an image and its
    request counter. `extra` is appended as top-level YAML (e.g. a `rollout:` line)."""
    image = ", image: registry.lab.local/ml/custom:1" if runtime == "custom" else ""
    metrics = "\nmonitoring: {metrics: {requests: http_requests_total}}" if runtime == "custom" else ""
    return f"""name: {name or f"m-{runtime}"}
version: "{version}"
owner: t
model: {{uri: "s3://bucket/{runtime}/", framework: onnx}}
serving: {{runtime: {runtime}{image}}}
resources: {{accelerator: T4:1, cpu: 2, memory_gib: 8}}
autoscaling: {{min_replicas: 1, max_replicas: {max_replicas}, metric: {metric}, target: 10}}{metrics}
{extra}"""
