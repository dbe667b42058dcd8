"""When a rollout started: the commit that gave the spec the version now rolling out. Offline.

Contract: `rollout_started(spec_path, environment, version)` → `Started(at, note)`. `at` is the
committer date (UTC, `YYYY-MM-DDTHH:MM:SSZ`) of the oldest commit in the unbroken run of commits,
newest first along the current branch's first parents, whose copy of the spec has `version` for
`environment` (`environments.<env>.version` over the base `version`) — the commit that set it.
First parents, so a pull request merged into the branch counts from its merge, when the new
version reached the stack. Deterministic: it reads commits only, never the clock.

`at` is None, with `note` saying why, when that cannot be told: the spec is not in a Git
repository (or git is missing), the version change is not committed yet, or the clone is shallow
and its history ends before the change. `note` otherwise names the commit.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Started:
    at: str | None
    note: str


def _git(cwd: Path, *args: str) -> str | None:
    """git's stdout, or None when git is missing or the command fails."""
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return result.stdout if result.returncode == 0 else None


def version_in(text: str, environment: str) -> str | None:
    """The spec's version for `environment` in one file's text (None if unreadable or absent)."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    envs = data.get("environments")
    override = envs.get(environment) if isinstance(envs, dict) else None
    value = override.get("version") if isinstance(override, dict) and "version" in override else data.get("version")
    # YAML reads `version: 1.4` as a float; the spec treats a version as text (spec._to_str)
    return str(value) if value is not None and not isinstance(value, bool) else None


def utc(iso: str) -> str:
    return datetime.fromisoformat(iso.strip()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rollout_started(spec_path: Path, environment: str, version: str) -> Started:
    spec_path = Path(spec_path).resolve()
    where = spec_path.parent
    if _git(where, "rev-parse", "--show-toplevel") is None:
        return Started(None, f"{spec_path.name} is not in a Git repository, so when {version} was set is unknown")
    log = _git(where, "log", "--first-parent", "--format=%H %cI", "--", spec_path.name) or ""
    commits = [line.split(" ", 1) for line in log.splitlines() if " " in line]
    started: tuple[str, str] | None = None
    for sha, date in commits:
        shown = _git(where, "show", f"{sha}:./{spec_path.name}")
        if shown is None or version_in(shown, environment) != version:
            break
        started = (sha, date)
    else:
        if started is not None and (_git(where, "rev-parse", "--is-shallow-repository") or "").strip() == "true":
            return Started(None, f"the clone is shallow and its history of {spec_path.name} ends before {version} was set. "
                                 "To fix: fetch the full history (actions/checkout with fetch-depth: 0)")
    if started is None:
        return Started(None, f"the change of {spec_path.name} to version {version} is not committed yet")
    return Started(utc(started[1]), f"commit {started[0][:12]} set version {version}")
