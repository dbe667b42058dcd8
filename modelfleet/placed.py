"""Placed types every side shares: `NodeShape`, `Placement`, `StackPlacement`, and the helpers
every target fills the same way (`placement_for`, `requirement_of`, labels, tags, default image).

Contract: pure data and pure functions, no Pulumi. `modelfleet.placement` (which chooses a
target per stack), the targets in `modelfleet.targets` and `modelfleet.alert_destinations`
all import from here, so none of them imports another in a cycle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from modelfleet.environment import AnyStack
from modelfleet.plan import MODEL_LABEL, Diagnostic
from modelfleet.rollout import RolloutPlan, rollout_for
from modelfleet.spec import ModelSpec

if TYPE_CHECKING:
    from modelfleet.artifacts import ArtifactPlan
    from modelfleet.catalog import Offer, Requirement


@dataclass(frozen=True)
class NodeShape:
    """A GPU pool shape: models with the same shape share one node pool.

    On-prem: `nodes` lists the cluster nodes; cloud: `offer` is the instance type / VM size."""

    key: str
    accelerator: str | None
    gpus_per_node: int
    spot: bool = False
    nodes: tuple[str, ...] = ()
    offer: Offer | None = None

    @property
    def instance_type(self) -> str | None:
        return self.offer.instance_type if self.offer else None


@dataclass(frozen=True)
class Placement:
    """One model on one stack, ready for the components."""

    model: str
    version: str
    spec: ModelSpec
    stack: str
    target: str
    environment: str
    name: str
    namespace: str
    labels: dict[str, str]
    tags: dict[str, str]
    accelerator: str | None
    gpus_per_replica: int
    min_replicas: int
    max_replicas: int
    image: str
    shape: NodeShape | None = None
    offer: Offer | None = None
    names: dict[str, str] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    rollout: RolloutPlan | None = None
    artifact: ArtifactPlan | None = None

    @property
    def peak_gpus(self) -> int:
        return self.gpus_per_replica * self.max_replicas

    @property
    def ok(self) -> bool:
        return not any(d.level == "error" for d in self.diagnostics)


@dataclass(frozen=True)
class StackPlacement:
    stack: AnyStack
    placements: tuple[Placement, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]

    def shapes(self) -> dict[str, tuple[NodeShape, list[Placement]]]:
        """Node shapes in use, each with the placements that run on it (sorted by key)."""
        grouped: dict[str, tuple[NodeShape, list[Placement]]] = {}
        for p in self.placements:
            if p.shape is not None:
                grouped.setdefault(p.shape.key, (p.shape, []))[1].append(p)
        return dict(sorted(grouped.items()))


@lru_cache(maxsize=1)
def _runtime_images() -> dict[str, dict[str, str]]:
    text = resources.files("modelfleet.data").joinpath("runtime_images.json").read_text(encoding="utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def default_image(spec: ModelSpec, stack: AnyStack) -> str:
    """The stack's pin for this model, the spec's image, the stack's per-runtime override, or the
    runtime's default image. A pin (`modelfleet:images.<model>`) is what the deploy workflow writes
    to promote the digest an earlier stage built and smoke-tested, so it outranks the spec."""
    if spec.name in stack.images:
        return stack.images[spec.name]
    if spec.serving.image:
        return spec.serving.image
    if spec.serving.runtime in stack.images:
        return stack.images[spec.serving.runtime]
    flavour = "gpu" if spec.resources.accelerator else "cpu"
    return _runtime_images()[flavour][spec.serving.runtime]


def labels_for(spec: ModelSpec, stack: AnyStack) -> dict[str, str]:
    """Kubernetes labels: model identity, owner, and the stack's cost tags."""
    labels = {
        "app.kubernetes.io/name": spec.name,
        "app.kubernetes.io/version": spec.version,
        "app.kubernetes.io/managed-by": "modelfleet",
        MODEL_LABEL: spec.name,
        "modelfleet.io/owner": spec.owner,
        "owner": spec.owner,
    }
    for key, value in stack.tags.items():
        labels.setdefault(key, value)
    return labels


def tags_for(spec: ModelSpec, stack: AnyStack) -> dict[str, str]:
    """Cloud tags (AWS and Azure accept these keys): model, version, owner, cost tags."""
    tags = {"modelfleet:model": spec.name, "modelfleet:version": spec.version, "modelfleet:stack": stack.stack,
            "owner": spec.owner, "managed-by": "modelfleet"}
    for key, value in stack.tags.items():
        tags.setdefault(key, value)
    return tags


def requirement_of(spec: ModelSpec) -> Requirement:
    """What ONE replica needs, in catalog terms (named GPU or minimum GPU memory, CPU, RAM)."""
    from modelfleet.catalog import Requirement

    acc = spec.resources.accelerator
    return Requirement(
        accelerator=acc.name if acc else None,
        gpu_count=acc.count if acc else 0,
        min_gpu_memory_gib=acc.min_memory_gib if acc else None,
        vcpus=spec.resources.cpu,
        memory_gib=spec.resources.memory_gib,
    )


def placement_for(spec: ModelSpec, stack: AnyStack, target: str, *, accelerator: str | None, gpus_per_replica: int,
                  diagnostics: list[Diagnostic], name: str | None = None, namespace: str | None = None,
                  min_replicas: int | None = None, max_replicas: int | None = None, image: str | None = None,
                  shape: NodeShape | None = None, offer: Offer | None = None,
                  names: dict[str, str] | None = None) -> Placement:
    """A Placement with everything every target fills the same way (identity, labels, tags,
    replica bounds from the spec, image) and the target's own choices passed in."""
    from modelfleet.artifacts import artifact_plan
    from modelfleet.naming import fit

    name = name or spec.name
    names = dict(names or {})
    if target in ("onprem", "eks", "aks"):
        names.setdefault("namespace", name if namespace is None else namespace)
        names.setdefault("service_account", name)
        if target == "eks":
            names.setdefault("model_role", fit(f"{stack.stack}-{spec.name}-model", 64, invalid=r"[^A-Za-z0-9+=,.@_-]"))
        if target == "aks":
            names.setdefault("model_identity", fit(f"{stack.stack}-{spec.name}-model", 128))
    artifact, problems = artifact_plan(spec, stack, target, names)
    diagnostics = [*diagnostics, *problems]
    return Placement(
        model=spec.name, version=spec.version, spec=spec, stack=stack.stack, target=target,
        environment=stack.environment, name=name, namespace=name if namespace is None else namespace,
        labels=labels_for(spec, stack), tags=tags_for(spec, stack),
        accelerator=accelerator, gpus_per_replica=gpus_per_replica,
        min_replicas=spec.autoscaling.floor if min_replicas is None else min_replicas,
        max_replicas=spec.autoscaling.max_replicas if max_replicas is None else max_replicas,
        image=image if image is not None else default_image(spec, stack),
        shape=shape, offer=offer, names=names, diagnostics=tuple(diagnostics),
        rollout=rollout_for(spec, stack), artifact=artifact,
    )
