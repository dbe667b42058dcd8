"""A new model spec as commented YAML (`modelfleet new MODEL`).

Contract:
- `Answers` holds what the user chose; `render(answers, joins)` → the spec text. Each field
  is preceded by its schema description (and allowed values) from `modelfleet.explain`, so
  the comments and the models never disagree. Values are written so YAML reads them back as
  the same type (a version `1.10` is quoted).
- `joining(root, name)` → the project's stacks whose `modelfleet:models` select the name;
  `production_minimums(root, stacks)` → per production environment among them, the replica
  floor the policy pack enforces there (MF-GPU-008 and its config), which the scaffold writes
  as an `environments:` override so the first `pr` passes.
- `default_framework(runtime)` → the framework a runtime implies, or None when it serves several.
- `name_problem(name)` → (message, allowed, fix) when the name is not a valid model name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelfleet.environment import AnyStack, load_stack_file, stack_layout
from modelfleet.errors import ModelfleetError
from modelfleet.explain import explain
from modelfleet.project import STACKS_DIR

# What each built-in runtime loads (the runtimes' own documentation, at the versions in
# modelfleet/data/runtime_images.json): vLLM and TGI serve Hugging Face model repositories,
# TorchServe serves PyTorch model archives, TF Serving serves TensorFlow SavedModels. Triton
# serves several backends (ONNX, PyTorch, TensorFlow, ...), and custom servers anything: ask.
RUNTIME_FRAMEWORK = {"vllm": "huggingface", "tgi": "huggingface", "torchserve": "pytorch", "tfserving": "tensorflow"}
POLICY_MIN_REPLICAS = "MF-GPU-008"
UTILIZATION_TARGET, PER_REPLICA_TARGET = 60, 8  # the `autoscaling.target` examples in the schema


@dataclass(frozen=True)
class Answers:
    name: str
    owner: str
    uri: str
    framework: str
    runtime: str
    version: str = "0.1.0"
    description: str = ""
    image: str | None = None
    size_gib: float | None = None
    accelerator: str | dict[str, Any] | None = None
    cpu: float | None = None
    memory_gib: float | None = None
    metric: str = "concurrency"
    target: float | None = None
    min_replicas: int = 1
    max_replicas: int = 2
    # environment → (override, why): e.g. a production replica floor
    overrides: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)


def default_framework(runtime: str) -> str | None:
    return RUNTIME_FRAMEWORK.get(runtime)


def default_target(metric: str) -> int:
    return UTILIZATION_TARGET if metric.endswith("_utilization") else PER_REPLICA_TARGET


def name_problem(name: str) -> tuple[str, str, str] | None:
    """The spec's own `name` validation, applied to a name alone."""
    from pydantic import TypeAdapter, ValidationError

    from modelfleet.spec import ModelSpec

    try:
        TypeAdapter(ModelSpec.model_fields["name"].rebuild_annotation()).validate_python(name)
    except ValidationError as e:
        error = e.errors(include_url=False)[0]
        ctx = error.get("ctx") or {}
        return error["msg"], str(ctx.get("allowed", "")), str(ctx.get("fix", ""))
    return None


def scalar(value: Any) -> str:
    """A value in YAML flow form that reads back as the same value and type."""
    if isinstance(value, dict | list):
        return "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in value.items()) + "}" if isinstance(value, dict) \
            else "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, float) and value == int(value):
        value = int(value)
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        same = yaml.safe_load(text) == value and "#" not in text and "\n" not in text and text.strip() == text and text != ""
    except yaml.YAMLError:
        same = False
    return text if same else json.dumps(value)


def _comment(path: str, indent: str, extra: str = "") -> list[str]:
    doc = explain(path)
    text = doc.description
    if doc.allowed:
        text += f" Allowed: {', '.join(scalar(v) for v in doc.allowed)}."
    if extra:
        text += f" {extra}"
    return [f"{indent}# {line}" for line in _wrap(text, 96 - len(indent))]


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=max(width, 40), break_long_words=False, break_on_hyphens=False) or [""]


def render(a: Answers, joins: list[AnyStack]) -> str:
    """The spec file's text."""
    lines = ["# yaml-language-server: $schema=schema.json",
             f"# {a.name}: written by `modelfleet new`. `modelfleet explain FIELD` describes any field (e.g.",
             "# `modelfleet explain autoscaling.metric`); a field left out takes its default.",
             f"# Stacks whose modelfleet:models select it: {', '.join(s.stack for s in joins) or 'none yet'}.",
             ""]

    def put(path: str, value: Any, indent: str = "", extra: str = "") -> None:
        lines.extend(_comment(path, indent, extra))
        lines.append(f"{indent}{path.rpartition('.')[2]}: {scalar(value)}")

    def section(path: str) -> None:
        lines.append("")
        lines.extend(_comment(path, ""))
        lines.append(f"{path}:")

    put("name", a.name)
    put("version", a.version)
    put("owner", a.owner)
    put("description", a.description)
    section("model")
    put("model.uri", a.uri, "  ")
    put("model.framework", a.framework, "  ")
    if a.size_gib is not None:
        put("model.size_gib", a.size_gib, "  ")
    section("serving")
    put("serving.runtime", a.runtime, "  ")
    if a.image:
        put("serving.image", a.image, "  ")
    section("resources")
    put("resources.accelerator", a.accelerator if a.accelerator is not None else "none", "  ",
        "Names: `modelfleet catalog` lists them with their offers.")
    if a.cpu is not None:
        put("resources.cpu", a.cpu, "  ")
    if a.memory_gib is not None:
        put("resources.memory_gib", a.memory_gib, "  ")
    section("autoscaling")
    put("autoscaling.min_replicas", a.min_replicas, "  ")
    put("autoscaling.max_replicas", a.max_replicas, "  ")
    put("autoscaling.metric", a.metric, "  ")
    put("autoscaling.target", a.target if a.target is not None else default_target(a.metric), "  ")
    if a.overrides:
        section("environments")
        for env, (override, why) in a.overrides.items():
            lines.extend(f"  # {line}" for line in _wrap(why, 94))
            lines.append(f"  {scalar(env)}: {scalar(override)}")
    return "\n".join(lines) + "\n"


def joining(root: Path, name: str) -> list[AnyStack]:
    """The project's valid stacks that would serve a model of this name (invalid ones are left to validate)."""
    paths, _ = stack_layout(root / STACKS_DIR, required=False)
    found = []
    for path in paths:
        try:
            stack = load_stack_file(path)
        except ModelfleetError:
            continue
        if stack.selects(name):
            found.append(stack)
    return found


def production_minimums(root: Path, stacks: list[AnyStack]) -> dict[str, tuple[int, list[str]]]:
    """environment → (replica floor the policy pack enforces there, stacks) for production stacks."""
    import importlib

    from modelfleet.check import load_pack_config, rules_module

    config_dir = root / "policies" / "config"
    try:
        rules = {r.id: r for r in rules_module(config_dir).RULES}
        resolve = importlib.import_module("policies.rules._config").resolve
    except ModuleNotFoundError:  # a project without the bundled policy pack: nothing to satisfy
        return {}
    rule = rules.get(POLICY_MIN_REPLICAS)
    found: dict[str, tuple[int, list[str]]] = {}
    for stack in stacks:
        if not stack.production or rule is None:
            continue
        level, params = resolve(rule, load_pack_config(config_dir / "prod.json"))
        if level == "disabled" or "prod" not in (params.get("environments") or ["prod"]):
            continue
        need = int(params.get("min_replicas", 2))
        floor, names = found.get(stack.environment, (need, []))
        found[stack.environment] = (max(floor, need), [*names, stack.stack])
    return found
