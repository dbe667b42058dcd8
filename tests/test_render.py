"""`modelfleet render`: GitOps YAML that is valid Kubernetes, stable byte for byte, and free of Pulumi-isms.

Objects are validated against the OpenAPI-derived JSON schemas of Kubernetes 1.33 shipped by
`kubernetes-validate` (strict: unknown fields fail). Custom resources (KEDA, KServe, Prometheus
Operator, Flux, Argo CD) and kustomization.yaml have no schema there and are skipped by kind;
the skipped set is asserted so a new core object cannot slip through unvalidated.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from modelfleet.cli import app
from modelfleet.plan import PlannedResource, ResourcePlan
from modelfleet.render import CLUSTER_DIR, KUSTOMIZATION, PATCH_DIR, RenderError, render_plan, render_stack, write_rendered

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "render" / "lab-dev"
K8S_VERSION = "1.33"
NO_CORE_SCHEMA = {  # CRD-defined kinds: kubernetes-validate ships no schema for them
    "keda.sh/v1alpha1 ScaledObject", "serving.kserve.io/v1beta1 InferenceService",
    "monitoring.coreos.com/v1 PodMonitor", "monitoring.coreos.com/v1 PrometheusRule", "monitoring.coreos.com/v1 ServiceMonitor",
    "helm.toolkit.fluxcd.io/v2 HelmRelease", "source.toolkit.fluxcd.io/v1 HelmRepository", "argoproj.io/v1alpha1 Application",
    "kustomize.config.k8s.io/v1beta1 Kustomization",
}


def _tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def lab_dev() -> dict[str, str]:
    return render_stack(ROOT, "lab-dev").files


@pytest.mark.parametrize(("stack", "helm"), [("lab-dev", "flux"), ("lab-kserve", "argocd")])
def test_every_object_validates_against_the_kubernetes_schema(stack: str, helm: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    files = render_stack(ROOT, stack, helm).files  # type: ignore[arg-type]
    unvalidated = set()
    for rel, text in files.items():
        doc = yaml.safe_load(text)
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unvalidated.add(f"{doc['apiVersion']} {doc['kind']}")
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{stack}: {rel} is not a valid {doc['kind']} for Kubernetes {K8S_VERSION}: "
                        f"{'.'.join(map(str, e.path))}: {e.message}")
    assert unvalidated <= NO_CORE_SCHEMA, f"kinds left unvalidated that should have a core schema: {unvalidated - NO_CORE_SCHEMA}"


def test_golden_tree_for_lab_dev(lab_dev: dict[str, str]) -> None:
    if os.environ.get("MODELFLEET_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        GOLDEN.mkdir(parents=True)
        write_rendered(render_stack(ROOT, "lab-dev"), GOLDEN)
    expected = {rel: data.decode() for rel, data in _tree(GOLDEN).items()}
    assert sorted(lab_dev) == sorted(expected), "rendered file set changed: review, then MODELFLEET_UPDATE_GOLDEN=1 pytest tests/test_render.py"
    changed = [rel for rel in lab_dev if lab_dev[rel] != expected[rel]]
    assert not changed, f"rendered YAML changed in {changed}: review, then MODELFLEET_UPDATE_GOLDEN=1 pytest tests/test_render.py"


def test_cli_output_is_byte_identical_across_runs(cli, tmp_path: Path) -> None:
    for out in ("a", "b"):
        result = cli.invoke(app, ["render", "--stack", "lab-dev", "--out", str(tmp_path / out), "--project-dir", str(ROOT)])
        assert result.exit_code == 0, result.output
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert "rendered" in result.output and "kubectl patch" in result.output


def test_integers_restored_and_pulumi_fields_dropped(lab_dev: dict[str, str]) -> None:
    text = "".join(lab_dev.values())
    assert "pulumi.com/" not in text and "__" not in text
    deployment = yaml.safe_load(lab_dev["llama3-8b-chat/deployment-llama3-8b-chat.yaml"])
    port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    assert port == 8000 and isinstance(port, int), f"containerPort must be an integer, got {port!r}"
    assert ": 8000.0" not in text and "Seconds: 120.0" not in text


def test_replicas_owned_by_the_autoscaler_are_left_out(lab_dev: dict[str, str]) -> None:
    for rel, text in lab_dev.items():
        doc = yaml.safe_load(text)
        if doc["kind"] == "Deployment":
            assert "replicas" not in doc["spec"], f"{rel}: spec.replicas would make Argo CD/Flux fight the HPA/KEDA"


def test_layout_and_kustomization(lab_dev: dict[str, str]) -> None:
    kustomization = yaml.safe_load(lab_dev[KUSTOMIZATION])
    resources = kustomization["resources"]
    assert resources == sorted(resources)
    assert set(resources) == {p for p in lab_dev if p != KUSTOMIZATION and not p.startswith(f"{PATCH_DIR}/")}
    for rel in resources:
        doc = yaml.safe_load(lab_dev[rel])
        namespace = doc["metadata"].get("namespace")
        assert rel == f"{namespace or CLUSTER_DIR}/{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
    assert "_cluster/namespace-llama3-8b-chat.yaml" in resources


def test_node_patches_are_strategic_merge_files_outside_kustomize(lab_dev: dict[str, str]) -> None:
    patch = lab_dev[f"{PATCH_DIR}/node-gpu-node-03.yaml"]
    assert "kubectl patch node gpu-node-03 --type strategic" in patch
    doc = yaml.safe_load(patch)
    assert doc["kind"] == "Node" and doc["spec"]["taints"][0]["key"] == "nvidia.com/gpu"
    assert "annotations" not in doc["metadata"], "pulumi.com/patchForce must not leak into the patch"


def test_helm_releases_as_flux_or_argocd() -> None:
    flux = render_stack(ROOT, "lab-dev", "flux").files
    release = yaml.safe_load(flux["flux-system/helmrelease-keda.yaml"])
    assert release["spec"]["chart"]["spec"]["sourceRef"] == {"kind": "HelmRepository", "name": "keda"}
    assert release["spec"]["targetNamespace"] == "keda" and release["spec"]["chart"]["spec"]["version"]
    assert yaml.safe_load(flux["flux-system/helmrepository-keda.yaml"])["spec"]["url"].startswith("https://")
    argo = render_stack(ROOT, "lab-dev", "argocd").files
    app_doc = yaml.safe_load(argo["argocd/application-keda.yaml"])
    assert app_doc["spec"]["source"]["chart"] == "keda" and app_doc["spec"]["destination"]["namespace"] == "keda"
    assert not any(p.startswith("flux-system/") for p in argo)


def test_rerender_removes_objects_no_longer_planned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_rendered(render_stack(ROOT, "lab-dev"), out)
    (out / "gone").mkdir()
    (out / "gone" / "deployment-old.yaml").write_text("# Generated by `modelfleet render --stack lab-dev`.\nkind: Deployment\n")
    (out / "README.md").write_text("mine\n")
    write_rendered(render_stack(ROOT, "lab-dev"), out)
    assert not (out / "gone").exists(), "a stale rendered object must be deleted so GitOps prunes it"
    assert (out / "README.md").read_text() == "mine\n", "files render did not write are kept"


def test_non_kubernetes_stack_exits_2(cli, project: Path) -> None:
    (project / "stacks" / "Pulumi.sm-dev.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  modelfleet:environment: dev\n  modelfleet:platform: sagemaker\n"
        "  modelfleet:registry: {kind: ecr}\n  modelfleet:models: ['fraud-*']\n")
    result = cli.invoke(app, ["render", "--stack", "sm-dev", "--out", str(project / "out"), "--project-dir", str(project)])
    assert result.exit_code == 2
    assert "render is for Kubernetes stacks" in result.output and "To fix" in result.output
    assert not (project / "out").exists()


def test_object_without_a_name_is_refused() -> None:
    resource = PlannedResource(urn="urn:pulumi:s::modelfleet::kubernetes:core/v1:ConfigMap::cm", type="kubernetes:core/v1:ConfigMap",
                               name="cm", parent="", custom=True, inputs={"data": {"a": "b"}})
    plan = ResourcePlan(stack="s", platform="kubernetes", environment="dev", resources=(resource,))
    with pytest.raises(RenderError, match="no metadata.name"):
        render_plan(plan)


def test_custom_resource_keeps_its_api_version_and_cloud_resources_are_noted() -> None:
    cr = PlannedResource(urn="u1", type="kubernetes:keda.sh/v1alpha1:ScaledObject", name="so", parent="", custom=True,
                         inputs={"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                                 "metadata": {"name": "m", "namespace": "m", "__defaults": ["x"]}, "spec": {"minReplicaCount": 1.0}})
    node_group = PlannedResource(urn="u2", type="aws:eks/nodeGroup:NodeGroup", name="gpu", parent="", custom=True, inputs={})
    rendered = render_plan(ResourcePlan(stack="s", platform="kubernetes", environment="dev", resources=(cr, node_group)))
    doc = yaml.safe_load(rendered.files["m/scaledobject-m.yaml"])
    assert doc == {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "m", "namespace": "m"},
                   "spec": {"minReplicaCount": 1}}
    assert rendered.skipped == ("aws:eks/nodeGroup:NodeGroup gpu",) and "pulumi up" in rendered.notes[0]


def test_argocd_example_syncs_a_rendered_directory_without_fighting_autoscalers() -> None:
    example = yaml.safe_load((ROOT / "examples" / "argocd-application.yaml").read_text())
    assert (example["apiVersion"], example["kind"]) == ("argoproj.io/v1alpha1", "Application")
    assert example["spec"]["syncPolicy"]["automated"]["prune"] is True
    assert {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]} in example["spec"]["ignoreDifferences"]
    assert "modelfleet render --stack lab-dev --out deploy/lab-dev" in (ROOT / "examples" / "argocd-application.yaml").read_text()
