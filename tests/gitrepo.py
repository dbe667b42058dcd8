"""Scratch Git repositories for the tests that diff a change against a base ref (changed, pr, cost --diff)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> None:
    """Run git in `repo` with a throwaway identity; fail the test on a non-zero exit."""
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True, capture_output=True)


def on_feature_branch(project: Path) -> Path:
    """Commit `project` as `main`, then check out a `feature` branch to change it on."""
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "base")
    git(project, "checkout", "-q", "-b", "feature")
    return project


def commit_at(repo: Path, message: str, when: str, *paths: str) -> None:
    """Commit `paths` (everything when none) with author and committer date `when` (ISO 8601), so
    tests that read commit dates are deterministic."""
    import os

    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "add", *(paths or (".",))],
                   cwd=repo, check=True, capture_output=True, env=env)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message],
                   cwd=repo, check=True, capture_output=True, env=env)
