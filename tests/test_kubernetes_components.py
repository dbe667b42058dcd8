"""What a reviewer checks on the Kubernetes plan: GPUs, taints, probes, hardening, bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelfleet.plan import PlannedResource, ResourcePlan, as_int
from modelfleet.preview import preview_stacks
from modelfleet.spec import load_specs, spec_paths

ROOT = Path(__file__).resolve().parent.parent
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def plans() -> dict[str, ResourcePlan]:
    return {p.stack: p for p in preview_stacks(ROOT, ["lab-dev", "lab-kserve"])}


@pytest.fixture(scope="module")
def specs():
    return {s.name: s for s in load_specs(spec_paths(ROOT / "model_specs"))}


def _one(plan: ResourcePlan, type_: str, name: str) -> PlannedResource:
    found = [r for r in plan.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"expected one {type_} {name} in {plan.stack}, found {len(found)}"
    return found[0]


def _deployments(plan: ResourcePlan) -> list[PlannedResource]:
    return plan.of_type("kubernetes:apps/v1:Deployment")


def test_urns_are_unique(plans: dict[str, ResourcePlan]) -> None:
    for plan in plans.values():
        urns = [r.urn for r in plan.resources]
        assert len(urns) == len(set(urns)), plan.stack


def test_gpu_deployment_limits_tolerations_and_pool(plans: dict[str, ResourcePlan]) -> None:
    dep = _one(plans["lab-dev"], "kubernetes:apps/v1:Deployment", "llama3-8b-chat-deployment")
    pod = dep.inputs["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["resources"]["limits"]["nvidia.com/gpu"] == "1", dep.urn
    assert server["resources"]["requests"] == server["resources"]["limits"], f"{dep.urn}: requests must equal limits"
    assert GPU_TOLERATION in pod["tolerations"], dep.urn
    assert pod["nodeSelector"]["modelfleet.io/accelerator"] == "L4", dep.urn


def test_cpu_model_has_no_gpu_and_no_gpu_toleration(plans: dict[str, ResourcePlan]) -> None:
    dep = _one(plans["lab-dev"], "kubernetes:apps/v1:Deployment", "fraud-xgb-deployment")
    pod = dep.inputs["spec"]["template"]["spec"]
    assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"], dep.urn
    assert "tolerations" not in pod, f"{dep.urn}: CPU pods must not tolerate the GPU taint"


def test_gpu_nodes_are_tainted_and_labelled(plans: dict[str, ResourcePlan]) -> None:
    patches = plans["lab-kserve"].of_type("kubernetes:core/v1:NodePatch")
    assert {p.inputs["metadata"]["name"] for p in patches} == {f"gpu-node-0{i}" for i in range(1, 7)}
    for patch in patches:
        assert patch.inputs["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}], patch.urn
        assert "modelfleet.io/gpu-pool" in patch.inputs["metadata"]["labels"], patch.urn


def test_device_plugin_tolerates_taint_and_targets_pool(plans: dict[str, ResourcePlan]) -> None:
    ds = _one(plans["lab-dev"], "kubernetes:apps/v1:DaemonSet", "gpu-l4-device-plugin")
    pod = ds.inputs["spec"]["template"]["spec"]
    assert GPU_TOLERATION in pod["tolerations"]
    assert pod["nodeSelector"]["modelfleet.io/gpu-pool"] == "l4"


def test_probes_follow_serving_health(plans: dict[str, ResourcePlan], specs) -> None:
    for dep in _deployments(plans["lab-dev"]):
        model = dep.model
        health = specs[model].for_environment("dev").serving.health
        server = dep.inputs["spec"]["template"]["spec"]["containers"][0]
        for probe in ("readinessProbe", "livenessProbe"):
            assert server[probe]["httpGet"]["path"] == (health.path or {"llama3-8b-chat": {"readinessProbe": "/health", "livenessProbe": "/health"}, "resnet50-vision": {"readinessProbe": "/v2/health/ready", "livenessProbe": "/v2/health/live"}}[model][probe]), f"{dep.urn} {probe}"
        assert as_int(server["readinessProbe"]["initialDelaySeconds"]) == health.initial_delay_s, dep.urn


def test_pods_are_hardened(plans: dict[str, ResourcePlan]) -> None:
    for dep in _deployments(plans["lab-dev"]):
        pod = dep.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, dep.urn
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", dep.urn
        assert pod["automountServiceAccountToken"] is False, dep.urn
        for container in pod["containers"] + pod.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, f"{dep.urn} {container['name']}"
            assert ctx["allowPrivilegeEscalation"] is False, f"{dep.urn} {container['name']}"
            assert ctx["capabilities"]["drop"] == ["ALL"], f"{dep.urn} {container['name']}"
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert {"/tmp", "/cache"} <= mounts, f"{dep.urn}: writable emptyDirs for tmp and cache"


def test_rolling_update_never_drops_below_min(plans: dict[str, ResourcePlan]) -> None:
    for dep in _deployments(plans["lab-dev"]):
        rolling = dep.inputs["spec"]["strategy"]["rollingUpdate"]
        assert as_int(rolling["maxUnavailable"]) == 0, dep.urn
        assert "spec.replicas" in dep.options["ignoreChanges"], f"{dep.urn}: the autoscaler owns replicas"


def test_autoscaler_bounds_equal_spec_per_environment(plans: dict[str, ResourcePlan], specs) -> None:
    dev = plans["lab-dev"]
    for obj in dev.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject"):
        a = specs[obj.model].for_environment("dev").autoscaling
        assert as_int(obj.inputs["spec"]["minReplicaCount"]) == a.floor, obj.urn
        assert as_int(obj.inputs["spec"]["maxReplicaCount"]) == a.max_replicas, obj.urn
    hpa = _one(dev, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "fraud-xgb-hpa")
    a = specs["fraud-xgb"].for_environment("dev").autoscaling
    assert (as_int(hpa.inputs["spec"]["minReplicas"]), as_int(hpa.inputs["spec"]["maxReplicas"])) == (a.min_replicas, a.max_replicas)
    for isvc in plans["lab-kserve"].of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService"):
        a = specs[isvc.model].for_environment("prod").autoscaling
        predictor = isvc.inputs["spec"]["predictor"]
        assert (as_int(predictor["minReplicas"]), as_int(predictor["maxReplicas"])) == (a.floor, a.max_replicas), isvc.urn


def test_scale_to_zero_in_dev_through_keda(plans: dict[str, ResourcePlan]) -> None:
    obj = _one(plans["lab-dev"], "kubernetes:keda.sh/v1alpha1:ScaledObject", "llama3-8b-chat-scaledobject")
    assert as_int(obj.inputs["spec"]["minReplicaCount"]) == 0
    trigger = obj.inputs["spec"]["triggers"][0]
    assert trigger["type"] == "prometheus" and "vllm:num_requests_running" in trigger["metadata"]["query"]


def test_kserve_canary_and_gpu(plans: dict[str, ResourcePlan]) -> None:
    isvc = _one(plans["lab-kserve"], "kubernetes:serving.kserve.io/v1beta1:InferenceService", "llama3-8b-chat-inferenceservice")
    predictor = isvc.inputs["spec"]["predictor"]
    assert "canaryTrafficPercent" not in predictor, "no modelfleet:stable entry: a first deploy, no canary"
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert GPU_TOLERATION in predictor["tolerations"]
    big = _one(plans["lab-kserve"], "kubernetes:serving.kserve.io/v1beta1:InferenceService", "llama3-70b-instruct-inferenceservice")
    assert big.inputs["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"] == "4"


def test_pdb_when_min_at_least_two(plans: dict[str, ResourcePlan]) -> None:
    prod = plans["lab-kserve"]
    pdbs = {r.model for r in prod.of_type("kubernetes:policy/v1:PodDisruptionBudget")}
    assert pdbs == {"fraud-xgb", "llama3-70b-instruct", "llama3-8b-chat", "resnet50-vision"}
    dev_pdbs = {r.model for r in plans["lab-dev"].of_type("kubernetes:policy/v1:PodDisruptionBudget")}
    assert dev_pdbs == set(), "dev models run < 2 replicas"


def test_gpu_quota_covers_peak_plus_surge(plans: dict[str, ResourcePlan], specs) -> None:
    quota = _one(plans["lab-kserve"], "kubernetes:core/v1:ResourceQuota", "llama3-70b-instruct-gpu-quota")
    a = specs["llama3-70b-instruct"].for_environment("prod").autoscaling
    assert quota.inputs["spec"]["hard"]["requests.nvidia.com/gpu"] == str((a.max_replicas + 1) * 4)


def test_every_model_resource_is_labelled_with_owner(plans: dict[str, ResourcePlan]) -> None:
    for plan in plans.values():
        for r in plan.resources:
            labels = (r.inputs.get("metadata") or {}).get("labels")
            # node patches add pool labels to nodes the cluster owns; they do not claim the node
            if r.custom and r.type.startswith("kubernetes:") and labels is not None and not r.type.endswith("NodePatch"):
                assert labels.get("owner"), r.urn


def test_endpoints_exported(plans: dict[str, ResourcePlan]) -> None:
    assert plans["lab-dev"].outputs["llama3-8b-chat"] == "http://llama3-8b-chat.llama3-8b-chat.svc.cluster.local"


def test_addons_the_stack_installs(plans: dict[str, ResourcePlan]) -> None:
    releases = {r.inputs["chart"] for r in plans["lab-dev"].of_type("kubernetes:helm.sh/v3:Release")}
    assert "keda" in releases, "lab-dev declares keda: install"
    kserve_releases = {r.inputs["chart"] for r in plans["lab-kserve"].of_type("kubernetes:helm.sh/v3:Release")}
    assert not any("kserve" in c for c in kserve_releases), "lab-kserve declares kserve present"


def test_network_policy_admits_only_the_serving_port(plans: dict[str, ResourcePlan]) -> None:
    dev = {r.model: r for r in plans["lab-dev"].of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert set(dev) == {"fraud-xgb", "llama3-8b-chat", "resnet50-vision"}
    ports = [as_int(p["port"]) for p in dev["llama3-8b-chat"].inputs["spec"]["ingress"][0]["ports"]]
    assert ports == [8000], dev["llama3-8b-chat"].urn
    kserve = [r for r in plans["lab-kserve"].of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if r.model == "llama3-8b-chat"][0]
    assert {8080, 8012} <= {as_int(p["port"]) for p in kserve.inputs["spec"]["ingress"][0]["ports"]}, "KServe runtime port and queue-proxy port"


def test_high_uid_pull_policy_and_ephemeral_storage(plans: dict[str, ResourcePlan]) -> None:
    for dep in _deployments(plans["lab-dev"]):
        pod = dep.inputs["spec"]["template"]["spec"]
        assert as_int(pod["securityContext"]["runAsUser"]) > 10000, dep.urn
        server = pod["containers"][0]
        assert server["imagePullPolicy"] == ("IfNotPresent" if "@sha256:" in server["image"] else "Always"), dep.urn
        assert "ephemeral-storage" in server["resources"]["limits"], dep.urn


def test_multi_replica_models_spread_across_nodes(plans: dict[str, ResourcePlan]) -> None:
    dep = _one(plans["lab-dev"], "kubernetes:apps/v1:Deployment", "fraud-xgb-deployment")
    terms = dep.inputs["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert {t["podAffinityTerm"]["topologyKey"] for t in terms} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_tag_waiver_only_outside_prod(plans: dict[str, ResourcePlan]) -> None:
    dep = _one(plans["lab-dev"], "kubernetes:apps/v1:Deployment", "llama3-8b-chat-deployment")
    assert "CKV_K8S_43" in dep.inputs["metadata"]["annotations"]["checkov.io/skip9"]
    for ds in plans["lab-kserve"].of_type("kubernetes:apps/v1:DaemonSet"):
        assert "checkov.io/skip9" not in ds.inputs["metadata"]["annotations"], f"{ds.urn}: prod pins digests, no waiver"
