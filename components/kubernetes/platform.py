"""The Kubernetes serving path: on-prem `deploy`, and `deploy_serving` reused by EKS and AKS.

`deploy(sp)` (on-prem): a kubeconfig-context provider, add-ons the stack installs, one
`GpuNodePool` per accelerator in use, one `ModelServer` per model. `deploy_serving(sp,
provider)` is the part every Kubernetes target shares: add-ons and model servers.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.addons import HELM_ADDONS, ClusterAddons, ClusterAddonsArgs
from components.kubernetes.egress import egress_rules
from components.kubernetes.model_server import ModelServer, ModelServerArgs
from components.kubernetes.node_pool import GpuNodePool, GpuNodePoolArgs
from components.kubernetes.objects import ACCELERATOR_LABEL, POOL_LABEL
from components.kubernetes.secrets import model_secrets
from modelfleet import argo_rollouts, promql
from modelfleet.environment import EksCluster, KubernetesStack, OnPremCluster
from modelfleet.placement import StackPlacement

FETCH_FAMILIES = ("storage_initializer", "mlflow_fetch")  # modelfleet:images keys that replace a pinned fetch image


def addons_to_install(stack: KubernetesStack, sp: StackPlacement) -> tuple[str, ...]:
    """Helm add-ons this stack installs, limited to what its models need."""
    a = stack.addons
    needs = {"kserve": stack.serving == "kserve",
             "keda": stack.serving == "deployment" and any(p.spec.autoscaling.metric != "cpu_utilization" for p in sp.placements),
             "prometheus_operator": any(p.spec.monitoring.enabled for p in sp.placements),
             "dcgm_exporter": any(p.gpus_per_replica for p in sp.placements),
             "argo_rollouts": any(argo_rollouts.drives(p.spec, stack) for p in sp.placements)}
    return tuple(name for name in HELM_ADDONS if needs[name] and getattr(a, name) == "install")


def _called_endpoints(stack: KubernetesStack) -> list[str]:
    """Endpoints model pods call besides the model store: the MLflow server a models:/ fetch asks
    (an http(s) tracking URI) and KServe's payload-logger sink."""
    tracking = stack.mlflow.tracking_uri if stack.mlflow and stack.mlflow.tracking_uri.startswith(("http://", "https://")) else None
    return [url for url in (tracking, stack.capture_url) if url]


def _pod_identity_agent(stack: KubernetesStack) -> bool:
    return isinstance(stack.cluster, EksCluster) and stack.cluster.identity == "pod_identity"


def deploy_serving(sp: StackPlacement, provider: pulumi.ProviderResource | None,
                   depends_on: list[pulumi.Resource] | None = None,
                   workload: dict[str, dict[str, Any]] | None = None) -> dict[str, pulumi.Output[str]]:
    """Add-ons and one ModelServer per model; `workload` gives per model the ServiceAccount annotations
    and pod labels of its cloud identity (EKS / AKS)."""
    stack = sp.stack
    assert isinstance(stack, KubernetesStack)
    opts = pulumi.ResourceOptions(provider=provider, depends_on=depends_on or [])
    install = addons_to_install(stack, sp)
    addons = ClusterAddons(f"{stack.stack}-addons", ClusterAddonsArgs(install, stack.addons.dcgm_namespace_label, dict(stack.addons.monitor_labels)), opts) if install else None
    server_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[addons] if addons else []))
    pull_secret = stack.registry.pull_secret if stack.registry.kind == "external" else None
    endpoints = {}
    gpu_label = promql.gpu_namespace_label(stack.addons.dcgm_exporter, stack.addons.dcgm_namespace_label)
    for p in sp.placements:
        selector = {POOL_LABEL: p.shape.key, ACCELERATOR_LABEL: p.accelerator or ""} if p.shape else {}
        args = ModelServerArgs(p, stack.serving, selector, stack.addons.prometheus_url, pull_secret,
                               stack.image("storage_initializer"), stack.alerts.alertmanager_receiver,
                               stack.capture_url, gpu_label, stack.addons.monitoring_namespace,
                               dict(stack.addons.monitor_labels),
                               fetch_images={k: v for k, v in stack.images.items() if k in FETCH_FAMILIES},
                               service_account_annotations=(workload or {}).get(p.model, {}).get("annotations", {}),
                               pod_labels=(workload or {}).get(p.model, {}).get("labels", {}),
                               secrets=model_secrets(stack, p, provider),
                               egress=egress_rules(stack.egress, _called_endpoints(stack), _pod_identity_agent(stack)),
                               production=stack.production, argo_rollout=argo_rollouts.drives(p.spec, stack))
        server = ModelServer(p.name, args, server_opts)
        endpoints[p.model] = server.url
    return endpoints


def deploy(sp: StackPlacement) -> dict[str, pulumi.Output[str]]:
    stack = sp.stack
    assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, OnPremCluster)
    provider = k8s.Provider(f"{stack.stack}-k8s", context=stack.cluster.context) if stack.cluster.context else None
    opts = pulumi.ResourceOptions(provider=provider)
    pools = [
        GpuNodePool(f"gpu-{key}", GpuNodePoolArgs(key, shape.accelerator or "", shape.nodes, stack.shared_labels(),
                                                  stack.addons.nvidia_device_plugin == "install",
                                                  stack.image("device_plugin"), stack.environment), opts)
        for key, (shape, _) in sp.shapes().items()
    ]
    return deploy_serving(sp, provider, depends_on=list(pools))
