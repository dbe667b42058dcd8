"""Property tests over the spec and stack models: arbitrary YAML values either validate or fail
with located problems (never another exception), and a valid spec registers only valid
Kubernetes names and labels."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hostile import SPEC, STACK, write_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelfleet.environment import parse_stack
from modelfleet.errors import SpecError
from modelfleet.labels import LABEL_NAME, LABEL_VALUE
from modelfleet.preview import preview_loaded
from modelfleet.spec import load_specs, parse_spec

YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=30),
              st.sampled_from(["*", "../../etc", "kube-system", "s3://*/", "a:b@c", "[/oops]", ":x:", "\u200f", "1e400"])),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)),
    max_leaves=6)
SPEC_DOC = yaml.safe_load(SPEC)
STACK_DOC = yaml.safe_load(STACK)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    return out


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_paths(SPEC_DOC) + [("bogus",), ("environments", "prod")]), YAML_VALUES)
def test_any_value_anywhere_in_a_spec_validates_or_is_located(path: tuple[Any, ...], value: Any) -> None:
    text = yaml.safe_dump(_set(SPEC_DOC, path, value), allow_unicode=True)
    try:
        parse_spec(text, "model_specs/x.yaml")
    except SpecError as e:
        assert e.problems and all(p.file == "model_specs/x.yaml" and p.line is not None for p in e.problems), e


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_paths(STACK_DOC) + [("config", "modelfleet:bogus"), ("config", "modelfleet:environments")]), YAML_VALUES)
def test_any_value_anywhere_in_a_stack_validates_or_is_located(path: tuple[Any, ...], value: Any) -> None:
    text = yaml.safe_dump(_set(STACK_DOC, path, value), allow_unicode=True)
    try:
        parse_stack(text, "stacks/Pulumi.dev.yaml")
    except SpecError as e:
        assert e.problems and all(p.file == "stacks/Pulumi.dev.yaml" and p.line is not None for p in e.problems), e


NAMES = st.from_regex(r"[a-z][-a-z0-9]{0,30}[a-z0-9]", fullmatch=True)
LABEL_VALUES = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?", fullmatch=True)
DNS_SUBDOMAIN_253 = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


def _k8s_objects(value: Any) -> list[dict[str, Any]]:
    """Every {apiVersion, kind, metadata} mapping inside a resource's inputs."""
    found = []
    if isinstance(value, dict):
        if "metadata" in value and isinstance(value["metadata"], dict):
            found.append(value)
        for child in value.values():
            found += _k8s_objects(child)
    elif isinstance(value, list):
        for child in value:
            found += _k8s_objects(child)
    return found


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(NAMES, LABEL_VALUES, LABEL_VALUES, LABEL_VALUES)
def test_a_valid_spec_registers_only_valid_kubernetes_names_and_labels(tmp_path_factory: Any, name: str, version: str,
                                                                       owner: str, tag: str) -> None:
    import re

    # quoted: a name such as `no` is a valid label, and unquoted YAML 1.1 would read it as a boolean (tested below)
    spec = parse_spec(SPEC.replace("name: chat-model", f"name: '{name}'").replace("version: 1.0.0", f"version: '{version}'")
                      .replace("owner: nlp-team", f"owner: '{owner}'"), "x.yaml")
    stack = parse_stack(STACK.replace("{cost-center: ml-platform}", f"{{cost-center: '{tag}'}}"), "stacks/Pulumi.dev.yaml")
    plan = preview_loaded(stack, [spec])
    checked = 0
    for resource in plan.resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        for obj in _k8s_objects(resource.inputs):
            meta = obj["metadata"]
            if "name" in meta:
                assert re.match(DNS_SUBDOMAIN_253, meta["name"]) and len(meta["name"]) <= 253, (resource.urn, meta["name"])
            for key, value in (meta.get("labels") or {}).items():
                prefix, _, label = key.rpartition("/")
                assert LABEL_NAME.match(label) and (not prefix or re.match(DNS_SUBDOMAIN_253, prefix)), (resource.urn, key)
                assert LABEL_VALUE.match(str(value)), (resource.urn, key, value)
            checked += 1
    assert checked > 5


@pytest.mark.parametrize("word", ["no", "yes", "on", "off", "true", "false"])
def test_an_unquoted_yaml_boolean_where_text_belongs_says_to_quote_it(word: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(SPEC.replace("name: chat-model", f"name: {word}"), "x.yaml")
    [problem] = raised.value.problems
    assert (problem.file, problem.line, problem.field) == ("x.yaml", 1, "name")
    assert "YAML read the unquoted value as a boolean" in problem.message and problem.fix == "put the value in quotes, e.g. 'no'"
    assert parse_spec(SPEC.replace("name: chat-model", f"name: '{word}'"), "x.yaml").name == word


def test_the_project_loader_agrees(tmp_path: Path) -> None:
    """The helper project is itself valid: the properties above start from a real spec."""
    project = write_project(tmp_path)
    assert [s.name for s in load_specs([project / "model_specs" / "chat.yaml"])] == ["chat-model"]
