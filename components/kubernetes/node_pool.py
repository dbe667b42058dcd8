"""`GpuNodePool` (on-prem): make listed nodes a GPU pool the serving pods can target.

Creates, per node, a server-side-apply `NodePatch` adding the pool/accelerator labels and
the `nvidia.com/gpu=true:NoSchedule` taint (so only pods that tolerate it land there), and,
unless the stack declares it present, an NVIDIA device plugin DaemonSet restricted to the
pool's nodes. Cloud pools (EKS node groups, AKS agent pools) carry the same labels/taint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.objects import (
    ACCELERATOR_LABEL,
    GPU_TAINT,
    POOL_LABEL,
    container_security_context,
    digest_waiver,
    gpu_tolerations,
    metadata,
    pull_policy,
    runtime_data,
)


@dataclass(frozen=True)
class GpuNodePoolArgs:
    """pool: shape key; accelerator: vocabulary name; nodes: node names; labels: added to
    every object; install_device_plugin: create the DaemonSet (default True);
    device_plugin_image: override of the pinned plugin image (e.g. a digest-pinned mirror);
    environment: the stack's environment (digest waivers outside prod)."""

    pool: str
    accelerator: str
    nodes: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)
    install_device_plugin: bool = True
    device_plugin_image: str | None = None
    environment: str = "prod"


# The one justified waiver: the device plugin must create a socket in the kubelet's root-owned
# plugin directory and serves no HTTP endpoint to probe (the kubelet watches the socket).
_ROOT_REASON = "writes its socket into the kubelet's root-owned /var/lib/kubelet/device-plugins"
_PROBE_REASON = "serves no HTTP endpoint; the kubelet watches its socket"
DEVICE_PLUGIN_EXEMPTIONS = {
    "modelfleet.io/policy-exempt": "MF-K8S-001,MF-K8S-008",
    "modelfleet.io/policy-exempt-reason": f"device plugin {_ROOT_REASON} and {_PROBE_REASON}",
    # the same waivers in the form Checkov reads from a manifest
    "checkov.io/skip1": f"CKV_K8S_23=runs as root: {_ROOT_REASON}",
    "checkov.io/skip2": f"CKV_K8S_40=runs as root: {_ROOT_REASON}",
    "checkov.io/skip3": f"CKV_K8S_8={_PROBE_REASON}",
    "checkov.io/skip4": f"CKV_K8S_9={_PROBE_REASON}",
}


class GpuNodePool(pulumi.ComponentResource):
    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:kubernetes:GpuNodePool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        node_labels = {POOL_LABEL: args.pool, ACCELERATOR_LABEL: args.accelerator}
        self.node_selector = dict(node_labels)
        for node in args.nodes:
            k8s.core.v1.NodePatch(  # type: ignore[call-overload]
                f"{name}-{node}",
                metadata={"name": node, "labels": node_labels,
                          # server-side apply field manager: another manager's labels on the node stay untouched
                          "annotations": {"pulumi.com/patchForce": "true"}},
                spec={"taints": [dict(GPU_TAINT)]},
                opts=child,
            )
        if args.install_device_plugin:
            image = args.device_plugin_image or runtime_data()["device_plugin"]
            plugin_labels = {**args.labels, "app.kubernetes.io/name": "nvidia-device-plugin", POOL_LABEL: args.pool}
            k8s.apps.v1.DaemonSet(  # type: ignore[call-overload]
                f"{name}-device-plugin",
                metadata=metadata(f"nvidia-device-plugin-{args.pool}", "kube-system", plugin_labels,
                                  annotations={**DEVICE_PLUGIN_EXEMPTIONS, **digest_waiver([image], args.environment)}),
                spec={
                    "selector": {"matchLabels": {"app.kubernetes.io/name": "nvidia-device-plugin", POOL_LABEL: args.pool}},
                    "updateStrategy": {"type": "RollingUpdate"},
                    "template": {
                        "metadata": {"labels": plugin_labels},
                        "spec": {
                            "priorityClassName": "system-node-critical",
                            "nodeSelector": node_labels,
                            "tolerations": gpu_tolerations(),
                            "automountServiceAccountToken": False,
                            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                            "containers": [{
                                "name": "nvidia-device-plugin",
                                "image": image,
                                "imagePullPolicy": pull_policy(image),
                                "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}],
                                # root only to create its socket in the kubelet's root-owned directory;
                                # otherwise the hardened context (no capabilities, read-only root)
                                "securityContext": {**container_security_context(), "runAsNonRoot": False, "runAsUser": 0},
                                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                              "limits": {"cpu": "50m", "memory": "64Mi"}},
                                "volumeMounts": [{"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"}],
                            }],
                            "volumes": [{"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}],
                        },
                    },
                },
                opts=child,
            )
        self.register_outputs({"node_selector": self.node_selector})
