"""`modelfleet explain FIELD`: a field's meaning comes from the schema (the pydantic models), so
the command and the models can never disagree; unknown fields are exit 2 with the close ones."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.environment import Addons, KubernetesStack
from modelfleet.explain import explain, known_paths
from modelfleet.spec import Autoscaling, ModelSpec, Serving

RUNNER = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, ["explain", *args])
    return result.exit_code, result.stdout, result.stderr


def test_spec_field_text_shows_description_type_allowed_and_default_from_the_model() -> None:
    code, out, _ = run("autoscaling.metric")
    assert code == 0
    assert Autoscaling.model_fields["metric"].description in out
    for value in ("concurrency", "rps", "gpu_utilization", "cpu_utilization", "queue_depth"):
        assert value in out
    assert "default   concurrency" in out and "model_specs/<model>.yaml" in out


def test_required_field_says_so_and_has_no_default() -> None:
    doc = explain("serving.runtime")
    assert doc.required and not doc.has_default
    assert doc.description == Serving.model_fields["runtime"].description
    assert set(doc.allowed) == {"vllm", "tgi", "triton", "torchserve", "tfserving", "custom"}


def test_stack_setting_names_its_file_platform_and_unset_default() -> None:
    code, out, _ = run("modelfleet:addons.argo_rollouts")
    assert code == 0
    assert Addons.model_fields["argo_rollouts"].description in out
    assert "install, present" in out and "default   unset" in out
    assert "stacks/Pulumi.<stack>.yaml" in out and "only on   platform kubernetes" in out


def test_a_stack_only_field_resolves_without_the_namespace_and_region_keys_resolve() -> None:
    assert explain("addons.keda").path == "modelfleet:addons.keda"
    assert explain("aws:region").description == explain("azure-native:location").description != ""
    nodes = explain("modelfleet:cluster.gpu_nodes.accelerator")
    assert nodes.only_on == "platform kubernetes; cluster.kind onprem"
    assert set(explain("modelfleet:platform").allowed) == {"kubernetes", "sagemaker", "azureml"}


def test_examples_and_fields_come_from_the_schema() -> None:
    doc = explain("resources.accelerator")
    assert "A10G:1" in doc.examples and {"min_memory_gib": 24, "count": 1} in doc.examples
    assert [name for name, _ in doc.fields] == ["name", "count", "min_memory_gib"]
    assert [name for name, _ in explain("autoscaling").fields] == list(Autoscaling.model_fields)


def test_environment_override_path_explains_the_base_field() -> None:
    doc = explain("environments.prod.autoscaling.min_replicas")
    assert doc.path == "autoscaling.min_replicas" and "'prod'" in doc.note


def test_json_is_pure_and_complete() -> None:
    code, out, err = run("serving.runtime", "-f", "json")
    data = json.loads(out)
    assert code == 0 and not err
    assert data["field"] == "serving.runtime" and data["required"] is True and data["has_default"] is False
    assert data["allowed"] == ["vllm", "tgi", "triton", "torchserve", "tfserving", "custom"]


@pytest.mark.parametrize(("typo", "expected"), [
    ("autoscaling.metrc", "autoscaling.metric"),
    ("serving.runtim", "serving.runtime"),
    ("argo_rollouts", "modelfleet:addons.argo_rollouts"),
    ("modelfleet:addons.argo", "modelfleet:addons.argo_rollouts"),
])
def test_unknown_field_is_exit_2_with_close_matches(typo: str, expected: str) -> None:
    code, out, err = run(typo)
    assert code == 2 and not out
    assert f"got {typo!r}" in err and expected in err and "To fix: did you mean" in err


def test_unknown_field_in_json_is_a_json_error() -> None:
    code, out, _ = run("autoscaling.metrc", "-f", "json")
    data = json.loads(out)
    assert code == 2 and data["ok"] is False
    problem = data["problems"][0]
    assert problem["field"] == "FIELD" and problem["value"] == "autoscaling.metrc" and "autoscaling.metric" in problem["allowed"]


def test_without_field_it_lists_every_top_level_spec_field_and_stack_setting() -> None:
    code, out, _ = run()
    assert code == 0
    for name in ModelSpec.model_fields:
        assert f"\n            {name}" in out or f"fields    {name}" in out
    for name in ("platform", "cluster", "addons", "registry"):
        assert f"modelfleet:{name}" in out
    assert "modelfleet:stack " not in out  # derived from the file name, never written


def test_every_known_path_explains() -> None:
    paths = [p for p in known_paths() if "<key>" not in p]
    assert len(paths) > 100
    for path in paths:
        assert explain(path).type, path
    assert set(KubernetesStack.model_fields) - {"stack", "file", "region"} <= {p.removeprefix("modelfleet:")
                                                                             for p in known_paths()}
