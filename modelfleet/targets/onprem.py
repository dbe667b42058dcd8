"""On-prem Kubernetes: models go onto the stack's listed GPU nodes.

A model fits a node when the node's accelerator is the one asked for (or, for
`{min_memory_gib}`, any accelerator with that much memory — the smallest such one wins,
then the cheapest internal rate) and the node has at least the replica's GPU count.
Capacity: the models' floor (min replicas × GPUs) must fit the matching nodes (error);
their peak (max replicas) should (warning: the autoscaler will stop short).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from modelfleet import catalog
from modelfleet.environment import AnyStack, GpuNode, KubernetesStack, OnPremCluster
from modelfleet.placed import NodeShape, Placement, placement_for
from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec
from modelfleet.targets.kubernetes import engine_diagnostics
from modelfleet.targets.kubernetes_rollout import KubernetesRollouts


def _node_accelerator(node: GpuNode) -> catalog.Accelerator | None:
    try:
        return catalog.accelerator(node.accelerator)
    except Exception:  # noqa: BLE001 - reported by check_stack as a stack problem
        return None


def _describe(nodes: tuple[GpuNode, ...]) -> str:
    return ", ".join(f"{n.name} ({n.count}×{n.accelerator})" for n in nodes) or "no GPU nodes listed"


class OnPremTarget(KubernetesRollouts):
    NAME = "onprem"
    UNSUPPORTED = {"spot": "on-prem nodes have no spot market; `spot` is ignored"}

    def place(self, spec: ModelSpec, stack: AnyStack) -> Placement:
        assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, OnPremCluster)
        cluster = stack.cluster
        diagnostics = engine_diagnostics(spec, stack.serving, stack.addons.argo_rollouts is not None)
        request = spec.resources.accelerator
        shape = None
        accelerator = None
        if spec.spot:
            diagnostics.append(Diagnostic("warning", spec.name, "spot", self.UNSUPPORTED["spot"]))
        if request is not None:
            candidates = []
            for node in cluster.gpu_nodes:
                acc = _node_accelerator(node)
                if acc is None or node.count < request.count:
                    continue
                if request.name is not None and acc.name != request.name:
                    continue
                if request.min_memory_gib is not None and acc.memory_gib < request.min_memory_gib:
                    continue
                rate = cluster.gpu_hour_usd.get(acc.name, Decimal("Infinity"))
                candidates.append((acc.memory_gib, rate, acc.name, node))
            if not candidates:
                diagnostics.append(Diagnostic(
                    "error", spec.name, "resources.accelerator",
                    f"no GPU node on stack {stack.stack!r} fits {request.label} per replica; the nodes offer: "
                    f"{_describe(cluster.gpu_nodes)}. To fix: list a node with that accelerator in modelfleet:cluster.gpu_nodes, "
                    "change resources.accelerator to one the nodes have, or leave the model out with modelfleet:models"))
            else:
                candidates.sort(key=lambda c: (c[0], c[1], c[2]))
                accelerator = candidates[0][2]
                nodes = tuple(sorted(c[3].name for c in candidates if c[2] == accelerator))
                per_node = min(c[3].count for c in candidates if c[2] == accelerator)
                shape = NodeShape(key=accelerator.lower(), accelerator=accelerator, gpus_per_node=per_node, nodes=nodes)
        name = spec.name
        return placement_for(spec, stack, self.NAME, name=name, accelerator=accelerator,
                             gpus_per_replica=request.count if request else 0, shape=shape,
                             names={"service": f"{name}.{name}.svc.cluster.local"}, diagnostics=diagnostics)

    def check_stack(self, stack: AnyStack, placements: list[Placement]) -> list[Diagnostic]:
        assert isinstance(stack, KubernetesStack) and isinstance(stack.cluster, OnPremCluster)
        out = []
        for node in stack.cluster.gpu_nodes:
            if _node_accelerator(node) is None:
                out.append(Diagnostic("error", "", "modelfleet:cluster.gpu_nodes",
                                      f"node {node.name!r} lists unknown accelerator {node.accelerator!r}. "
                                      f"To fix: use one of {', '.join(catalog.ACCELERATOR_NAMES)}"))
        available: dict[str, int] = defaultdict(int)
        for node in stack.cluster.gpu_nodes:
            node_acc = _node_accelerator(node)
            if node_acc is not None:
                available[node_acc.name] += node.count
        floor: dict[str, int] = defaultdict(int)
        peak: dict[str, int] = defaultdict(int)
        users: dict[str, list[str]] = defaultdict(list)
        for p in placements:
            if p.accelerator:
                floor[p.accelerator] += p.gpus_per_replica * p.min_replicas
                peak[p.accelerator] += p.peak_gpus
                users[p.accelerator].append(p.model)
        for acc in sorted(peak):
            models = ", ".join(users[acc])
            if floor[acc] > available[acc]:
                out.append(Diagnostic("error", models, "autoscaling.min_replicas",
                                      f"the minimum replicas of {models} need {floor[acc]} {acc} GPUs but the nodes have "
                                      f"{available[acc]}. To fix: lower min_replicas or add {acc} nodes"))
            elif peak[acc] > available[acc]:
                out.append(Diagnostic("warning", models, "autoscaling.max_replicas",
                                      f"at max replicas {models} need {peak[acc]} {acc} GPUs but the nodes have "
                                      f"{available[acc]}: the autoscaler will stop short of max"))
        return out
