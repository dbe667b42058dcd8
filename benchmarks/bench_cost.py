"""Cost speed: the engine over a 10,000-resource synthetic plan, and `cost --diff` vs one `cost` run.

Prints the numbers and their ratios to the budgets (engine < 1 s; diff of the bundled
examples < 2 × one run; stacks whose inputs did not change are previewed once); also prints
the diff after a spec change that touches every stack. Exits 1 if a budget is exceeded.

    python benchmarks/bench_cost.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from modelfleet.catalog import load_catalog
from modelfleet.cli import app
from modelfleet.cost import estimate_plan
from modelfleet.plan import PlannedResource, ResourcePlan

ROOT = Path(__file__).resolve().parent.parent
ENGINE_BUDGET_S = 1.0
DIFF_RATIO_BUDGET = 2.0
RESOURCES = 10_000


def _res(type_token: str, name: str, inputs: dict, parent: str = "") -> PlannedResource:
    return PlannedResource(urn=f"urn:pulumi:bench::modelfleet::{type_token}::{name}", type=type_token, name=name,
                           parent=parent, custom=True, inputs=inputs)


def synthetic_plan(n: int = RESOURCES) -> ResourcePlan:
    """Groups of ten resources per model: a node group, a GPU Deployment + HPA, a SageMaker
    config + endpoint + target, an Azure ML deployment, a registry, an IAM role and an unknown type."""
    catalog = load_catalog()
    ec2 = [o.instance_type for o in catalog.offers("ec2", "us-east-1") if o.gpu_count][:20]
    sm = [o.instance_type for o in catalog.offers("sagemaker", "us-east-1") if o.gpu_count][:10]
    resources: list[PlannedResource] = []
    models = []
    i = 0
    while len(resources) < n:
        m = f"m{i}"
        models.append(m)
        pool = f"pool-{i % 50}"
        labels = {"modelfleet.io/model": m}
        resources += [
            _res("aws:eks/nodeGroup:NodeGroup", f"{m}-ng", {"instanceTypes": [ec2[i % len(ec2)]], "capacityType": "ON_DEMAND",
                 "scalingConfig": {"minSize": 1.0, "maxSize": 4.0}, "labels": {"modelfleet.io/gpu-pool": pool}}),
            _res("kubernetes:apps/v1:Deployment", f"{m}-deployment", {"metadata": {"name": m, "namespace": m, "labels": labels},
                 "spec": {"replicas": 1.0, "template": {"spec": {"nodeSelector": {"modelfleet.io/gpu-pool": pool},
                          "containers": [{"resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}}),
            _res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", f"{m}-hpa", {"metadata": {"name": m, "namespace": m},
                 "spec": {"minReplicas": 1.0, "maxReplicas": 3.0, "scaleTargetRef": {"name": m}}}),
            _res("aws:sagemaker/endpointConfiguration:EndpointConfiguration", f"{m}-config", {"name": f"{m}-cfg", "tags": {"modelfleet:model": m},
                 "productionVariants": [{"variantName": "AllTraffic", "instanceType": sm[i % len(sm)], "initialInstanceCount": 1.0}]}),
            _res("aws:sagemaker/endpoint:Endpoint", f"{m}-endpoint", {"name": f"{m}-ep", "endpointConfigName": f"{m}-cfg"}),
            _res("aws:appautoscaling/target:Target", f"{m}-target", {"resourceId": f"endpoint/{m}-ep/variant/AllTraffic",
                 "minCapacity": 1.0, "maxCapacity": 4.0}),
            _res("azure-native:machinelearningservices:OnlineDeployment", f"{m}-blue", {"deploymentName": "blue",
                 "sku": {"capacity": 2.0}, "properties": {"instanceType": "Standard_NC4as_T4_v3"}, "tags": {"modelfleet:model": m}}),
            _res("aws:ecr/repository:Repository", f"{m}-repo", {"tags": {"modelfleet:model": m}}),
            _res("aws:iam/role:Role", f"{m}-role", {}),
            _res("aws:ec2/natGateway:NatGateway", f"{m}-nat", {}),
        ]
        i += 1
    return ResourcePlan(stack="bench", platform="kubernetes", environment="prod", resources=tuple(resources[:n]),
                        config={"environment": "prod", "target": "eks", "region": "us-east-1", "models": models,
                                "stack_settings": {}})


def bench_engine() -> float:
    plan = synthetic_plan()
    load_catalog()  # warm: the catalog is read once per process in real runs too
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        estimate_plan(plan)
        best = min(best, time.perf_counter() - start)
    return best


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args], cwd=cwd, check=True,
                   capture_output=True)


def _timed(args: list[str]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = CliRunner().invoke(app, args)
        best = min(best, time.perf_counter() - start)
        assert result.exit_code in (0, 1), result.output
    return best


def bench_diff() -> tuple[float, float, float]:
    """One `cost` run, `cost --diff main` on the bundled project as committed, and after
    changing one spec's max_replicas (every stack serving it is previewed on both sides)."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        for part in ("model_specs", "stacks"):
            shutil.copytree(ROOT / part, repo / part)
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", ".")
        _git(repo, "commit", "-q", "-m", "base")
        base = ["cost", "--format", "json", "--project-dir", str(repo)]
        _timed(base)  # warm imports
        one = _timed(base)
        same = _timed([*base, "--diff", "main"])
        spec = repo / "model_specs" / "resnet50-vision.yaml"
        spec.write_text(spec.read_text().replace("max_replicas: 8", "max_replicas: 12"))
        changed = _timed([*base, "--diff", "main"])
        return one, same, changed


def main() -> int:
    engine = bench_engine()
    print(f"engine: {RESOURCES} resources in {engine * 1000:.0f} ms — {engine / ENGINE_BUDGET_S:.2f}× the {ENGINE_BUDGET_S:.0f} s budget")
    one, same, changed = bench_diff()
    ratio = same / one
    print(f"cost: one run {one * 1000:.0f} ms; --diff main of the bundled examples {same * 1000:.0f} ms — "
          f"ratio {ratio:.2f} (budget < {DIFF_RATIO_BUDGET:.1f})")
    print(f"cost --diff after changing a spec every stack serves: {changed * 1000:.0f} ms — ratio {changed / one:.2f} "
          "(informational: each affected stack is previewed on both sides)")
    return 0 if engine < ENGINE_BUDGET_S and ratio < DIFF_RATIO_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
