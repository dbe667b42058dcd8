"""Every custom resource the Kubernetes stacks register validates against its upstream CRD.

Stacks: every bundled Kubernetes stack (on-prem, EKS, AKS) and scratch on-prem stacks with one
model per runtime on each engine (`serving: deployment` with and without Argo Rollouts, and
`serving: kserve`). For each, the registered inputs (what `pulumi up` sends) and the
`modelfleet render` YAML (what Argo CD / Flux apply) are checked against the CRD's
`openAPIV3Schema` (tests/fixtures/crds, see PROVENANCE.md there); unknown fields are errors
unless the schema preserves them. A custom kind with no bundled CRD fails, so a new kind
cannot slip through unvalidated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from crd_schemas import problems
from scratch_stacks import ONPREM_STACK, runtime_spec

from modelfleet.plan import ResourcePlan, as_int
from modelfleet.preview import preview_stack
from modelfleet.render import render_plan

BUNDLED = ("lab-dev", "lab-kserve", "eks-dev", "eks-prod", "aks-prod")
RUNTIMES = ("vllm", "tgi", "triton", "torchserve", "tfserving", "custom")
# version "1" is stable on every scratch stack, the specs say "2": a rollout is in progress
IN_PROGRESS = "  modelfleet:stable: {" + ", ".join(f"crd-{r}: '1'" for r in RUNTIMES) + "}\n"
SCRATCH = {
    "scratch-deployment": ONPREM_STACK.format(engine="deployment") + IN_PROGRESS,
    "scratch-kserve": ONPREM_STACK.format(engine="kserve") + IN_PROGRESS,
    "scratch-argo": ONPREM_STACK.format(engine="deployment").replace("{monitor_labels:", "{argo_rollouts: install, monitor_labels:")
                    + IN_PROGRESS,
}
NOT_CUSTOM_GROUPS = ("helm.sh",)  # Pulumi's Helm release, not an object in the cluster
# what `render` writes for a Helm release (Flux or Argo CD); those CRDs are the GitOps tool's, not bundled here
GITOPS_WRAPPERS = {"helm.toolkit.fluxcd.io/v2 HelmRelease", "source.toolkit.fluxcd.io/v1 HelmRepository",
                   "argoproj.io/v1alpha1 Application"}


def _spec(runtime: str, metric: str) -> str:
    # KServe splits traffic only in Serverless mode: the HPA-scaled model rolls out in place
    strategy = "{strategy: rolling}" if metric == "cpu_utilization" else "{strategy: canary, canary_percent: 20}"
    return runtime_spec(runtime, metric, name=f"crd-{runtime}", version="2", max_replicas=3, extra=f"rollout: {strategy}\n")


def custom_group(resource_type: str) -> str | None:
    """The API group of a `kubernetes:<group>/<version>:<Kind>` type when it is a custom resource."""
    if not resource_type.startswith("kubernetes:"):
        return None
    group = resource_type.split(":")[1].rsplit("/", 1)[0]
    if "." not in group or group.endswith(".k8s.io") or group in NOT_CUSTOM_GROUPS:
        return None
    return group


def _clean(value: Any) -> Any:
    value = as_int(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _check(plan: ResourcePlan) -> tuple[list[str], set[str]]:
    failures, kinds = [], set()
    docs = [(r.urn, _clean(r.inputs)) for r in plan.resources if custom_group(r.type)]
    for rel, text in render_plan(plan).files.items():
        doc = yaml.safe_load(text)
        if f"{doc.get('apiVersion')} {doc.get('kind')}" in GITOPS_WRAPPERS:
            continue
        if custom_group(f"kubernetes:{doc.get('apiVersion', '')}:{doc.get('kind', '')}"):
            docs.append((f"render {rel}", doc))
    for where, doc in docs:
        kinds.add(f"{doc['apiVersion']} {doc['kind']}")
        found = problems(doc)
        if found is None:
            failures.append(f"{plan.stack}: {where}: no bundled CRD for {doc['apiVersion']} {doc['kind']} (add it to tests/fixtures/crds)")
        failures += [f"{plan.stack}: {where}: {p}" for p in found or []]
    return failures, kinds


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory, root: Path) -> Path:
    project = tmp_path_factory.mktemp("crd")
    (project / "model_specs").mkdir()
    (project / "stacks").mkdir()
    (project / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    for runtime in RUNTIMES:
        metric = "cpu_utilization" if runtime == "torchserve" else "rps"  # both autoscalers
        (project / "model_specs" / f"crd-{runtime}.yaml").write_text(_spec(runtime, metric))
    for name, text in SCRATCH.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    return project


@pytest.mark.parametrize("stack", BUNDLED)
def test_bundled_stacks_custom_resources_match_their_crds(root: Path, stack: str) -> None:
    failures, kinds = _check(preview_stack(root, stack))
    assert not failures, "\n".join(failures)
    assert kinds, f"{stack}: no custom resource checked"


@pytest.mark.parametrize("stack", sorted(SCRATCH))
def test_scratch_stacks_custom_resources_match_their_crds(scratch: Path, stack: str) -> None:
    failures, kinds = _check(preview_stack(scratch, stack))
    assert not failures, "\n".join(failures)
    assert kinds, f"{stack}: no custom resource checked"


def test_the_validator_refuses_unknown_and_mistyped_fields() -> None:
    good = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "m", "namespace": "m"},
            "spec": {"scaleTargetRef": {"name": "m"}, "triggers": [{"type": "prometheus", "metadata": {"query": "up"}}]}}
    assert problems(good) == []
    unknown = {**good, "spec": {**good["spec"], "minReplicas": 1}}
    assert any("minReplicas" in p for p in problems(unknown) or [])
    mistyped = {**good, "spec": {**good["spec"], "minReplicaCount": "1"}}
    assert any(p.startswith("spec.minReplicaCount") for p in problems(mistyped) or [])
    assert problems({"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}}) is None
