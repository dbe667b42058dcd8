"""Every policy rule has a passing and a failing fixture (tests/fixtures/policies/<id>.json),
its messages say how to fix the problem, rules never crash on odd input, and rule modules
import only the standard library."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.rules import RULES, RULES_BY_ID, Rule
from policies.rules._config import resolve
from policies.rules._nodes import accelerator_of_instance

FIXTURES = Path(__file__).parent / "fixtures" / "policies"
RULES_DIR = Path(__file__).parents[1] / "policies" / "rules"


def load_fixture(rule_id: str) -> dict[str, Any]:
    path = FIXTURES / f"{rule_id}.json"
    assert path.exists(), f"{rule_id} has no fixture; add {path} with 'pass' and 'fail' resources"
    return json.loads(path.read_text())


def evaluate(rule: Rule, resources: list[dict[str, Any]], fixture: dict[str, Any]) -> list[tuple[str, str]]:
    """Run one rule as the engines do: its defaults overlaid with the fixture's params."""
    _, params = resolve(rule, {rule.id: fixture.get("config", {})})
    params["environment"] = fixture.get("environment", "prod")
    if rule.kind == "stack":
        full = [{"urn": "", "parent": "", "options": {}, **r} for r in resources]
        return rule.check_stack(full, params)
    return [
        (r["name"], m)
        for r in resources
        for m in rule.check_resource(r["type"], r["props"], params, r.get("options", {}))
    ]


def test_at_least_thirty_rules_with_unique_ids() -> None:
    assert len(RULES) >= 30
    assert len(RULES_BY_ID) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_metadata_is_complete(rule: Rule) -> None:
    assert rule.id.startswith("MF-") and rule.level in ("mandatory", "advisory")
    assert rule.kind in ("resource", "stack") and rule.description and rule.why
    for name, schema in rule.schema().items():
        assert "default" in schema and "type" in schema, f"{rule.id}.{name} needs a type and a default"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_passes_its_passing_fixture(rule: Rule) -> None:
    fixture = load_fixture(rule.id)
    assert fixture["pass"], f"{rule.id}: empty passing fixture"
    assert evaluate(rule, fixture["pass"], fixture) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_flags_its_failing_fixture_with_a_fix(rule: Rule) -> None:
    fixture = load_fixture(rule.id)
    found = evaluate(rule, fixture["fail"], fixture)
    assert found, f"{rule.id}: failing fixture produced no violation"
    names = {r["name"] for r in fixture["fail"]}
    for name, message in found:
        assert name in names
        assert "To fix:" in message, f"{rule.id}: message must say what to change: {message}"


@pytest.mark.parametrize("rule", [r for r in RULES if r.params.get("environments")], ids=lambda r: r.id)
def test_environment_scoped_rules_are_silent_elsewhere(rule: Rule) -> None:
    fixture = load_fixture(rule.id)
    scoped = rule.defaults()["environments"]
    other = next(env for env in ("dev", "staging", "prod") if env not in scoped)
    assert evaluate(rule, fixture["fail"], {**fixture, "environment": other}) == []


def test_every_fixture_names_a_rule() -> None:
    orphans = {p.stem for p in FIXTURES.glob("MF-*.json")} - set(RULES_BY_ID)
    assert not orphans, f"fixtures for unknown rules: {orphans}"


@pytest.mark.parametrize(
    ("instance", "accelerator"),
    [
        ("ml.g5.2xlarge", "A10G"),
        ("g4dn.xlarge", "T4"),
        ("p4de.24xlarge", "A100-80GB"),
        ("p5.48xlarge", "H100"),
        ("Standard_NC24ads_A100_v4", "A100-80GB"),
        ("Standard_NC4as_T4_v3", "T4"),
        ("Standard_NC6s_v3", "V100"),
        ("Standard_ND96isr_H100_v5", "H100"),
        ("m5.large", None),
        ("Standard_D4s_v5", None),
        (None, None),
    ],
)
def test_accelerator_recognition(instance: Any, accelerator: str | None) -> None:
    assert accelerator_of_instance(instance) == accelerator


def test_floats_where_ints_are_meant() -> None:
    rule = RULES_BY_ID["MF-GPU-004"]
    props = {"spec": {"minReplicas": 2.0, "maxReplicas": 21.0}}
    messages = rule.check_resource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", props, {"max_replicas": 20.0})
    assert messages and "is 21" in messages[0]


def test_ignore_changes_accepts_snake_case_paths() -> None:
    rule = RULES_BY_ID["MF-REL-001"]
    options = {"ignoreChanges": ["scaling_config.desired_size"]}
    assert rule.check_resource("aws:eks/nodeGroup:NodeGroup", {}, {}, options) == []
    assert rule.check_resource("aws:eks/nodeGroup:NodeGroup", {}, {}, {"ignoreChanges": ["scalingConfig"]}) == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["*", "latest", "nvidia.com/gpu", "Disabled", "AADToken", "{", '{"Statement": 1}']),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "spec",
                    "template",
                    "containers",
                    "metadata",
                    "labels",
                    "tags",
                    "resources",
                    "limits",
                    "nvidia.com/gpu",
                    "predictor",
                    "policy",
                    "Statement",
                    "scalingConfig",
                    "minReplicas",
                    "maxReplicas",
                    "productionVariants",
                    "securityContext",
                    "nodeSelector",
                    "tolerations",
                    "onlineDeploymentProperties",
                    "blockDeviceMappings",
                    "ebs",
                    "image",
                    "scaleTargetRef",
                    "name",
                    "taints",
                    "nodeTaints",
                    "vmSize",
                    "instanceTypes",
                    "alarmActions",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
TYPES = sorted({t for r in RULES for t in r.resource_types if "*" not in t} | {"kubernetes:core/v1:Namespace"})


@settings(max_examples=60, deadline=None)
@given(
    props=st.dictionaries(
        st.sampled_from(
            [
                "spec",
                "metadata",
                "tags",
                "policy",
                "scalingConfig",
                "productionVariants",
                "onlineEndpointProperties",
                "vpcConfig",
                "deploymentConfig",
                "metadataOptions",
                "blockDeviceMappings",
            ]
        ),
        json_values,
        max_size=5,
    ),
    options=st.dictionaries(st.sampled_from(["protect", "ignoreChanges", "retainOnDelete"]), json_values),
)
def test_rules_never_crash_on_odd_input(props: dict[str, Any], options: dict[str, Any]) -> None:
    resources = [
        {"type": t, "name": f"r{i}", "urn": "", "parent": "", "props": props, "options": options}
        for i, t in enumerate(TYPES)
    ]
    for rule in RULES:
        params = {**rule.defaults(), "environment": "prod"}
        if rule.kind == "stack":
            assert all(isinstance(m, str) for _, m in rule.check_stack(resources, params))
            continue
        for t in TYPES:
            assert all(isinstance(m, str) for m in rule.check_resource(t, props, params, options))


def test_rule_modules_import_only_the_standard_library() -> None:
    for path in RULES_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root == "__future__", f"{path.name} imports {root}"
