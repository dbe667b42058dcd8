"""`ClusterAddons`: the cluster-wide software an engine needs, installed as Helm releases.

Each add-on is either `install` (a Helm release registered here) or `present` (assumed
installed; preview lists what the stack assumes). Chart versions are data
(`modelfleet/data/runtime_images.json`), pinned so previews are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.objects import gpu_tolerations, runtime_data

HELM_ADDONS = ("keda", "kserve", "prometheus_operator", "dcgm_exporter", "argo_rollouts")


@dataclass(frozen=True)
class ClusterAddonsArgs:
    """install: add-on names to install as Helm releases (subset of HELM_ADDONS);
    dcgm_namespace_label: the label DCGM series should carry the pod namespace in (None = namespace);
    monitor_labels: labels an existing Prometheus selects ServiceMonitors by."""

    install: tuple[str, ...]
    dcgm_namespace_label: str | None = None
    monitor_labels: dict[str, str] = field(default_factory=dict)


class ClusterAddons(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:kubernetes:ClusterAddons", name, None, opts)
        charts = runtime_data()["helm_charts"]
        self.releases: dict[str, k8s.helm.v3.Release] = {}
        for addon in args.install:
            chart = charts[addon]
            values = {}
            if addon == "dcgm_exporter":
                # the exporter must run on the tainted GPU nodes it measures
                # AKS taints spot nodes itself; tolerating that taint is harmless everywhere else
                spot = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}
                # honorLabels keeps the exporter's own `namespace` label (the GPU's pod namespace) instead of
                # renaming it exported_namespace, so GPU queries select the model's namespace by `namespace`
                honor = (args.dcgm_namespace_label or "namespace") == "namespace"
                monitor = {"enabled": True, "honorLabels": honor, **({"additionalLabels": dict(args.monitor_labels)} if args.monitor_labels else {})}
                values = {"tolerations": [*gpu_tolerations(), spot], "serviceMonitor": monitor}
            elif addon == "prometheus_operator":
                # kube-prometheus-stack 75.15.1 selects only monitors and rules labelled release=<release> unless these are
                # false (charts/kube-prometheus-stack/values.yaml *SelectorNilUsesHelmValues: true); the models' own
                # PodMonitors and PrometheusRules live in their namespaces without that label
                values = {"prometheus": {"prometheusSpec": {"podMonitorSelectorNilUsesHelmValues": False,
                                                            "serviceMonitorSelectorNilUsesHelmValues": False,
                                                            "ruleSelectorNilUsesHelmValues": False}}}
            self.releases[addon] = k8s.helm.v3.Release(
                f"{name}-{addon.replace('_', '-')}",
                chart=chart["chart"],
                version=chart["version"],
                namespace=chart["namespace"],
                create_namespace=True,
                repository_opts={"repo": chart["repo"]} if chart["repo"] else None,
                values=values,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
