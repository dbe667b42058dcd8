"""The CLI a newcomer meets: help everywhere, the project found from anywhere inside it and
never an empty success outside it, errors in the format asked for, output never cropped,
user values printed as written, exit codes that mean one thing, and no traceback ever."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from modelfleet.cli import app

ROOT = Path(__file__).resolve().parent.parent
RUNNER = CliRunner()
PYTHON_TYPES = re.compile(r"<(list\[\w+\]|bool|str|int|path)>")


def _commands(command: object = None, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    command = command or typer.main.get_command(app)
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def cli_process(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, **kw: object) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "modelfleet.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300, **kw)  # type: ignore[call-overload]


# --- help, version, completion, metavars ------------------------------------------------------

@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "modelfleet")
def test_every_help_works_and_shows_no_python_types(path: tuple[str, ...]) -> None:
    for flag in ("--help", "-h"):
        code, out, err = run(*path, flag)
        assert code == 0, err
        assert "Usage: modelfleet" in out
        assert not PYTHON_TYPES.search(out), f"Python type as metavar in `{' '.join(path)} --help`:\n{out}"


def test_build_help_shows_the_registry_form_literally() -> None:
    code, out, _ = run("build", "--help")
    assert code == 0 and "HOST[:PORT][/PATH]" in out


def test_usage_error_points_to_a_help_that_works() -> None:
    code, _, err = run("build")
    assert code == 2 and "modelfleet build -h" in err or "modelfleet build --help" in err


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and re.fullmatch(r"modelfleet \S+\n", out)


def test_shell_completion_completes_commands() -> None:
    done = subprocess.run([sys.executable, "-c", "from modelfleet.cli import main; main()"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "_MODELFLEET_COMPLETE": "complete_bash",
                                          "COMP_WORDS": "modelfleet pre", "COMP_CWORD": "1"})
    assert "preview" in done.stdout, done.stderr


# --- the project ---------------------------------------------------------------------------------

def test_a_subdirectory_finds_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "model_specs")
    code, out, err = run("validate", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["specs"] == len(list((ROOT / "model_specs").glob("*.yaml"))) and doc["stacks"] >= 1


@pytest.mark.parametrize("command", [["validate"], ["check"], ["cost"], ["preview", "-f", "json"], ["render", "-s", "lab-dev", "-o", "out"]])
def test_outside_a_project_is_exit_2_never_an_empty_success(command: list[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(*command)
    assert code == 2
    assert "no Pulumi.yaml" in out + err and "--project-dir" in out + err


@pytest.mark.parametrize("missing", ["model_specs", "stacks"])
def test_a_project_without_specs_or_stacks_is_exit_2(missing: str, project: Path) -> None:
    shutil.rmtree(project / missing)
    for command in (["validate"], ["cost"], ["check"]):
        code, out, err = run(*command, "--project-dir", str(project))
        assert code == 2 and missing in err, (command, out, err)


def test_cwd_is_an_alias_and_walks_up(project: Path) -> None:
    code, out, err = run("validate", "-f", "json", "--cwd", str(project / "model_specs"))
    assert code == 0 and json.loads(out)["ok"], err


# --- stack names ---------------------------------------------------------------------------------

def test_mistyped_stack_suggests_the_closest() -> None:
    code, _, err = run("preview", "--stack", "lab-dve")
    assert code == 2
    assert "did you mean 'lab-dev'" in err and "Pulumi.lab-dve" not in err


def test_comma_separated_stacks() -> None:
    code, out, err = run("cost", "--stack", "lab-dev,lab-kserve", "-f", "json")
    assert code == 0, err
    assert [s["stack"] for s in json.loads(out)["stacks"]] == ["lab-dev", "lab-kserve"]


# --- JSON errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["validate", "-f", "json"], ["preview", "-f", "json"], ["check", "-f", "json"], ["cost", "-f", "json"],
    ["build", "nope", "--stack", "lab-dev", "-f", "json"],
])
def test_json_mode_errors_are_json_on_stdout(command: list[str], project: Path) -> None:
    (project / "model_specs" / "broken.yaml").write_text("name: broken\nversion: 1\nowner: x\nnot_a_field: 1\n")
    code, out, _ = run(*command, "--project-dir", str(project))
    assert code == 2
    doc = json.loads(out)
    assert doc["ok"] is False and doc["problems"]
    assert {"file", "line", "field", "value", "message", "allowed", "fix"} <= doc["problems"][0].keys()


@pytest.mark.parametrize("command", [["preview", "--stack", "lab-kserve"], ["check", "--stack", "lab-kserve"], ["validate"]])
def test_placement_errors_are_located_in_every_format(command: list[str], project: Path) -> None:
    """A spec that cannot be placed (canary on KServe's Standard mode) is reported at the spec's line
    by every command and format: JSON problems and GitHub annotations carry the file and line."""
    spec = project / "model_specs" / "fraud-xgb.yaml"
    text = spec.read_text()
    assert "  strategy: rolling\n" in text and "metric: cpu_utilization" in text
    spec.write_text(text.replace("  strategy: rolling\n", "  strategy: canary\n"))
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if t == "  strategy: canary")
    code, out, _ = run(*command, "-f", "json", "--project-dir", str(project))
    assert code == 2
    [problem, *_] = json.loads(out)["problems"]
    assert (problem["file"], problem["line"], problem["field"]) == (str(spec), line, "rollout.strategy")
    assert problem["message"].startswith("fraud-xgb on stack ") and problem["fix"].startswith("scale on concurrency")
    code, out, err = run(*command, "--project-dir", str(project))
    assert code == 2 and f"{spec}:{line}: rollout.strategy: fraud-xgb on stack " in err
    if command == ["validate"]:
        code, out, _ = run("validate", "-f", "github", "--project-dir", str(project))
        assert code == 2 and f"::error file={spec},line={line},title=rollout.strategy::" in out


def test_catalog_json_error_is_json() -> None:
    code, out, _ = run("catalog", "--accelerator", "B9000", "-f", "json")
    assert code == 2 and json.loads(out)["ok"] is False


# --- output --------------------------------------------------------------------------------------

def test_piped_output_is_never_cropped_or_squeezed() -> None:
    code, out, _ = run("preview", "--stack", "lab-dev")
    assert code == 0
    # a long diagnostic reaches its last words on one line
    assert any(line.rstrip().endswith("To keep the promise use serving: kserve") for line in out.splitlines())
    code, out, _ = run("check", "--stack", "lab-dev")
    messages = json.loads(run("check", "--stack", "lab-dev", "-f", "json")[1])["violations"]
    for v in messages:
        assert v["message"] in out  # whole, on one line, not folded into a 16-character column


def test_model_less_warnings_have_no_empty_segment() -> None:
    code, out, _ = run("validate")
    assert code == 0
    assert ": :" not in out


@pytest.mark.parametrize("command", [["validate"], ["preview"], ["check"], ["cost"], ["render", "-s", "lab-dev", "-o", "out"]])
def test_user_values_are_never_markup_or_emoji(command: list[str], project: Path) -> None:
    spec = project / "model_specs" / "fraud-xgb.yaml"
    spec.write_text(spec.read_text().replace("name: fraud-xgb", 'name: "[/oops] :x: [bold]"', 1))
    code, out, err = run(*command, "--project-dir", str(project))
    assert code == 2, out + err
    assert "[/oops] :x: [bold]" in err and "❌" not in err and "Traceback" not in err


# --- exit codes and the environment ------------------------------------------------------------

def test_a_closed_pipe_keeps_the_commands_exit_code() -> None:
    """`modelfleet cost | head -1`: the reader leaves early; the exit code stays the verdict's."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen([sys.executable, "-m", "modelfleet.cli", "cost", "--stack", "lab-dev"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # closed before the first write: every write meets EPIPE
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=300) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_c_locale_gets_ascii_fallbacks() -> None:
    done = cli_process("cost", "--stack", "lab-dev", env={"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.isascii() and done.stderr == ""
    assert "730-1460 pod-hours" in done.stdout  # '–' became '-'


def test_missing_cloud_extras_on_prem_works_and_a_cloud_stack_names_its_extra(tmp_path: Path) -> None:
    """A base install (no aws/azure extras), simulated by hiding the cloud SDKs from imports."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "HIDDEN = ('pulumi_aws', 'pulumi_azure_native', 'boto3', 'botocore', 'sagemaker')\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in HIDDEN:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n")
    env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    onprem = cli_process("preview", "--stack", "lab-dev,lab-kserve", "-f", "json", env=env)
    assert onprem.returncode == 0, onprem.stderr
    assert {s["stack"] for s in json.loads(onprem.stdout)["stacks"]} == {"lab-dev", "lab-kserve"}
    for stack, extra in (("aks-prod", "azure"), ("eks-dev", "aws"), ("sagemaker-prod", "aws"), ("azureml-prod", "azure")):
        for command in ("preview", "validate"):
            cloud = cli_process(command, "--stack", stack, env=env) if command == "preview" else \
                cli_process(command, str(ROOT / "stacks" / f"Pulumi.{stack}.yaml"), env=env)
            assert cloud.returncode in (0, 3), cloud.stderr  # validate may need no cloud SDK at all
            assert "unexpected" not in cloud.stderr and "Traceback" not in cloud.stderr
            if cloud.returncode == 3:
                assert f"pip install 'modelfleet[{extra}]'" in cloud.stderr
            else:
                assert command == "validate", f"preview of {stack} ran without its SDK"
    whole = cli_process("validate", env=env)  # every stack: the first one needing an extra names it
    assert whole.returncode == 3 and "pip install 'modelfleet[" in whole.stderr, whole.stderr


def test_unexpected_errors_are_one_line_exit_1_and_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch,
                                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import modelfleet.cli as cli
    import modelfleet.preview

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom\nsecond line")

    monkeypatch.setattr(modelfleet.preview, "preview_stacks", boom)
    for argv, traceback_shown in ((["preview"], False), (["preview", "--debug"], True)):
        monkeypatch.setattr(sys, "argv", ["modelfleet", *argv, "--project-dir", str(ROOT)])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
        err = capsys.readouterr().err
        assert exit_.value.code == 1
        assert ("Traceback" in err) is traceback_shown
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: unexpected RuntimeError: kaboom.") and "second line" not in last
        assert traceback_shown or "re-run with --debug" in last


def test_unwritable_outputs_are_exit_3_naming_the_path(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = project / "not-a-dir"
    blocker.write_text("a file where a directory should be\n")
    code, _, err = run("render", "-s", "lab-dev", "-o", str(blocker / "out"), "--project-dir", str(project))
    assert code == 3 and str(blocker) in err and "To fix" in err

    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "write_text", read_only)  # a read-only checkout (root ignores file modes)
    code, _, err = run("schema", "--project-dir", str(project))
    assert code == 3 and str(project / "model_specs" / "schema.json") in err
    code, _, err = run("render", "-s", "lab-dev", "-o", str(project / "deploy"), "--project-dir", str(project))
    assert code == 3 and "deploy" in err and "Read-only" in err


def test_render_over_a_directory_holding_non_utf8_files(project: Path) -> None:
    out = project / "deploy"
    assert run("render", "-s", "lab-dev", "-o", str(out), "--project-dir", str(project))[0] == 0
    (out / "stray.yaml").write_bytes(b"\xff\xfe binary \x00")
    code, _, err = run("render", "-s", "lab-dev", "-o", str(out), "--project-dir", str(project))
    assert code == 0, err
    assert (out / "stray.yaml").exists()  # not ours: left alone


def test_no_event_loop_is_left_open_after_a_preview() -> None:
    """Pulumi's mock monitor leaves a loop per worker thread; left to the collector at exit one
    can print "ValueError: Invalid file descriptor: -1". The CLI closes them at exit."""
    script = ("import asyncio, gc, sys\n"
              "from modelfleet.preview import close_event_loops, preview_stack\n"
              f"preview_stack(__import__('pathlib').Path({str(ROOT)!r}), 'lab-dev')\n"
              "loops = lambda: [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()]\n"
              "assert loops(), 'expected the mock monitor to leave loops open'\n"
              "close_event_loops()\n"
              "assert not loops(), loops()\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_readme_lists_every_command_with_its_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {line.split("`")[1]: line for line in readme.splitlines() if line.startswith("| `modelfleet ")}
    for path in _commands():
        if not path:
            continue
        name = "modelfleet " + " ".join(path)
        row = next((line for usage, line in rows.items() if usage == name or usage.startswith(name + " ")), None)
        assert row is not None, f"README's command table misses `{name}`"
        assert re.search(r"\| 0( ok)?[;,]", row), row


def test_quick_start_is_two_commands_and_ci_runs_the_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)\n```", quick, flags=re.S)
    assert len(blocks) == 2 and all("\n" not in b for b in blocks), blocks
    install, test = blocks
    assert install.endswith("modelfleet preview") and "dev" not in install, "preview needs no test tools"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test in ci, ".ci/run must run the README's test command"
    assert "bench" not in quick, "benchmarks are not part of the quick start"


def test_catalog_speaks_the_spec_vocabulary() -> None:
    code, out, _ = run("catalog", "--accelerator", "A10G:4", "--platform", "eks", "-f", "json")
    offers = json.loads(out)["offers"]
    assert code == 0 and offers and all(o["accelerator"] == "A10G" and o["gpu_count"] >= 4 and o["platform"] == "ec2" for o in offers)
    code, out, _ = run("catalog", "--accelerator", "{min_memory_gib: 40}", "--platform", "sagemaker", "-f", "json")
    offers = json.loads(out)["offers"]
    assert code == 0 and offers and all(o["gpu_memory_gib"] >= 40 for o in offers)
    code, out, _ = run("catalog", "--platform", "aks", "--limit", "1", "-f", "json")
    assert code == 0 and json.loads(out)["offers"][0]["platform"] == "azure"


def test_catalog_unknown_region_is_exit_2_with_the_known_ones() -> None:
    code, out, _ = run("catalog", "--region", "us-moon-1", "-f", "json")
    problem = json.loads(out)["problems"][0]
    assert code == 2 and "us-moon-1" in problem["message"] and "us-east-1" in problem["message"]
