"""`ModelServer`: one model served on Kubernetes (on-prem, EKS or AKS).

Engines:
- `deployment`: Namespace (restricted Pod Security), ServiceAccount, GPU ResourceQuota,
  Deployment (hardened pod, rolling update that never drops below min), Service,
  HPA v2 (cpu_utilization) or KEDA ScaledObject (other metrics, scale-to-zero), and a
  PodDisruptionBudget when min ≥ 2.
- `kserve`: Namespace, ServiceAccount, GPU ResourceQuota and an InferenceService with
  min/max replicas, scale metric/target, `canaryTrafficPercent` for canary rollouts.
The GPU ResourceQuota lives with the model's namespace: max replicas plus one surge pod.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import autoscaling, monitoring, pod
from components.kubernetes.objects import GPU_RESOURCE, KSERVE_API, digest_waiver, metadata, pod_security_context, runtime_data
from modelfleet.placement import Placement
from modelfleet.targets.kubernetes import KSERVE_METRICS


@dataclass(frozen=True)
class ModelServerArgs:
    """placement: the model on this stack; engine: deployment | kserve; node_selector: labels of
    its GPU pool ({} = derive from placement); prometheus_url: what KEDA queries;
    pull_secret: image pull secret name (external registries), None for none;
    storage_initializer_image: override of the pinned model-fetch image;
    alert_receiver: Alertmanager receiver the model's alerts route to;
    capture_url: sink of KServe's payload logger when the model samples requests."""

    placement: Placement
    engine: str = "deployment"
    node_selector: dict[str, str] = field(default_factory=dict)
    prometheus_url: str = "http://prometheus-operated.monitoring.svc:9090"
    pull_secret: str | None = None
    storage_initializer_image: str | None = None
    alert_receiver: str | None = None
    capture_url: str | None = None


# Knative/KServe route through the queue-proxy sidecar: its data (8012, 8022) and metrics (9090, 9091) ports
KSERVE_SIDECAR_PORTS = (8012, 8022, 9090, 9091)


def annotated(annotations: dict[str, str]) -> dict[str, Any]:
    return {"annotations": annotations} if annotations else {}


def pod_selector(p: Placement, engine: str) -> dict[str, str]:
    """Labels the model's pods carry: ours on Deployments, KServe's on InferenceService pods."""
    return {"serving.kserve.io/inferenceservice": p.name} if engine == "kserve" else {"app.kubernetes.io/name": p.name}


def network_policy(port: int, engine: str) -> dict[str, Any]:
    """Ingress to the model's pods only on the serving (and, on KServe, sidecar) ports; egress stays
    open because servers download weights and call token endpoints."""
    ports = [port, *(KSERVE_SIDECAR_PORTS if engine == "kserve" else ())]
    return {"podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": each, "protocol": "TCP"} for each in sorted(set(ports))]}]}


class ModelServer(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:kubernetes:ModelServer", name, None, opts)
        p = args.placement
        self._child = pulumi.ResourceOptions(parent=self)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": p.namespace, "labels": {**p.labels, "pod-security.kubernetes.io/enforce": "restricted"}},
            opts=self._child,
        )
        self._in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        k8s.networking.v1.NetworkPolicy(  # type: ignore[call-overload]
            f"{name}-netpol", metadata=metadata(p.name, p.namespace, p.labels),
            spec=network_policy(p.spec.serving.port, args.engine), opts=self._in_ns,
        )
        k8s.core.v1.ServiceAccount(  # type: ignore[call-overload]
            f"{name}-sa", metadata=metadata(p.name, p.namespace, p.labels),
            automount_service_account_token=False, opts=self._in_ns,
        )
        if p.gpus_per_replica:
            k8s.core.v1.ResourceQuota(  # type: ignore[call-overload]
                f"{name}-gpu-quota",
                metadata=metadata(f"{p.name}-gpu", p.namespace, p.labels),
                spec={"hard": {f"requests.{GPU_RESOURCE}": str((p.max_replicas + 1) * p.gpus_per_replica)}},
                opts=self._in_ns,
            )
        pod_spec = self._pod_spec(args)
        if args.engine == "kserve":
            self._kserve(name, args, pod_spec)
            host = f"{p.name}.{p.namespace}.svc.cluster.local"
        else:
            self._deployment(name, args, pod_spec)
            host = f"{p.name}.{p.namespace}.svc.cluster.local"
        if p.spec.monitoring.enabled:
            self._monitoring(name, args)
        self.url = pulumi.Output.from_input(f"http://{host}")
        self.register_outputs({"url": self.url})

    def _monitoring(self, name: str, args: ModelServerArgs) -> None:
        p = args.placement
        for role, obj in (("podmonitor", monitoring.pod_monitor(p, args.engine)),
                          ("alerts", monitoring.prometheus_rule(p, args.alert_receiver))):
            k8s.apiextensions.CustomResource(f"{name}-{role}", api_version=obj["apiVersion"], kind=obj["kind"],
                                             metadata=obj["metadata"], spec=obj["spec"], opts=self._in_ns)
        board = monitoring.dashboard_config_map(p)
        k8s.core.v1.ConfigMap(f"{name}-dashboard", metadata=board["metadata"], data=board["data"], opts=self._in_ns)

    def _pod_spec(self, args: ModelServerArgs) -> dict[str, Any]:
        p = args.placement
        spec: dict[str, Any] = {
            "serviceAccountName": p.name,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "initContainers": pod.init_containers(p, args.storage_initializer_image),
            "containers": [pod.serving_container(p)],
            "volumes": pod.volumes(p),
            "terminationGracePeriodSeconds": 60,
            **pod.scheduling(p, args.node_selector),
            **pod.spread(p, pod_selector(p, args.engine)),
        }
        if args.pull_secret:
            spec["imagePullSecrets"] = [{"name": args.pull_secret}]
        return spec

    def _deployment(self, name: str, args: ModelServerArgs, pod_spec: dict[str, Any]) -> None:
        p = args.placement
        selector = pod_selector(p, "deployment")
        spec = p.spec
        images = [c["image"] for c in pod_spec["containers"] + pod_spec["initContainers"]]
        k8s.apps.v1.Deployment(  # type: ignore[call-overload]
            f"{name}-deployment",
            metadata=metadata(p.name, p.namespace, p.labels, **annotated(digest_waiver(images, p.environment))),
            spec={
                # the autoscaler owns the live count; this is the count at creation
                "replicas": p.min_replicas,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "progressDeadlineSeconds": spec.serving.health.initial_delay_s + 60 * max(spec.rollout.bake_minutes, 5),
                "template": {"metadata": {"labels": p.labels}, "spec": pod_spec},
            },
            # HPA/KEDA change spec.replicas; IaC must not fight the autoscaler
            opts=pulumi.ResourceOptions.merge(self._in_ns, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])),
        )
        service_type = "LoadBalancer" if spec.network.public else "ClusterIP"
        k8s.core.v1.Service(  # type: ignore[call-overload]
            f"{name}-service",
            metadata=metadata(p.name, p.namespace, p.labels),
            spec={"type": service_type, "selector": selector,
                  "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
            opts=self._in_ns,
        )
        if spec.autoscaling.metric == "cpu_utilization":
            k8s.autoscaling.v2.HorizontalPodAutoscaler(  # type: ignore[call-overload]
                f"{name}-hpa", metadata=metadata(p.name, p.namespace, p.labels),
                spec=autoscaling.hpa_spec(p, p.name), opts=self._in_ns,
            )
        else:
            obj = autoscaling.scaled_object(p, p.name, args.prometheus_url)
            k8s.apiextensions.CustomResource(
                f"{name}-scaledobject", api_version=obj["apiVersion"], kind=obj["kind"],
                metadata=obj["metadata"], spec=obj["spec"], opts=self._in_ns,
            )
        self._disruption_budget(name, p, selector)

    def _disruption_budget(self, name: str, p: Placement, selector: dict[str, str]) -> None:
        """With ≥ 2 replicas a node drain may take only one at a time."""
        if p.min_replicas >= 2:
            k8s.policy.v1.PodDisruptionBudget(  # type: ignore[call-overload]
                f"{name}-pdb", metadata=metadata(p.name, p.namespace, p.labels),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}}, opts=self._in_ns,
            )

    def _kserve(self, name: str, args: ModelServerArgs, pod_spec: dict[str, Any]) -> None:
        p = args.placement
        spec = p.spec
        a = spec.autoscaling
        container = pod_spec["containers"][0]
        predictor: dict[str, Any] = {
            "minReplicas": p.min_replicas,
            "maxReplicas": p.max_replicas,
            "scaleMetric": KSERVE_METRICS[a.metric] or "concurrency",
            "scaleTarget": int(a.target),
            "serviceAccountName": pod_spec["serviceAccountName"],
            "securityContext": pod_spec["securityContext"],
            **{k: pod_spec[k] for k in ("tolerations", "nodeSelector", "imagePullSecrets", "affinity") if k in pod_spec},
        }
        if args.capture_url and spec.monitoring.enabled and spec.monitoring.data_capture.sample_percent > 0:
            predictor["logger"] = {"mode": "all", "url": args.capture_url}
        if spec.rollout.strategy in ("canary", "blue_green"):
            predictor["canaryTrafficPercent"] = spec.rollout.canary_percent if spec.rollout.strategy == "canary" else 0
        model_format = runtime_data()["kserve_model_format"].get(spec.serving.runtime)
        kserve_container = {**container, "name": "kserve-container"}
        kserve_container.pop("volumeMounts")
        if model_format and not spec.serving.image:
            # a KServe ServingRuntime supplies the image; the storage initializer fetches storageUri
            predictor["model"] = {
                "modelFormat": {"name": model_format},
                "storageUri": spec.model.uri,
                "args": list(spec.serving.args),
                "env": container["env"],
                "resources": container["resources"],
                "securityContext": container["securityContext"],
                "readinessProbe": container["readinessProbe"],
                "livenessProbe": container["livenessProbe"],
            }
        else:
            predictor["containers"] = [kserve_container]
        mode = "RawDeployment" if a.metric == "cpu_utilization" else "Serverless"
        k8s.apiextensions.CustomResource(
            f"{name}-inferenceservice",
            api_version=KSERVE_API,
            kind="InferenceService",
            metadata=metadata(p.name, p.namespace, p.labels,
                              annotations={"serving.kserve.io/deploymentMode": mode,
                                           "serving.kserve.io/enable-prometheus-scraping": "true"}),
            spec={"predictor": predictor},
            opts=self._in_ns,
        )
        self._disruption_budget(name, p, pod_selector(p, "kserve"))
