"""`modelfleet new MODEL`: scaffold `model_specs/MODEL.yaml`, commented from the schema, from a
few questions (stdin a terminal) or flags (otherwise nothing is asked).

The file is written only if the project then passes the same validation `validate` runs
(specs, stacks, placement on every stack that selects the model); otherwise it is removed
again and the problems are reported. Production stacks that select the model get the
replica floor their policy pack enforces as an `environments:` override.
Exit codes: 0 written (or shown with --dry-run); 2 invalid name or answer (the flag named),
a missing answer without a terminal, a file that exists, or a project the spec would not
validate in; 3 model_specs/ not writable.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from modelfleet.cli.common import ProjectDir, diagnostic_line, fail, out, project_root, say
from modelfleet.errors import EnvironmentError_, ModelfleetError, Problem, SpecError

# flag → spec field it answers
FLAGS = {
    "--owner": "owner", "--model-version": "version", "--description": "description",
    "--uri": "model.uri", "--framework": "model.framework", "--size-gib": "model.size_gib",
    "--runtime": "serving.runtime", "--image": "serving.image",
    "--accelerator": "resources.accelerator", "--cpu": "resources.cpu", "--memory-gib": "resources.memory_gib",
    "--metric": "autoscaling.metric", "--target": "autoscaling.target",
    "--min-replicas": "autoscaling.min_replicas", "--max-replicas": "autoscaling.max_replicas",
}
# valid values for the other required fields of the model a flag's field belongs to
_PLACEHOLDERS: dict[str, dict[str, Any]] = {"model": {"uri": "s3://bucket/prefix/", "framework": "onnx"},
                                            "serving": {"runtime": "vllm"}, "resources": {}, "autoscaling": {"max_replicas": 1000}}


def _opt(flag: str, metavar: str, help: str, short: str | None = None) -> Any:
    names = [flag, short] if short else [flag]
    return typer.Option(*names, metavar=metavar, show_default=False, help=help)


def new_command(
    name: Annotated[str, typer.Argument(metavar="MODEL", help="Model name: lowercase letters, digits and '-' (the file is model_specs/MODEL.yaml).")],
    owner: Annotated[str | None, _opt("--owner", "TEAM", "Owning team, e.g. nlp-team (required).")] = None,
    uri: Annotated[str | None, _opt("--uri", "URI", "Where the weights live: s3:// az:// gs:// hf:// oci:// pvc:// models:/ file:// (required).")] = None,
    runtime: Annotated[str | None, _opt("--runtime", "RUNTIME", "vllm, tgi, triton, torchserve, tfserving or custom (required).", "-r")] = None,
    framework: Annotated[str | None, _opt("--framework", "FRAMEWORK", "huggingface, pytorch, tensorflow, onnx, sklearn or xgboost "
                                                                      "(default: the runtime's, for vllm, tgi, torchserve, tfserving).")] = None,
    image: Annotated[str | None, _opt("--image", "IMAGE", "Server image (required with --runtime custom).")] = None,
    accelerator: Annotated[str | None, _opt("--accelerator", "ACCEL", "GPU per replica in the catalog's vocabulary: NAME[:COUNT] "
                                                                      "(A10G:1) or '{min_memory_gib: N, count: C}', or none (default).", "-a")] = None,
    metric: Annotated[str | None, _opt("--metric", "METRIC", "Autoscaling signal: concurrency (default), rps, gpu_utilization, "
                                                             "cpu_utilization or queue_depth.", "-m")] = None,
    target: Annotated[float | None, _opt("--target", "N", "Metric target per replica (default 8; 60 % for utilization metrics).")] = None,
    min_replicas: Annotated[int | None, _opt("--min-replicas", "N", "Replicas kept running (default 1; production stacks get "
                                                                    "their policy's floor as an override).")] = None,
    max_replicas: Annotated[int | None, _opt("--max-replicas", "N", "Upper bound the autoscaler may reach (default 2).")] = None,
    cpu: Annotated[float | None, _opt("--cpu", "N", "vCPUs per replica.")] = None,
    memory_gib: Annotated[float | None, _opt("--memory-gib", "GIB", "Memory per replica in GiB.")] = None,
    size_gib: Annotated[float | None, _opt("--size-gib", "GIB", "Artifact size in GiB.")] = None,
    model_version: Annotated[str, _opt("--model-version", "VERSION", "Model version (default 0.1.0).")] = "0.1.0",
    description: Annotated[str, _opt("--description", "TEXT", "What the model does.")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and print the spec without writing it.")] = False,
    project_dir: ProjectDir = None,
) -> None:
    """Scaffold a valid, commented model spec from a few questions or flags."""
    from modelfleet import scaffold

    try:
        root = project_root(project_dir)
        target_file = _target(root, name)
        given = {"--owner": owner, "--uri": uri, "--runtime": runtime, "--framework": framework, "--image": image,
                 "--accelerator": accelerator, "--metric": metric, "--target": target, "--min-replicas": min_replicas,
                 "--max-replicas": max_replicas, "--cpu": cpu, "--memory-gib": memory_gib, "--size-gib": size_gib,
                 "--model-version": model_version, "--description": description}
        answers = _answers(name, given, interactive=_interactive())
        joins = scaffold.joining(root, name)
        answers = _with_floors(answers, scaffold.production_minimums(root, joins))
        text = scaffold.render(answers, joins)
        summary = _write_validated(root, target_file, text, keep=not dry_run)
    except ModelfleetError as e:
        raise fail(e) from e
    if dry_run:
        out(text)
    verb = "would write" if dry_run else "wrote"
    say(("ok", "green"), f" {verb} {target_file.relative_to(root)}: valid with {summary['specs']} specs and {summary['stacks']} stacks")
    for w in summary["warnings"]:
        if w.get("model") == name:
            say(("warning", "yellow"), " ", diagnostic_line(w["stack"], w["model"], w["field"], w["message"]))
    if joins:
        say(f"joins {len(joins)} stack(s): " + ", ".join(f"{s.stack} ({s.environment})" for s in joins))
        say(f"next: modelfleet preview --stack {joins[0].stack}   (and `modelfleet explain FIELD` for any field)")
    else:
        say(("note", "yellow"), f" no stack selects {name!r} yet: add it (or a glob matching it) to a stack's modelfleet:models")


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _target(root: Path, name: str) -> Path:
    from modelfleet.project import SPECS_DIR
    from modelfleet.scaffold import name_problem

    problem = name_problem(name)
    if problem:
        message, allowed, fix = problem
        raise SpecError([Problem("modelfleet new", message, field="MODEL", value=name, allowed=allowed, fix=fix)])
    directory = root / SPECS_DIR
    for existing in (directory / f"{name}.yaml", directory / f"{name}.yml"):
        if existing.exists():
            raise SpecError([Problem(str(existing), f"a spec for {name!r} already exists", field="MODEL", value=name,
                                     fix="edit that file (`modelfleet explain FIELD` describes each field), or pick another name")])
    return directory / f"{name}.yaml"


def check_answer(flag: str, value: Any) -> Problem | None:
    """The schema's verdict on one answer, naming the flag (None when valid)."""
    from pydantic import BaseModel, TypeAdapter, ValidationError

    from modelfleet.explain import explain
    from modelfleet.spec import ModelSpec
    from modelfleet.validation import problems_from
    from modelfleet.yamlmarks import load_yaml

    path = FLAGS[flag]
    section, _, field = path.rpartition(".")
    model: type[BaseModel] = ModelSpec
    try:
        if not section:
            TypeAdapter(ModelSpec.model_fields[field].rebuild_annotation()).validate_python(value)
            return None
        found = ModelSpec.model_fields[section].annotation
        assert isinstance(found, type) and issubclass(found, BaseModel)
        model = found
        model.model_validate({**_PLACEHOLDERS[section], field: value})
    except ValidationError as e:
        _, marks = load_yaml("{}", "modelfleet new")
        # the same wording `validate` uses; a rule across fields is left to the whole spec's validation
        problems = [p for p in problems_from(e, model, "modelfleet new", marks)
                    if not section or p.field == field or p.field.startswith(f"{field}.")]
        if not problems:
            return None
        p = problems[0]
        return Problem("modelfleet new", f"{p.message} (spec field {path})", field=flag, value=value,
                       allowed=p.allowed or ", ".join(map(str, explain(path).allowed)),
                       fix=p.fix or f"see `modelfleet explain {path}`")
    return None


def _parse(flag: str, value: Any) -> Any:
    """Flag text → the value the spec holds (an accelerator mapping is YAML flow)."""
    if flag == "--accelerator" and isinstance(value, str) and value.strip().startswith("{"):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise SpecError([Problem("modelfleet new", "the accelerator mapping is not valid YAML", field=flag, value=value,
                                     allowed="NAME[:COUNT], '{min_memory_gib: N, count: C}' or none",
                                     fix="write e.g. --accelerator '{min_memory_gib: 24, count: 1}'")]) from e
    return value


QUESTIONS = ("--owner", "--uri", "--runtime", "--framework", "--image", "--accelerator", "--metric")


def _answers(name: str, given: dict[str, Any], *, interactive: bool) -> Any:
    from modelfleet.explain import explain
    from modelfleet.scaffold import Answers, default_framework

    values = {flag: _parse(flag, v) for flag, v in given.items()}
    problems = [p for flag, v in values.items() if v is not None and (p := check_answer(flag, v))]
    if problems:
        raise SpecError(problems)

    def needed(flag: str) -> bool:
        if flag == "--framework":
            return default_framework(values["--runtime"] or "") is None
        if flag == "--image":
            return values["--runtime"] == "custom"
        return flag in ("--owner", "--uri", "--runtime")

    def default_of(flag: str) -> Any:
        return {"--framework": default_framework(values["--runtime"] or ""), "--accelerator": "none",
                "--metric": explain("autoscaling.metric").default}.get(flag)

    missing = []
    for flag in QUESTIONS:
        if values[flag] is not None:
            continue
        if interactive and (needed(flag) or flag in ("--framework", "--accelerator", "--metric")):
            values[flag] = _ask(flag, default_of(flag))
        elif needed(flag):
            doc = explain(FLAGS[flag])
            missing.append(Problem("modelfleet new", f"no answer for {FLAGS[flag]} ({doc.description.rstrip('.')}); stdin is not "
                                   "a terminal, so nothing is asked", field=flag, allowed=", ".join(map(str, doc.allowed)),
                                   fix=f"pass {flag}, or run `modelfleet new {name}` in a terminal to be asked"))
        else:
            values[flag] = default_of(flag)
    if missing:
        raise SpecError(missing)
    metric = values["--metric"] or "concurrency"
    floor = values["--min-replicas"] if values["--min-replicas"] is not None else 1
    return Answers(name=name, owner=values["--owner"], uri=values["--uri"], framework=values["--framework"],
                   runtime=values["--runtime"], version=values["--model-version"], description=values["--description"],
                   image=values["--image"], size_gib=values["--size-gib"], accelerator=values["--accelerator"],
                   cpu=values["--cpu"], memory_gib=values["--memory-gib"], metric=metric, target=values["--target"],
                   min_replicas=floor, max_replicas=values["--max-replicas"] if values["--max-replicas"] is not None else max(floor, 2))


def _ask(flag: str, default: Any) -> Any:
    """One question, asked again until the schema accepts the answer."""
    from modelfleet.explain import explain

    doc = explain(FLAGS[flag])
    choices = f" [{'/'.join(map(str, doc.allowed))}]" if doc.allowed else ""
    while True:
        say((FLAGS[flag], "cyan"), f": {doc.description}", stderr=True)
        answer = _parse(flag, typer.prompt(f"{flag.removeprefix('--')}{choices}", default=default, err=True,
                                           show_default=default is not None))
        problem = check_answer(flag, answer)
        if problem is None:
            return answer
        say(("error:", "red"), " ", problem.render(), stderr=True)


def _with_floors(answers: Any, floors: dict[str, tuple[int, list[str]]]) -> Any:
    from dataclasses import replace

    overrides = {}
    for env, (need, stacks) in floors.items():
        if answers.min_replicas < need:
            overrides[env] = ({"autoscaling": {"min_replicas": need, "max_replicas": max(need, answers.max_replicas)}},
                              f"{env}: production stacks ({', '.join(stacks)}) need at least {need} replicas (policy MF-GPU-008).")
    return replace(answers, overrides=overrides) if overrides else answers


def _write_validated(root: Path, path: Path, text: str, *, keep: bool) -> dict[str, Any]:
    """Write the spec, run `validate`'s checks over the project, and remove the file again unless it is valid and kept."""
    from modelfleet.environment import stack_layout
    from modelfleet.project import STACKS_DIR
    from modelfleet.spec import parse_spec
    from modelfleet.validate import validate_paths

    try:
        parse_spec(text, str(path))  # the spec alone first: its problems are the ones to show
    except ModelfleetError as e:
        raise _nothing_written(e, path) from e
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError as e:
        raise SpecError([Problem(str(path), "the file appeared while the spec was being prepared", field="MODEL",
                                 fix="edit that file, or pick another name")]) from e
    except OSError as e:
        raise EnvironmentError_(f"cannot write {path}: {e.strerror or e}. To fix: make {path.parent} writable") from e
    valid = False
    try:
        stacks, _ = stack_layout(root / STACKS_DIR, required=False)
        summary = validate_paths(root, [] if stacks else [path])
        valid = True
        return summary
    except ModelfleetError as e:
        raise _nothing_written(e, path) from e
    finally:
        if not (valid and keep):
            with contextlib.suppress(OSError):
                path.unlink()


def _nothing_written(e: ModelfleetError, path: Path) -> ModelfleetError:
    why = f"nothing written: {path.name} would not validate"
    if isinstance(e, SpecError):
        return SpecError([*e.problems, Problem(str(path), why, fix="change the answers (flags) named above, or first fix "
                                                                   "the problems the project already has")])
    return type(e)(f"{e}\n{why}. To fix: change the answers (flags), or first fix the problems the project already has")
