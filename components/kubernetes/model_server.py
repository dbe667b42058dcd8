"""`ModelServer`: one model served on Kubernetes (on-prem, EKS or AKS).

Engines:
- `deployment`: Namespace (restricted Pod Security), ServiceAccount, GPU ResourceQuota,
  Deployment (hardened pod, rolling update that never drops below min), Service,
  HPA v2 (cpu_utilization) or KEDA ScaledObject (other metrics, scale-to-zero), and a
  PodDisruptionBudget when min ≥ 2. With Argo Rollouts (`argo_rollout`) an Argo Rollout drives
  the Deployment through `workloadRef`, the autoscaler targets the Rollout, blue/green adds the
  preview Service, and a rollout in progress its AnalysisTemplate (`components.kubernetes.argo`).
- `kserve`: Namespace, ServiceAccount, GPU ResourceQuota and an InferenceService with
  min/max replicas and autoscaling (`kserve_autoscaling`), `canaryTrafficPercent` during a rollout
  (`rollouts`), for canary
  rollouts.
The GPU ResourceQuota lives with the model's namespace: max replicas plus one surge pod.
Ports, probes, scrape endpoint and every metric query come from the runtime profile
(`modelfleet.runtimes.profile_for(spec, engine)`); the NetworkPolicy admits the serving port
from anywhere in the cluster and the metrics port from the monitoring namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import argo, artifacts, autoscaling, kserve_autoscaling, monitoring, pod, rollouts
from components.kubernetes.objects import (
    GPU_RESOURCE,
    KSERVE_API,
    KSERVE_CONTAINER,
    RUNTIME_CONFIG_VOLUME,
    digest_waiver,
    metadata,
    pod_security_context,
    runtime_data,
)
from modelfleet import argo_rollouts
from modelfleet.placement import Placement
from modelfleet.runtimes import RuntimeProfile, profile_for


@dataclass(frozen=True)
class ModelServerArgs:
    """placement: the model on this stack; engine: deployment | kserve; node_selector: labels of
    its GPU pool ({} = derive from placement); prometheus_url: what KEDA queries;
    pull_secret: image pull secret name (external registries), None for none;
    storage_initializer_image: override of the pinned model-fetch image;
    alert_receiver: Alertmanager receiver the model's alerts route to;
    capture_url: sink of KServe's payload logger when the model samples requests;
    gpu_namespace_label: label carrying the pod namespace on DCGM series;
    monitoring_namespace: namespace Prometheus scrapes from (admitted to the metrics port);
    monitor_labels: extra labels on the PodMonitor and PrometheusRule (Prometheus' selectors);
    fetch_images: overrides of the pinned fetch images by family (modelfleet:images);
    service_account_annotations / pod_labels: workload identity wiring (IRSA role ARN, Azure
    workload identity client id and label); secrets: a callable (name, opts) -> resources that
    creates the model's Secrets in its namespace, which the pods wait for;
    egress: the egress rules of the model's NetworkPolicy (`egress.egress_rules`; None = open);
    production: protect the model's namespace from deletion (like the registries);
    argo_rollout: an Argo Rollout drives the Deployment (`modelfleet.argo_rollouts.drives`)."""

    placement: Placement
    engine: str = "deployment"
    node_selector: dict[str, str] = field(default_factory=dict)
    prometheus_url: str = "http://prometheus-operated.monitoring.svc:9090"
    pull_secret: str | None = None
    storage_initializer_image: str | None = None
    alert_receiver: str | None = None
    capture_url: str | None = None
    gpu_namespace_label: str = "namespace"
    monitoring_namespace: str = "monitoring"
    monitor_labels: dict[str, str] = field(default_factory=dict)
    fetch_images: dict[str, str] = field(default_factory=dict)
    service_account_annotations: dict[str, Any] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    secrets: Any = None
    egress: list[dict[str, Any]] | None = None
    production: bool = False
    argo_rollout: bool = False


# Knative/KServe route through the queue-proxy sidecar: its data (8012, 8022) and metrics (9090, 9091) ports
KSERVE_SIDECAR_PORTS = (8012, 8022, 9090, 9091)


def annotated(annotations: dict[str, str]) -> dict[str, Any]:
    return {"annotations": annotations} if annotations else {}


def pod_selector(p: Placement, engine: str) -> dict[str, str]:
    """Labels the model's pods carry: ours on Deployments, KServe's on InferenceService pods."""
    return {"serving.kserve.io/inferenceservice": p.name} if engine == "kserve" else {"app.kubernetes.io/name": p.name}


def network_policy(profile: RuntimeProfile, engine: str, monitoring_namespace: str,
                   egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Ingress to the model's pods only on the serving (and, on KServe, sidecar) ports, plus the
    runtime's metrics port from the monitoring namespace; egress limited to `egress` (see
    components.kubernetes.egress), or open when it is None."""
    ports = [profile.port, *(KSERVE_SIDECAR_PORTS if engine == "kserve" else ())]
    ingress: list[dict[str, Any]] = [{"ports": [{"port": each, "protocol": "TCP"} for each in sorted(set(ports))]}]
    if profile.metrics_port not in ports:
        ingress.append({"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": monitoring_namespace}}}],
                        "ports": [{"port": profile.metrics_port, "protocol": "TCP"}]})
    if egress is None:
        return {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": ingress}
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress}


class ModelServer(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:kubernetes:ModelServer", name, None, opts)
        p = args.placement
        self.profile = profile_for(p.spec, args.engine)
        self._child = pulumi.ResourceOptions(parent=self)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": p.namespace, "labels": {**p.labels, "pod-security.kubernetes.io/enforce": "restricted"}},
            # a production namespace holds the serving objects: `pulumi destroy` must be deliberate
            opts=pulumi.ResourceOptions(parent=self, protect=args.production),
        )
        self._in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        k8s.networking.v1.NetworkPolicy(  # type: ignore[call-overload]
            f"{name}-netpol", metadata=metadata(p.name, p.namespace, p.labels),
            spec=network_policy(self.profile, args.engine, args.monitoring_namespace, args.egress), opts=self._in_ns,
        )
        config_files = pod.runtime_config(p, self.profile)
        if config_files:
            k8s.core.v1.ConfigMap(f"{name}-runtime-config", metadata=metadata(pod.runtime_config_name(p), p.namespace, p.labels),
                                  data=config_files, opts=self._in_ns)
        k8s.core.v1.ServiceAccount(  # type: ignore[call-overload]
            f"{name}-sa", metadata=metadata(p.name, p.namespace, p.labels, **annotated(args.service_account_annotations)),
            automount_service_account_token=False, opts=self._in_ns,
        )
        if args.secrets is not None:
            made = args.secrets(name, self._in_ns)
            if made:
                # pods reference these Secrets by name: create them first
                self._in_ns = pulumi.ResourceOptions.merge(self._in_ns, pulumi.ResourceOptions(depends_on=made))
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
        gpu_label = args.gpu_namespace_label
        driven = args.argo_rollout
        for role, obj in (("podmonitor", monitoring.pod_monitor(p, args.engine, self.profile, driven)),
                          ("alerts", monitoring.prometheus_rule(p, args.alert_receiver, self.profile, gpu_label, driven))):
            meta = {**obj["metadata"], "labels": {**obj["metadata"]["labels"], **args.monitor_labels}}
            k8s.apiextensions.CustomResource(f"{name}-{role}", api_version=obj["apiVersion"], kind=obj["kind"],
                                             metadata=meta, spec=obj["spec"], opts=self._in_ns)
        rollback = rollouts.rollback_rule(p, args.alert_receiver, self.profile) if args.engine == "kserve" else None
        if rollback is not None:  # KServe has no automatic rollback: the on-call sees the rollback_on conditions
            meta = {**rollback["metadata"], "labels": {**rollback["metadata"]["labels"], **args.monitor_labels}}
            k8s.apiextensions.CustomResource(f"{name}-rollback-alerts", api_version=rollback["apiVersion"], kind=rollback["kind"],
                                             metadata=meta, spec=rollback["spec"], opts=self._in_ns)
        board = monitoring.dashboard_config_map(p, self.profile, gpu_label)
        k8s.core.v1.ConfigMap(f"{name}-dashboard", metadata=board["metadata"], data=board["data"], opts=self._in_ns)

    def _pod_spec(self, args: ModelServerArgs) -> dict[str, Any]:
        p = args.placement
        spec: dict[str, Any] = {
            "serviceAccountName": p.name,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "initContainers": pod.init_containers(p, {**({"storage_initializer": args.storage_initializer_image}
                                                          if args.storage_initializer_image else {}), **args.fetch_images}),
            "containers": [pod.serving_container(p, self.profile)],
            "volumes": pod.volumes(p, self.profile),
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
        # under Argo Rollouts the Rollout (steps, analysis) is updated before the Deployment's pod template:
        # a new version must meet the rollout's steps, not the previous, step-less spec
        rollout = self._rollout(name, args) if args.argo_rollout else None
        order = pulumi.ResourceOptions(depends_on=[rollout]) if rollout is not None else None
        k8s.apps.v1.Deployment(  # type: ignore[call-overload]
            f"{name}-deployment",
            metadata=metadata(p.name, p.namespace, p.labels, **annotated(digest_waiver(images, p.environment))),
            spec={
                # the autoscaler owns the live count; this is the count at creation. Under a Rollout the
                # Deployment only holds the pod template: the Rollout scales it down as its own pods become
                # ready (workloadRef.scaleDown: progressively), so no capacity is lost on the way
                "replicas": p.min_replicas,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "progressDeadlineSeconds": spec.serving.health.initial_delay_s + 60 * max(spec.rollout.bake_minutes, 5),
                "template": {"metadata": {"labels": {**p.labels, **args.pod_labels}}, "spec": pod_spec},
            },
            # HPA/KEDA (or, under a Rollout, Argo Rollouts) change spec.replicas; IaC must not fight them
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions.merge(self._in_ns, order),
                                              pulumi.ResourceOptions(ignore_changes=["spec.replicas"])),
        )
        service_type = "LoadBalancer" if spec.network.public else "ClusterIP"
        services = [(f"{name}-service", p.name, service_type)]
        if args.argo_rollout and spec.rollout.strategy == "blue_green":
            # Argo Rollouts points each Service's selector at one version's pods (adds rollouts-pod-template-hash)
            services.append((f"{name}-preview-service", argo_rollouts.preview_service_name(p.name), "ClusterIP"))
        for resource, service, kind in services:
            k8s.core.v1.Service(  # type: ignore[call-overload]
                resource,
                metadata=metadata(service, p.namespace, p.labels),
                spec={"type": kind, "selector": selector,
                      "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
                opts=self._in_ns,
            )
        target = (argo_rollouts.ROLLOUTS_API, "Rollout") if rollout is not None else autoscaling.DEPLOYMENT_TARGET
        if spec.autoscaling.metric == "cpu_utilization":
            k8s.autoscaling.v2.HorizontalPodAutoscaler(  # type: ignore[call-overload]
                f"{name}-hpa", metadata=metadata(p.name, p.namespace, p.labels),
                spec=autoscaling.hpa_spec(p, p.name, target), opts=self._in_ns,
            )
        else:
            obj = autoscaling.scaled_object(p, p.name, args.prometheus_url, self.profile, args.gpu_namespace_label, target)
            k8s.apiextensions.CustomResource(
                f"{name}-scaledobject", api_version=obj["apiVersion"], kind=obj["kind"],
                metadata=obj["metadata"], spec=obj["spec"], opts=self._in_ns,
            )
        self._disruption_budget(name, p, selector)

    def _rollout(self, name: str, args: ModelServerArgs) -> pulumi.Resource:
        """The Argo Rollout (and its AnalysisTemplate during a rollout) that drives the Deployment; the
        autoscaler's target. The PDB keeps selecting the pods by name: both versions' pods carry it."""
        p = args.placement
        template = argo.analysis_template(p, self.profile, args.prometheus_url) if p.spec.monitoring.enabled else None
        analysis = None
        if template is not None:
            analysis = k8s.apiextensions.CustomResource(f"{name}-analysis", api_version=template["apiVersion"], kind=template["kind"],
                                                        metadata=template["metadata"], spec=template["spec"], opts=self._in_ns)
        obj = argo.rollout(p, template is not None)
        # the AnalysisTemplate exists before the Rollout names it; HPA/KEDA change spec.replicas through
        # the Rollout's scale subresource, and IaC must not fight them
        ordered = pulumi.ResourceOptions(depends_on=[analysis], ignore_changes=["spec.replicas"]) if analysis is not None \
            else pulumi.ResourceOptions(ignore_changes=["spec.replicas"])
        return k8s.apiextensions.CustomResource(
            f"{name}-rollout", api_version=obj["apiVersion"], kind=obj["kind"], metadata=obj["metadata"], spec=obj["spec"],
            opts=pulumi.ResourceOptions.merge(self._in_ns, ordered),
        )

    def _disruption_budget(self, name: str, p: Placement, selector: dict[str, str]) -> None:
        """With ≥ 2 replicas a node drain may take only one at a time."""
        if p.min_replicas >= 2:
            k8s.policy.v1.PodDisruptionBudget(  # type: ignore[call-overload]
                f"{name}-pdb", metadata=metadata(p.name, p.namespace, p.labels),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}}, opts=self._in_ns,
            )

    def _runtime_config_volume(self, predictor: dict[str, Any], container: dict[str, Any], pod_spec: dict[str, Any]) -> None:
        """Only the runtime's config file travels to a KServe predictor: KServe fetches the model itself."""
        cfg = self.profile.config_file
        if cfg:
            container["volumeMounts"] = [{"name": RUNTIME_CONFIG_VOLUME, "mountPath": cfg["mount_path"], "readOnly": True}]
            predictor["volumes"] = [v for v in pod_spec["volumes"] if v["name"] == RUNTIME_CONFIG_VOLUME]

    def _kserve(self, name: str, args: ModelServerArgs, pod_spec: dict[str, Any]) -> None:
        p = args.placement
        spec = p.spec
        profile = self.profile
        container = pod_spec["containers"][0]
        annotations, scaling = kserve_autoscaling.autoscaling(p, profile, args.prometheus_url, args.gpu_namespace_label)
        predictor: dict[str, Any] = {
            **scaling,
            "serviceAccountName": pod_spec["serviceAccountName"],
            "securityContext": pod_spec["securityContext"],
            **{k: pod_spec[k] for k in ("tolerations", "nodeSelector", "imagePullSecrets", "affinity") if k in pod_spec},
        }
        if args.pod_labels:
            predictor["labels"] = dict(args.pod_labels)
        if args.capture_url and spec.monitoring.enabled and spec.monitoring.data_capture.sample_percent > 0:
            predictor["logger"] = {"mode": "all", "url": args.capture_url}
        canary = rollouts.canary_traffic_percent(p.rollout)  # only during a rollout (modelfleet:stable ≠ version)
        if canary is not None:
            predictor["canaryTrafficPercent"] = canary
        storage_uri = artifacts.kserve_storage(p)
        fetch = pod_spec["initContainers"]
        if profile.engine == "kserve":
            # a KServe ServingRuntime supplies image, port and its own args; the storage initializer
            # fetches storageUri (KServe's schemes); probes are the runtime's, on the runtime's port
            model_format = runtime_data()["kserve_model_format"][spec.serving.runtime]
            predictor["model"] = {
                "modelFormat": {"name": model_format},
                "runtime": profile.kserve_runtime,
                **({"storageUri": storage_uri} if storage_uri else {}),
                "args": [*profile.extra_args, *spec.serving.args],
                "env": container["env"],
                "resources": container["resources"],
                "securityContext": container["securityContext"],
                "readinessProbe": container["readinessProbe"],
                "livenessProbe": container["livenessProbe"],
            }
            self._runtime_config_volume(predictor, predictor["model"], pod_spec)
            target = predictor["model"]
        else:
            kserve_container = {**container, "name": KSERVE_CONTAINER}
            kserve_container.pop("volumeMounts")
            self._runtime_config_volume(predictor, kserve_container, pod_spec)
            if storage_uri:
                # KServe injects its storage initializer for a custom container that names STORAGE_URI
                kserve_container["env"] = [*kserve_container["env"], {"name": "STORAGE_URI", "value": storage_uri}]
            predictor["containers"] = [kserve_container]
            target = kserve_container
        if fetch:
            # our fetch step (MLflow's client against a tracking server) fills the model volume the server mounts
            predictor["initContainers"] = fetch
            keep = {"model", "tmp", "cache"}
            predictor["volumes"] = [*predictor.get("volumes", []), *(v for v in pod_spec["volumes"] if v["name"] in keep)]
            target["volumeMounts"] = [*target.get("volumeMounts", []), artifacts.model_mount(p)]
        annotations["serving.kserve.io/enable-prometheus-scraping"] = "true"
        k8s.apiextensions.CustomResource(
            f"{name}-inferenceservice",
            api_version=KSERVE_API,
            kind="InferenceService",
            metadata=metadata(p.name, p.namespace, p.labels, annotations=annotations),
            spec={"predictor": predictor},
            opts=self._in_ns,
        )
        self._disruption_budget(name, p, pod_selector(p, "kserve"))
