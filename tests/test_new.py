"""`modelfleet new MODEL`: a spec that is valid at once (validate passes, a stack it joins
previews, production stacks get their policy's replica floor), commented from the schema
(never a second copy of the descriptions), and nothing written on any refusal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from unittest import mock

import pytest
import yaml
from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.explain import explain

RUNNER = CliRunner()
FLAGS = ["--owner", "nlp-team", "--uri", "hf://mistralai/Mistral-7B-Instruct-v0.3", "--runtime", "vllm",
         "--accelerator", "{min_memory_gib: 24, count: 1}", "--metric", "concurrency"]


def run(project: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, [*args, "-C", str(project)], input=input)
    return result.exit_code, result.stdout, result.stderr


def _comments(text: str) -> dict[str, str]:
    """key path → the comment block right above it (unwrapped)."""
    found: dict[str, str] = {}
    block: list[str] = []
    parents: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped.lstrip("# "))
            continue
        match = re.match(r"^( *)([a-z_]+):", line)
        if match and block:
            depth = len(match.group(1)) // 2
            parents = [*parents[:depth], match.group(2)]
            found[".".join(parents)] = " ".join(block)
        block = []
    return found


def test_flags_write_a_spec_that_validates_previews_and_meets_the_prod_floor(project: Path) -> None:
    code, out, err = run(project, "new", "mistral-7b", *FLAGS)
    assert code == 0, err
    path = project / "model_specs" / "mistral-7b.yaml"
    spec = yaml.safe_load(path.read_text())
    assert spec["serving"]["runtime"] == "vllm" and spec["model"]["framework"] == "huggingface"
    assert spec["resources"]["accelerator"] == {"min_memory_gib": 24, "count": 1}
    # eks-prod/aks-prod select "*": production runs the policy pack's floor (MF-GPU-008, min_replicas 2)
    assert spec["environments"]["prod"]["autoscaling"]["min_replicas"] == 2
    assert "joins 3 stack(s): aks-prod (prod), eks-prod (prod), lab-kserve (prod)" in out

    code, out, err = run(project, "validate")
    assert code == 0 and out.startswith("ok 5 specs"), err
    code, out, err = run(project, "preview", "--stack", "lab-kserve", "--format", "json")
    assert code == 0, err
    names = {r["name"] for r in json.loads(out)["stacks"][0]["resources"]}
    assert any(n.startswith("mistral-7b") for n in names), sorted(names)


def test_comments_are_the_schema_descriptions(project: Path) -> None:
    code, _, err = run(project, "new", "mistral-7b", *FLAGS, "--cpu", "4", "--memory-gib", "32", "--size-gib", "15")
    assert code == 0, err
    comments = _comments((project / "model_specs" / "mistral-7b.yaml").read_text())
    for path in ("name", "version", "owner", "model", "model.uri", "model.framework", "model.size_gib", "serving.runtime",
                 "resources.accelerator", "resources.cpu", "resources.memory_gib", "autoscaling.min_replicas",
                 "autoscaling.metric", "autoscaling.target", "environments"):
        assert comments[path].startswith(explain(path).description), path
    assert "Allowed: concurrency, rps, gpu_utilization, cpu_utilization, queue_depth." in comments["autoscaling.metric"]


def test_dry_run_prints_the_spec_and_writes_nothing(project: Path) -> None:
    code, out, err = run(project, "new", "mistral-7b", *FLAGS, "--dry-run")
    assert code == 0, err
    assert yaml.safe_load(out.split("\nok would write")[0])["name"] == "mistral-7b"
    assert not (project / "model_specs" / "mistral-7b.yaml").exists()


def test_existing_file_is_refused_and_left_alone(project: Path) -> None:
    path = project / "model_specs" / "fraud-xgb.yaml"
    before = path.read_text()
    code, out, err = run(project, "new", "fraud-xgb", *FLAGS)
    assert code == 2 and not out
    assert f"{path}: MODEL: a spec for 'fraud-xgb' already exists" in err
    assert path.read_text() == before


@pytest.mark.parametrize("name", ["Bad_Name", "kube-system", "x" * 41])
def test_invalid_name_is_exit_2_naming_the_argument(project: Path, name: str) -> None:
    code, _, err = run(project, "new", name, *FLAGS)
    assert code == 2 and "MODEL:" in err and "To fix:" in err
    assert sorted(p.name for p in (project / "model_specs").glob("*.yaml")) == sorted(
        p.name for p in (Path(__file__).parent.parent / "model_specs").glob("*.yaml"))


def test_without_a_terminal_missing_answers_name_their_flags(project: Path) -> None:
    code, out, err = run(project, "new", "seg-model", "--runtime", "triton")
    assert code == 2 and not out
    for flag in ("--owner", "--uri", "--framework"):  # triton serves several frameworks: no default
        assert f"modelfleet new: {flag}: no answer for" in err
    assert "--image" not in err
    code, _, err = run(project, "new", "seg-model", "--runtime", "custom", "--owner", "t", "--uri", "s3://b/p/", "--framework", "onnx")
    assert code == 2 and "--image: no answer for serving.image" in err
    assert not (project / "model_specs" / "seg-model.yaml").exists()


@pytest.mark.parametrize(("flag", "value", "expected"), [
    ("--accelerator", "H100:99", "--accelerator"),
    ("--accelerator", "Z80:1", "unknown accelerator 'Z80'"),
    ("--accelerator", "{min_memory_gib: 24", "not valid YAML"),
    ("--metric", "cpu", "cpu_utilization"),
    ("--runtime", "vllmx", "tfserving"),
    ("--uri", "ftp://x/y", "unsupported model URI"),
])
def test_bad_answer_is_exit_2_naming_the_flag(project: Path, flag: str, value: str, expected: str) -> None:
    args = list(FLAGS)
    args[args.index(flag) + 1] = value
    code, _, err = run(project, "new", "mistral-7b", *args)
    assert code == 2 and f"modelfleet new: {flag}:" in err and expected in err, err
    assert not (project / "model_specs" / "mistral-7b.yaml").exists()


def test_a_spec_a_joined_stack_cannot_place_is_not_written(project: Path) -> None:
    args = list(FLAGS)
    args[args.index("--accelerator") + 1] = "L4:1"  # not sold on Azure: aks-prod selects "*"
    code, _, err = run(project, "new", "mistral-7b", *args)
    assert code == 2 and "aks-prod" in err and "L4" in err and "nothing written" in err
    assert not (project / "model_specs" / "mistral-7b.yaml").exists()


def test_interactive_questions_reask_until_the_schema_accepts(project: Path) -> None:
    answers = "nlp-team\nhf://org/chat\nvllmx\nvllm\n\nH100:99\n{min_memory_gib: 24}\n\n"
    with mock.patch("modelfleet.cli.new._interactive", return_value=True):
        code, _, err = run(project, "new", "chat-x", input=answers)
    assert code == 0, err
    assert "serving.runtime: Serving engine" in err and "--runtime:" in err and "--accelerator:" in err
    spec = yaml.safe_load((project / "model_specs" / "chat-x.yaml").read_text())
    assert spec["serving"]["runtime"] == "vllm" and spec["model"]["framework"] == "huggingface"
    assert spec["resources"]["accelerator"] == {"min_memory_gib": 24} and spec["autoscaling"]["metric"] == "concurrency"


def test_a_version_yaml_would_misread_is_quoted(project: Path) -> None:
    code, _, err = run(project, "new", "mistral-7b", *FLAGS, "--model-version", "1.10", "--description", "chat: v1 # fast")
    assert code == 0, err
    spec = yaml.safe_load((project / "model_specs" / "mistral-7b.yaml").read_text())
    assert spec["version"] == "1.10" and spec["description"] == "chat: v1 # fast"
