"""`modelfleet pr --base REF`: what the pull-request check costs, printed as two numbers.

1. Bundled repo: a throwaway git repository of the bundled project, one change on a branch
   (a prod `min_replicas` 2 → 3 of a model every prod stack serves). Ratio of `pr` wall time
   to one `modelfleet preview` of the stacks `pr` reports as affected (target ≤ 1.5).
2. Fleet: 200 specs over 5 on-prem KServe stacks (40 each), one spec changed per stack, so
   all five are affected and planned on both sides. Wall time of `pr` (target < 60 s on 2 cores).

Both run the real CLI in a fresh process (start-up included), best of `--repeat` runs.
Run: python benchmarks/bench_pr.py [--repeat N] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args], cwd=repo, check=True, capture_output=True)


def cli(repo: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "modelfleet.cli", *args, "--project-dir", str(repo)], capture_output=True,
                          text=True, env=ENV, cwd=repo)
    return time.perf_counter() - start, done


def best(repeat: int, repo: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    runs = [cli(repo, *args) for _ in range(repeat)]
    for _, done in runs:
        if done.returncode not in (0, 1):
            sys.exit(f"modelfleet {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return min(runs, key=lambda r: r[0])


def new_repo(tmp: Path) -> Path:
    repo = tmp / "repo"
    repo.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", repo)
    for folder in ("model_specs", "stacks", "policies/config"):
        shutil.copytree(ROOT / folder, repo / folder)
    return repo


def commit_base(repo: Path) -> None:
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "change")


def bundled(repeat: int, jobs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = new_repo(Path(tmp))
        commit_base(repo)
        spec = repo / "model_specs" / "resnet50-vision.yaml"
        spec.write_text(spec.read_text().replace("prod: {autoscaling: {min_replicas: 2,", "prod: {autoscaling: {min_replicas: 3,"))
        git(repo, "commit", "-qam", "change")
        pr_time, done = best(repeat, repo, "pr", "--base", "main", "-f", "json", *jobs)
        report = json.loads(done.stdout)
        affected = [s["stack"] for s in report["stacks"]]
        preview_time, _ = best(repeat, repo, "preview", "--stack", ",".join(affected), "-f", "json")
        print(f"bundled repo: {len(affected)} affected stacks ({', '.join(affected)}), {report['plans']} plans in "
              f"{report['jobs']} processes")
        print(f"  pr {pr_time:.2f} s, preview of the affected stacks {preview_time:.2f} s: "
              f"ratio {pr_time / preview_time:.2f} (target <= 1.5)")


def fleet_stack(nodes: str, index: int) -> str:
    """The bundled on-prem KServe prod stack (registry, secrets, MLflow, pinned images — everything a
    bundled spec needs), with a bigger node list and one glob per fleet stack; reading the bundled file
    keeps the benchmark in step with what a valid stack needs."""
    text = (ROOT / "stacks" / "Pulumi.lab-kserve.yaml").read_text()
    text = re.sub(r"    gpu_nodes:\n(?:      - .*\n)+", f"    gpu_nodes:\n{nodes}\n", text)
    assert '  modelfleet:models: ["*"]\n' in text
    return text.replace('  modelfleet:models: ["*"]\n', f'  modelfleet:models: ["f{index}-*"]\n')


def fleet(repeat: int, jobs: list[str], specs: int = 200, stacks: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = new_repo(Path(tmp))
        for path in (repo / "stacks").glob("*.yaml"):
            path.unlink()
        sources = sorted((repo / "model_specs").glob("*.yaml"))
        for path in sources:
            path.unlink()
        texts = [p.read_text() for p in sorted((ROOT / "model_specs").glob("*.yaml"))]
        nodes = "\n".join(f"      - {{name: gpu-{acc.lower()}-{i:02d}, accelerator: {acc}, count: 8}}"
                          for acc in ("A100-80GB", "L4", "T4") for i in range(40))
        for s in range(stacks):
            (repo / "stacks" / f"Pulumi.fleet-{s}.yaml").write_text(fleet_stack(nodes, s))
        for i in range(specs):
            text = texts[i % len(texts)]
            name = text.split("name: ", 1)[1].split("\n", 1)[0].strip()
            (repo / "model_specs" / f"f{i % stacks}-{i}.yaml").write_text(
                text.replace(f"name: {name}", f"name: f{i % stacks}-{i}-{name[:20]}", 1))
        commit_base(repo)
        for s in range(stacks):  # one spec per stack: every stack is affected
            spec = next((repo / "model_specs").glob(f"f{s}-*.yaml"))
            text = spec.read_text()
            owner = text.split("owner: ", 1)[1].split("\n", 1)[0]
            spec.write_text(text.replace(f"owner: {owner}", f"owner: {owner}-new", 1))  # relabels the model's resources
        git(repo, "commit", "-qam", "change")
        elapsed, done = best(repeat, repo, "pr", "--base", "main", "-f", "json", *jobs)
        report = json.loads(done.stdout)
        resources = sum(len(s["resources"]) + s["unchanged"] for s in report["stacks"])
        print(f"fleet: {specs} specs over {stacks} stacks, {len(report['stacks'])} affected, {report['plans']} plans of "
              f"~{resources // max(1, len(report['stacks']))} resources in {report['jobs']} processes on "
              f"{len(os.sched_getaffinity(0))} usable CPUs")
        print(f"  pr {elapsed:.2f} s (target < 60 s on 2 cores), ratio to target {elapsed / 60:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=0, help="pr --jobs (0 = one per usable CPU)")
    args = parser.parse_args()
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    bundled(args.repeat, jobs)
    fleet(args.repeat, jobs)


if __name__ == "__main__":
    main()
