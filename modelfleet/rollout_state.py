"""`modelfleet promote` / `abort`: end a rollout by editing the stack file, so the change is reviewed.

Contract:
- `prepare(project_dir, model, stack, action)` → `Edit` (path, old text, new text, unified diff,
  summary) without writing; `Edit.write()` writes it. Only the model's entry under
  `modelfleet:stable` changes: the file is edited with ruamel.yaml round-trip (comments, order,
  flow/block style and quoting kept), and an edit that would touch any other byte is refused.
- promote: the spec's version (for the stack's environment) becomes `modelfleet:stable.<model>`.
  On a first deploy (no entry yet) it records the deployed version, so the next version change
  is a rollout. A version already stable is not a rollout in progress (exit 2).
- abort: `modelfleet:stable.<model>` becomes `{version: <stable>, aborted: <spec version>}`: all
  traffic back to the stable version, the new one kept at 0 % until the spec's version changes.
  Refused without a rollout in progress, for an already aborted version, and for `rolling`
  (there is no second slot to send traffic back to).
- Refused with exit 2 (nothing written): unknown stack or model, a model the stack does not
  select, an invalid stack or spec (including a `modelfleet:stable` entry that does not parse),
  a stack file with uncommitted changes (the diff would mix them with this one). Git missing is
  not an error here: outside a repository there is nothing to be dirty.
"""

from __future__ import annotations

import difflib
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from modelfleet.environment import NAMESPACE, find_stack, load_stack_file
from modelfleet.errors import ModelfleetError, Problem, SpecError
from modelfleet.spec import SpecFile, load_specs, spec_paths

Action = Literal["promote", "abort"]
STABLE_KEY = f"{NAMESPACE}:stable"
# indentation layouts tried until one reproduces the file byte for byte (mapping, sequence, offset)
LAYOUTS = ((2, 4, 2), (2, 2, 0), (4, 6, 4), (4, 4, 0), (2, 4, 0))


class RolloutStateError(ModelfleetError):
    """promote/abort refused (exit 2); the message says why and how to fix it."""


@dataclass(frozen=True)
class Edit:
    path: Path
    before: str
    after: str
    summary: str

    @property
    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.before.splitlines(True), self.after.splitlines(True),
                                            fromfile=f"a/{self.path.name}", tofile=f"b/{self.path.name}"))

    def write(self) -> None:
        self.path.write_text(self.after, encoding="utf-8")


def _spec_named(project_dir: Path, model: str) -> SpecFile:
    specs = load_specs(spec_paths(project_dir / "model_specs"))
    for spec in specs:
        if spec.name == model:
            return spec
    raise SpecError([Problem(str(project_dir / "model_specs"), f"no model named {model!r}", field="MODEL", value=model,
                             allowed=", ".join(s.name for s in specs) or "none",
                             fix="name a model from model_specs/ (its `name:` field)")])


def _dirty(path: Path) -> bool:
    """True when git reports uncommitted changes to the file (False outside a repository)."""
    try:
        result = subprocess.run(["git", "status", "--porcelain", "--", path.name], cwd=path.parent,
                                capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def new_entry(action: Action, stable: str | None, aborted: str | None, version: str, strategy: str,
              where: str, model: str) -> tuple[str | dict[str, str], str]:
    """The entry `action` writes and a one-line summary; RolloutStateError when there is nothing to do."""
    if action == "promote":
        if stable == version:
            raise RolloutStateError(f"{where}: {model} has no rollout in progress: {version} is already the stable version. "
                                    "To fix: change `version` in the spec to roll out a new version, then promote it")
        if stable is None:
            return version, f"recorded {model} {version} as stable (first deploy; the next version change is a rollout)"
        return version, f"promoted {model} {version} (was {stable}); the {stable} slot is removed on the next deploy"
    if stable is None:
        raise RolloutStateError(f"{where}: {model} has no stable version on this stack (first deploy): there is nothing to "
                                "send traffic back to. To fix: leave it out of the stack (modelfleet:models) or revert "
                                "the spec, and promote once a version is live")
    if stable == version:
        raise RolloutStateError(f"{where}: {model} has no rollout in progress: {version} is the stable version. "
                                "To fix: nothing to abort")
    if aborted == version:
        raise RolloutStateError(f"{where}: the rollout of {model} {version} is already aborted; {stable} serves all traffic. "
                                "To fix: change `version` in the spec to roll out a fix, or promote to accept it anyway")
    if strategy == "rolling":
        raise RolloutStateError(f"{where}: {model} rolls out with strategy rolling, which replaces replicas in place: there is "
                                f"no stable slot to send traffic back to. To fix: restore version {stable} in the spec "
                                "(git revert), or use strategy canary or blue_green")
    return {"version": stable, "aborted": version}, (
        f"aborted {model} {version}: {stable} takes all traffic, {version} stays at 0 % until the spec's version changes")


def prepare(project_dir: Path, model: str, stack_name: str, action: Action) -> Edit:
    path = find_stack(project_dir / "stacks", stack_name)
    stack = load_stack_file(path)  # validates modelfleet:stable too: a broken entry is a located error
    spec_file = _spec_named(project_dir, model)
    if not stack.selects(model):
        raise RolloutStateError(f"{path}: stack {stack_name!r} does not serve {model} (modelfleet:models is "
                                f"{list(stack.models)}). To fix: pick a stack whose modelfleet:models selects it")
    spec = spec_file.for_environment(stack.environment)
    entry = stack.stable.get(model)
    value, summary = new_entry(action, entry.version if entry else None, entry.aborted if entry else None,
                               spec.version, spec.rollout.strategy, str(path), model)
    if _dirty(path):
        raise RolloutStateError(f"{path} has uncommitted changes: the {action} diff would mix with them. "
                                "To fix: commit or stash them first, then run it again")
    before = path.read_text(encoding="utf-8")
    after = edit_stable(before, str(path), model, value)
    return Edit(path, before, after, summary)


def _yaml(layout: tuple[int, int, int]) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip mode: comments, key order, flow style and quotes survive
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    mapping, sequence, offset = layout
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: Any, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _text(value: str) -> Any:
    """A version written so that a YAML 1.1 reader (PyYAML, which reads stack files) gets the same text back:
    `NO`, `1.10` or `null` are quoted; ruamel's YAML 1.2 resolver alone would leave them plain."""
    import yaml as pyyaml
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    try:
        plain = pyyaml.safe_load(value) == value
    except pyyaml.YAMLError:
        plain = False
    return value if plain else SingleQuotedScalarString(value)


def edit_stable(text: str, file: str, model: str, value: str | dict[str, str]) -> str:
    """`text` with `modelfleet:stable.<model>` set to `value`; every other byte unchanged."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    for layout in LAYOUTS:
        yaml = _yaml(layout)
        try:
            data = yaml.load(text)
        except YAMLError as e:
            raise RolloutStateError(f"{file}: the stack file is not valid YAML: {e}. To fix: repair it first") from e
        if _dump(yaml, data) == text:
            break
    else:
        raise RolloutStateError(f"{file}: the file's layout cannot be reproduced exactly, so editing it would change lines other "
                                f"than {STABLE_KEY}. To fix: set {STABLE_KEY}.{model} by hand to the value shown by "
                                "`modelfleet preview`, or indent the file with 2 spaces")
    config = data["config"]
    key = next((k for k in (STABLE_KEY, "stable") if k in config), STABLE_KEY)
    if key not in config:
        config[key] = CommentedMap()
    stable = config[key]
    if isinstance(value, dict):
        entry = CommentedMap({k: _text(v) for k, v in value.items()})
        entry.fa.set_flow_style()  # one line per model, like the plain `model: version` entries
        stable[model] = entry
    else:
        stable[model] = _text(value)
    after = _dump(yaml, data)
    _check_only_key_changed(text, after, file)
    return after


def _check_only_key_changed(before: str, after: str, file: str) -> None:
    """Every changed line must be the stable key's own (added lines at its place, or its entries)."""
    from modelfleet.yamlmarks import load_yaml

    old, _ = load_yaml(before, file)
    new, _ = load_yaml(after, file)
    rest_old = {k: v for k, v in (old.get("config") or {}).items() if k not in (STABLE_KEY, "stable")}
    rest_new = {k: v for k, v in (new.get("config") or {}).items() if k not in (STABLE_KEY, "stable")}
    if rest_old != rest_new or {k: v for k, v in old.items() if k != "config"} != {k: v for k, v in new.items() if k != "config"}:
        raise RolloutStateError(f"{file}: editing {STABLE_KEY} would change other settings. To fix: set it by hand")
