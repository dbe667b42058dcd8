"""`modelfleet check` (run_checks, report renderers, exit code, CLI) and the Pulumi wrappers
in policies/pack.py give the same verdicts; the per-environment config files stay in sync."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy
from typer.testing import CliRunner

from modelfleet.check import CheckReport, Violation, exit_code, list_rules_json, run_checks
from modelfleet.plan import PlannedResource, ResourcePlan
from policies import sync
from policies.pack import build_policies
from policies.rules import RULES, RULES_BY_ID
from policies.rules._config import resolve

FIXTURES = Path(__file__).parent / "fixtures" / "policies"
CONFIG_DIR = Path(__file__).parents[1] / "policies" / "config"


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::modelfleet::{type_}::{name}"


def plan_from(stack: str, environment: str, resources: list[dict[str, Any]]) -> ResourcePlan:
    planned = [
        PlannedResource(
            urn(stack, r["type"], r["name"]),
            r["type"],
            r["name"],
            r.get("parent", ""),
            r.get("custom", True),
            r["props"],
            r.get("options", {}),
        )
        for r in resources
    ]
    return ResourcePlan(stack=stack, platform="kubernetes", environment=environment, resources=tuple(planned))


def fixture_cases() -> list[tuple[str, str]]:
    return [(rule.id, side) for rule in RULES for side in ("pass", "fail")]


def fixture_plan(rule_id: str, side: str, tmp_path: Path) -> tuple[ResourcePlan, dict[str, Any], Path]:
    fixture = json.loads((FIXTURES / f"{rule_id}.json").read_text())
    env = fixture["environment"]
    # A complete config file, as `policies.sync` keeps them: every rule carries `environment`.
    pack_config = sync.synced_config(env, {rule_id: fixture["config"]})
    (tmp_path / f"{env}.json").write_text(json.dumps(pack_config))
    return plan_from(f"{env}-fixture", env, fixture[side]), pack_config, tmp_path


def _opts(options: dict[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        bool(options.get("protect", False)),
        list(options.get("ignoreChanges", [])),
        options.get("deleteBeforeReplace"),
        [],
        PolicyCustomTimeouts(0, 0, 0),
        [],
    )


def _engine_config(policy_name: str, pack_config: dict[str, Any]) -> dict[str, Any]:
    """What the Pulumi CLI hands a policy: schema defaults overlaid with the file's entry."""
    entry = pack_config.get(policy_name, {})
    props = {k: v for k, v in entry.items() if k != "enforcementLevel"} if isinstance(entry, dict) else {}
    return {**RULES_BY_ID[policy_name].defaults(), **props}


def drive_wrappers(plan: ResourcePlan, pack_config: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """Run the real Pulumi policy objects in-process, as the analyzer would (props behind Pulumi's proxy)."""
    found: set[tuple[str, str, str, str]] = set()
    by_urn = {r.urn: r.name for r in plan.resources}
    for policy in build_policies(config_loader=lambda: pack_config):
        level = policy.enforcement_level.value
        if level == "disabled":
            continue
        config = _engine_config(policy.name, pack_config)

        def report(message: str, resource_urn: str | None = None, _p=policy, _lvl=level, _name=None) -> None:
            found.add((_p.name, _lvl, by_urn.get(resource_urn or "", _name or ""), message))

        if isinstance(policy, ResourceValidationPolicy):
            for r in plan.resources:
                if not r.custom:
                    continue
                args = ResourceValidationArgs(
                    r.type, unknown_checking_proxy(r.inputs), r.urn, r.name, _opts(r.options), None, config
                )
                policy.validate(args, lambda m, u=None, _r=r, _rep=report: _rep(m, None, _name=_r.name))
        elif isinstance(policy, StackValidationPolicy):
            resources = {
                r.urn: PolicyResource(
                    r.type, unknown_checking_proxy(r.inputs), r.urn, r.name, _opts(r.options), None, None, [], {}
                )
                for r in plan.resources
            }
            for r in plan.resources:
                resources[r.urn].parent = resources.get(r.parent)
            policy.validate(StackValidationArgs(list(resources.values()), config), report)
    return found


@pytest.mark.parametrize(("rule_id", "side"), fixture_cases())
def test_pulumi_wrappers_match_run_checks(rule_id: str, side: str, tmp_path: Path) -> None:
    plan, pack_config, config_dir = fixture_plan(rule_id, side, tmp_path)
    report = run_checks([plan], config_dir)
    ours = {(v.rule, v.level, v.resource, v.message) for v in report.violations}
    assert ours == drive_wrappers(plan, pack_config)
    flagged = {v.rule for v in report.violations}
    assert (rule_id in flagged) == (side == "fail")


def test_only_custom_resources_are_validated(tmp_path: Path) -> None:
    component = {"type": "modelfleet:aws:EcrRegistry", "name": "reg", "props": {}, "custom": False}
    fake = {"type": "aws:ecr/repository:Repository", "name": "repo", "props": {}, "custom": False}
    report = run_checks([plan_from("dev", "dev", [component, fake])], tmp_path)
    resource_rules = {r.id for r in RULES if r.kind == "resource"}
    assert [v for v in report.violations if v.rule in resource_rules] == []


def _failing_report(tmp_path: Path) -> CheckReport:
    plan, _, config_dir = fixture_plan("MF-ECR-001", "fail", tmp_path)
    return run_checks([plan], config_dir)


def test_json_output_has_the_documented_shape(tmp_path: Path) -> None:
    data = json.loads(_failing_report(tmp_path).to_json())
    assert set(data) == {"rules_evaluated", "violations", "rollouts"}  # rollouts in progress: an extra key (DESIGN §5)
    assert data["rules_evaluated"] == len(RULES)
    assert data["violations"], "the ECR fixture must produce violations"
    for v in data["violations"]:
        assert set(v) == {"rule", "level", "stack", "resource", "message"}
        assert v["level"] in ("mandatory", "advisory") and v["stack"] == "prod-fixture"
    assert {
        "rule": "MF-ECR-001",
        "level": "mandatory",
        "stack": "prod-fixture",
        "resource": "repo",
        "message": RULES_BY_ID["MF-ECR-001"].check_resource("aws:ecr/repository:Repository", {}, {})[0],
    } in data["violations"]


def test_exit_code_is_one_only_for_mandatory_violations() -> None:
    advisory = Violation("MF-OBS-001", "advisory", "prod", "ep", "x")
    mandatory = Violation("MF-ECR-001", "mandatory", "prod", "repo", "y")
    assert exit_code(CheckReport(1, [])) == 0
    assert exit_code(CheckReport(1, [advisory])) == 0
    assert exit_code(CheckReport(2, [advisory, mandatory])) == 1


def test_github_and_markdown_renderers() -> None:
    report = CheckReport(
        2,
        [
            Violation("MF-ECR-001", "mandatory", "prod", "repo", "scan: off\nfix"),
            Violation("MF-OBS-001", "advisory", "prod", "ep", "no | alerts"),
        ],
        stacks=["prod"],
    )
    lines = report.to_github().splitlines()
    assert lines[0] == "::error title=MF-ECR-001 prod/repo::scan: off%0Afix"
    assert lines[1].startswith("::warning title=MF-OBS-001 prod/ep::")
    markdown = report.to_markdown()
    assert "| ❌ | MF-ECR-001 | prod | `repo` |" in markdown and "no \\| alerts" in markdown


def test_disabled_rules_are_not_evaluated_and_all_downgrades(tmp_path: Path) -> None:
    plan = plan_from("prod", "prod", [{"type": "aws:ecr/repository:Repository", "name": "repo", "props": {}}])
    (tmp_path / "prod.json").write_text(json.dumps({"all": "advisory", "MF-ECR-001": "disabled"}))
    report = run_checks([plan], tmp_path)
    assert report.rules_evaluated == len(RULES) - 1
    assert "MF-ECR-001" not in {v.rule for v in report.violations}
    assert report.violations and {v.level for v in report.violations} == {"advisory"}
    assert exit_code(report) == 0


def test_missing_config_file_falls_back_to_rule_defaults(tmp_path: Path) -> None:
    plan = plan_from(
        "dev", "dev", [{"type": "aws:ecr/repository:Repository", "name": "repo", "props": {}, "options": {}}]
    )
    report = run_checks([plan], tmp_path)
    rules = {v.rule for v in report.violations}
    assert "MF-ECR-001" in rules and "MF-REL-004" not in rules  # prod-only rule stays silent in dev


def test_list_rules_json() -> None:
    rules = list_rules_json()
    assert len(rules) >= 30
    assert all(set(r) == {"id", "level", "area", "description", "refs"} for r in rules)
    assert {"CKV_AWS_98", "CKV_AWS_163", "CKV_AZURE_137", "SageMaker.4"} <= {ref for r in rules for ref in r["refs"]}


@pytest.mark.parametrize("env", sync.ENVIRONMENTS)
def test_config_files_cover_every_rule_and_resolve(env: str) -> None:
    config = json.loads((CONFIG_DIR / f"{env}.json").read_text())
    assert sync.synced_config(env, config) == config, f"run `python -m policies.sync` ({env}.json is stale)"
    for rule in RULES:
        level, params = resolve(rule, config)
        assert level in ("mandatory", "advisory", "disabled") and params["environment"] == env
        for name, schema in rule.schema().items():
            kind = {"array": list, "number": (int, float), "string": str}[schema["type"]]
            assert isinstance(params[name], kind), f"{env}.json {rule.id}.{name} must be {schema['type']}"


def test_readme_table_is_in_sync() -> None:
    assert sync.stale_files(write=False) == [], "run `python -m policies.sync`"
    readme = (CONFIG_DIR.parent / "README.md").read_text()
    assert all(f"| {rule.id} |" in readme for rule in RULES)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The check command with `modelfleet.preview.preview_stacks` stubbed to a fixture plan."""
    import typer

    from modelfleet.cli.check import check_command

    calls: list[tuple[Path, list[str] | None]] = []
    tags = {"owner": "nlp-team", "cost-center": "ml-platform"}
    good = [
        {
            "type": "aws:ecr/repository:Repository",
            "name": "repo",
            "options": {"protect": True},
            "props": {
                "name": "llama",
                "imageScanningConfiguration": {"scanOnPush": True},
                "imageTagMutability": "IMMUTABLE",
                "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn:aws:kms:k"}],
                "tags": tags,
            },
        },
        {"type": "aws:ecr/lifecyclePolicy:LifecyclePolicy", "name": "lifecycle", "props": {"repository": "llama"}},
    ]
    bad = [{"type": "aws:ecr/repository:Repository", "name": "repo", "props": {"tags": tags}}]

    def preview_stacks(project_dir: Path, stacks: list[str] | None) -> list[ResourcePlan]:
        calls.append((project_dir, stacks))
        resources = bad if stacks and "bad" in stacks[0] else good
        return [plan_from(stacks[0] if stacks else "all", "prod", resources)]

    monkeypatch.setitem(sys.modules, "modelfleet.preview", types.SimpleNamespace(preview_stacks=preview_stacks))
    (tmp_path / "policies" / "config").mkdir(parents=True)
    # a project the CLI recognises (its files are never read: preview is stubbed)
    (tmp_path / "Pulumi.yaml").write_text("name: modelfleet\nruntime: python\nstackConfigDir: stacks\n")
    for folder, name in (("stacks", "Pulumi.bad-dev.yaml"), ("stacks", "Pulumi.good-dev.yaml"), ("model_specs", "m.yaml")):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_text("{}\n")
    app = typer.Typer()
    app.command()(check_command)
    return app, calls, tmp_path


def test_cli_exits_one_on_mandatory_violation(cli) -> None:
    app, calls, project = cli
    result = CliRunner().invoke(app, ["--stack", "bad-dev", "--format", "json", "--project-dir", str(project)])
    assert result.exit_code == 1, result.output
    assert calls == [(project, ["bad-dev"])]
    assert "MF-ECR-001" in {v["rule"] for v in json.loads(result.output)["violations"]}


def test_cli_exits_zero_without_mandatory_violations(cli) -> None:
    app, _, project = cli
    result = CliRunner().invoke(app, ["--stack", "good-dev", "--format", "github", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    assert "::error" not in result.output and "::warning" not in result.output


def test_cli_list_rules(cli) -> None:
    app, calls, project = cli
    result = CliRunner().invoke(app, ["--list-rules", "--format", "json", "--project-dir", str(project)])
    assert result.exit_code == 0 and calls == []
    assert len(json.loads(result.output)) >= 30


def test_table_output_keeps_bracketed_text() -> None:
    from rich.console import Console

    console = Console(record=True, width=200)
    report = CheckReport(
        1,
        [Violation("MF-K8S-005", "mandatory", "prod", "srv", "To fix: set drop: [ALL].")],
        rules=[("MF-K8S-005", "mandatory")],
        stacks=["prod"],
    )
    assert report.render("table", console) is None
    text = console.export_text()
    assert "drop: [ALL]." in text and "1 violation(s)" in text
