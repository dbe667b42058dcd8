"""Read a real `pulumi preview --json` file into a `ResourcePlan`, so users with the CLI get the same costs.

Pulumi's documented shape: `{"config": {...}, "steps": [{"op", "urn", "newState": {"type",
"urn", "custom", "inputs", "parent", ...}, "oldState": ...}], "changeSummary": {...}}`.

Contract: `plan_from_preview(path, region=None, stack=None)`
- keeps every step whose op leaves the resource in place afterwards (create, update, same,
  replace, create-replacement, import) from its `newState`; delete / discard / read /
  delete-replaced steps are left out; one resource per URN;
- region: `--region`, else config `aws:region` / `azure-native:location`, else the inputs
  of a `pulumi:providers:aws` / `pulumi:providers:azure-native` resource;
- `modelfleet:*` config (JSON-encoded objects allowed) becomes `stack_settings` (budget,
  cluster.gpu_hour_usd); target = `modelfleet:cluster.kind` / `modelfleet:platform`, else
  inferred from the resource types;
- a file that is not such a document → `PreviewFileError` (exit 2) saying how to make one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelfleet.errors import ModelfleetError
from modelfleet.plan import PlannedResource, ResourcePlan, model_of

KEPT_OPS = {"create", "update", "same", "replace", "create-replacement", "import", "import-replacement", "refresh"}
HOW = "produce it with `pulumi preview --json > preview.json`"
TARGET_HINTS = (
    ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "sagemaker"),
    ("azure-native:machinelearningservices:OnlineDeployment", "azureml"),
    ("aws:eks/nodeGroup:NodeGroup", "eks"),
    ("azure-native:containerservice:AgentPool", "aks"),
)


class PreviewFileError(ModelfleetError):
    """The --from-preview file cannot be read as Pulumi preview JSON (exit 2)."""


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise PreviewFileError(f"cannot read {path}: {e.strerror}. To fix: check the --from-preview path") from e
    except json.JSONDecodeError as e:
        raise PreviewFileError(f"{path}:{e.lineno}: not JSON ({e.msg}). To fix: {HOW}") from e
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise PreviewFileError(f"{path}: no `steps` list, so this is not `pulumi preview --json` output. To fix: {HOW}")
    return data


def _value(raw: Any) -> Any:
    """Config values arrive as strings; structured ones are JSON-encoded."""
    if isinstance(raw, dict) and "value" in raw and set(raw) <= {"value", "secret", "object"}:
        raw = raw["value"]
    if isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _stack_of(urn: str) -> str:
    parts = urn.split("::")
    return parts[0].split(":")[-1] if parts and parts[0].startswith("urn:pulumi:") else "preview"


def _type_from_urn(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::<parent types $>type::<name> → type."""
    parts = urn.split("::")
    return parts[-2].split("$")[-1] if len(parts) >= 4 else ""


def _model(r: PlannedResource) -> str | None:
    tags = r.inputs.get("tags")
    return model_of(r.inputs) or (str(tags["modelfleet:model"]) if isinstance(tags, dict) and "modelfleet:model" in tags else None)


def _resources(path: Path, steps: list[Any]) -> list[PlannedResource]:
    seen: dict[str, PlannedResource] = {}
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise PreviewFileError(f"{path}: steps[{i}] is not an object. To fix: {HOW}")
        state = step.get("newState")
        if step.get("op") not in KEPT_OPS or not isinstance(state, dict):
            continue
        urn = str(state.get("urn") or step.get("urn") or "")
        type_token = str(state.get("type") or _type_from_urn(urn))
        if not urn or not type_token or type_token == "pulumi:pulumi:Stack":
            continue
        parent = str(state.get("parent") or "")
        if "::pulumi:pulumi:Stack::" in parent:
            parent = ""
        seen[urn] = PlannedResource(urn=urn, type=type_token, name=urn.split("::")[-1], parent=parent,
                                    custom=bool(state.get("custom", True)), inputs=dict(state.get("inputs") or {}),
                                    options={"provider": str(state.get("provider") or "")})
    return list(seen.values())


def _region(config: dict[str, Any], resources: list[PlannedResource]) -> str | None:
    for key in ("aws:region", "azure-native:location"):
        if config.get(key):
            return str(_value(config[key]))
    for r in resources:
        if r.type == "pulumi:providers:aws" and r.inputs.get("region"):
            return str(r.inputs["region"])
        if r.type == "pulumi:providers:azure-native" and r.inputs.get("location"):
            return str(r.inputs["location"])
    return None


def plan_from_preview(path: Path, region: str | None = None, stack: str | None = None) -> ResourcePlan:
    data = _load(path)
    resources = _resources(path, data["steps"])
    raw_config = data.get("config")
    config: dict[str, Any] = raw_config if isinstance(raw_config, dict) else {}
    settings = {key.split(":", 1)[1]: _value(v) for key, v in config.items() if key.startswith("modelfleet:")}
    raw_cluster = settings.get("cluster")
    cluster: dict[str, Any] = raw_cluster if isinstance(raw_cluster, dict) else {}
    types = {r.type for r in resources}
    target = cluster.get("kind") or next((t for hint, t in TARGET_HINTS if hint in types), None) or settings.get("platform") or ""
    models = sorted({m for m in map(_model, resources) if m})
    name = stack or next((_stack_of(r.urn) for r in resources), "preview")
    environment = str(settings.get("environment") or "")
    plan_config = {"environment": environment, "target": str(target),
                   "region": region or _region(config, resources), "models": models, "stack_settings": settings}
    return ResourcePlan(stack=name, platform=str(settings.get("platform") or target), environment=environment,
                        resources=tuple(sorted(resources, key=lambda r: r.urn)), config=plan_config)
