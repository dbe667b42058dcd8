"""Property-based tests: names are valid and deterministic; spec mutations never crash."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelfleet.errors import SpecError
from modelfleet.naming import DNS1123_LABEL, fit, k8s_name
from modelfleet.spec import MAX_NAME, NAME_RE, parse_spec

VALID_NAMES = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", fullmatch=True)

BASE: dict[str, Any] = {
    "name": "chat-model", "version": "1.0.0", "owner": "nlp-team",
    "model": {"uri": "s3://bucket/m/", "framework": "huggingface", "size_gib": 16},
    "serving": {"runtime": "vllm", "port": 8000},
    "resources": {"accelerator": "L4:1", "cpu": 4, "memory_gib": 32},
    "autoscaling": {"min_replicas": 1, "max_replicas": 4, "metric": "concurrency", "target": 8},
    "rollout": {"strategy": "canary", "canary_percent": 10},
    "environments": {"dev": {"autoscaling": {"min_replicas": 0}}},
}
PATHS = [("name",), ("version",), ("owner",), ("model", "uri"), ("model", "size_gib"), ("serving", "runtime"),
         ("serving", "port"), ("resources", "accelerator"), ("resources", "cpu"), ("autoscaling", "min_replicas"),
         ("autoscaling", "max_replicas"), ("autoscaling", "metric"), ("autoscaling", "target"),
         ("rollout", "canary_percent"), ("rollout", "strategy"), ("environments", "dev", "autoscaling"), ("bogus",)]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 100_000), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=50), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@given(VALID_NAMES)
def test_valid_model_names_give_valid_deterministic_k8s_names(name: str) -> None:
    assert NAME_RE.match(name) and len(name) <= MAX_NAME
    for suffix in ("", "gpu", "deployment", "scaledobject"):
        derived = k8s_name(name, suffix)
        assert DNS1123_LABEL.match(derived) and len(derived) <= 63, derived
        assert derived == k8s_name(name, suffix)


@given(st.text(min_size=1, max_size=120), st.integers(min_value=8, max_value=63))
def test_fit_always_fits_and_is_stable(name: str, limit: int) -> None:
    fitted = fit(name, limit)
    assert len(fitted) <= limit and fitted == fit(name, limit)
    assert all(c.isalnum() and c.isascii() or c == "-" for c in fitted), fitted


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_fit_keeps_distinct_long_names_distinct(a: str, b: str) -> None:
    if a != b and (len(a) > 20 or len(b) > 20):
        assert fit(a, 20) != fit(b, 20) or fit(a, 20) in (a, b)


def _mutate(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node.get(key), dict) or key not in node else node[key]
        if not isinstance(node, dict):
            return doc
    node[path[-1]] = value
    return doc


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), VALUES)
def test_random_mutations_validate_or_fail_located(path: tuple[str, ...], value: Any) -> None:
    text = yaml.safe_dump(_mutate(BASE, path, value), sort_keys=False)
    try:
        parse_spec(text, "mutated.yaml")
    except SpecError as e:
        assert e.problems, "a SpecError always carries problems"
        for problem in e.problems:
            assert problem.file == "mutated.yaml"
            assert problem.line is not None and problem.line >= 1, problem.render()
            assert problem.message, problem.render()
