"""Kubernetes workload rules (Deployments, StatefulSets, DaemonSets, Jobs, KServe
InferenceServices): pod hardening, resources, probes, image provenance and disruption budgets.

Container-level settings win over pod-level ones where Kubernetes lets them (runAsNonRoot).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from . import _util as u
from ._rule import ENVIRONMENTS_SCHEMA, Rule

WORKLOADS = u.K8S_WORKLOADS


def _each_container(
    resource_type: str, props: Any, include_init: bool = True
) -> Iterator[tuple[Mapping, Mapping, str]]:
    for pod in u.pod_specs(resource_type, props):
        for i, c in enumerate(u.containers(pod, include_init)):
            yield pod, c, u.container_name(c, i)


def run_as_non_root(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    found = []
    for pod, c, name in _each_container(resource_type, props):
        value = u.get(c, "securityContext.runAsNonRoot")
        if value is None:
            value = u.get(pod, "securityContext.runAsNonRoot")
        if not u.truthy(value):
            found.append(
                f"Container {name} may run as root. To fix: set securityContext.runAsNonRoot: true "
                "(and a non-zero runAsUser) on the pod or container."
            )
    return found


def read_only_root(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    return [
        f"Container {name} has a writable root filesystem. To fix: set securityContext.readOnlyRootFilesystem: "
        "true and mount an emptyDir for caches (e.g. /tmp, HF_HOME)."
        for _, c, name in _each_container(resource_type, props)
        if not u.truthy(u.get(c, "securityContext.readOnlyRootFilesystem"))
    ]


def not_privileged(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    return [
        f"Container {name} runs privileged. To fix: remove securityContext.privileged; GPUs are exposed "
        "through the device plugin, not privileged mode."
        for _, c, name in _each_container(resource_type, props)
        if u.truthy(u.get(c, "securityContext.privileged"))
    ]


def no_privilege_escalation(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    return [
        f"Container {name} allows privilege escalation. To fix: set securityContext.allowPrivilegeEscalation: false."
        for _, c, name in _each_container(resource_type, props)
        if u.get(c, "securityContext.allowPrivilegeEscalation") is not False
    ]


def drop_all_capabilities(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    found = []
    for _, c, name in _each_container(resource_type, props):
        drop = [str(x).upper() for x in u.as_list(u.get(c, "securityContext.capabilities.drop"))]
        if "ALL" not in drop:
            found.append(
                f"Container {name} keeps Linux capabilities. To fix: set securityContext.capabilities.drop: [ALL]."
            )
    return found


def no_host_namespaces(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    return [
        f"Pod shares the host's {field[4:].lower()} namespace ({field}: true). To fix: remove {field}."
        for pod in u.pod_specs(resource_type, props)
        for field in ("hostNetwork", "hostPID", "hostIPC")
        if u.truthy(pod.get(field))
    ]


def requests_and_limits(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    found = []
    for _, c, name in _each_container(resource_type, props, include_init=False):
        missing = [
            f"{kind}.{res}"
            for kind in ("requests", "limits")
            for res in ("cpu", "memory")
            if u.as_map(u.get(c, f"resources.{kind}")).get(res) in (None, "")
        ]
        if missing:
            found.append(
                f"Container {name} has no resources.{', resources.'.join(missing)}. To fix: set cpu and "
                "memory requests and limits (the model spec's resources.cpu / memory_gib)."
            )
    return found


def probes(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    found = []
    for pod in u.pod_specs(resource_type, props):
        for i, c in enumerate(u.as_list(pod.get("containers"))):
            missing = [p for p in ("livenessProbe", "readinessProbe") if not u.is_map(u.get(c, p))]
            if missing:
                found.append(
                    f"Container {u.container_name(u.as_map(c), i)} has no {' and no '.join(missing)}. "
                    "To fix: set serving.health in the model spec (path and initial_delay_s)."
                )
    return found


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    repo = name[: len(name) - len(tag) - 1] if tag else name
    return repo, tag, digest or None


def image_tag(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    found = []
    for where, image in u.walk_images(resource_type, props):
        _, tag, digest = _split_image(image)
        if not digest and tag in (None, "latest"):
            found.append(
                f"{where} uses image {image} with the mutable 'latest' tag. To fix: pin a version tag "
                "or digest (modelfleet build prints one)."
            )
    return found


def image_digest(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if not u.in_environments(config, ["prod"]):
        return []
    return [
        f"{where} uses image {image} without a digest; a re-pushed tag would change what runs in "
        f"{u.environment(config)}. To fix: reference the image as repo@sha256:<digest>."
        for where, image in u.walk_images(resource_type, props)
        if not _split_image(image)[2]
    ]


def allowed_registries(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    allowed = [str(p) for p in u.as_list(u.param(config, "allowed_registries", []))]
    if not allowed:
        return []
    return [
        f"{where} pulls {image}, which is not in an allowed registry ({', '.join(allowed)}). To fix: push the "
        f"image to the stack's registry (modelfleet build --push) or extend allowed_registries."
        for where, image in u.walk_images(resource_type, props)
        if not any(image.startswith(p) or fnmatchcase(image, p) for p in allowed)
    ]


def _pod_labels(kind: str, props: Any) -> dict[str, str]:
    if kind == u.ISVC:
        name = str(u.get(props, "metadata.name", ""))
        return {"serving.kserve.io/inferenceservice": name, **{str(k): str(v) for k, v in u.labels(props).items()}}
    return {str(k): str(v) for k, v in u.as_map(u.get(props, "spec.template.metadata.labels")).items()}


def pdb_for_replicated(resources: list[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    min_replicas: dict[str, float] = {}
    for res in resources:
        if res.get("type") in (u.HPA, u.SCALED_OBJECT):
            props = res.get("props")
            key = "spec.minReplicas" if res.get("type") == u.HPA else "spec.minReplicaCount"
            target = u.get(props, "spec.scaleTargetRef.name")
            if target:
                min_replicas[str(target)] = u.num(u.get(props, key), 1.0) or 0.0
    selectors = [
        (u.as_map(u.get(r.get("props"), "spec.selector.matchLabels")), u.model_of(r.get("props")))
        for r in resources
        if r.get("type") == u.PDB
    ]
    found = []
    for res in resources:
        kind, props = str(res.get("type")), res.get("props")
        if kind not in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", u.ISVC):
            continue
        name = str(u.get(props, "metadata.name") or res.get("name"))
        if kind == u.ISVC:
            replicas = u.num(u.get(props, "spec.predictor.minReplicas"), 1.0) or 0.0
        else:
            replicas = min_replicas.get(name, u.num(u.get(props, "spec.replicas"), 1.0) or 0.0)
        if replicas < 2:
            continue
        labels, model = _pod_labels(kind, props), u.model_of(props)
        covered = any(
            (match and {str(k): str(v) for k, v in match.items()}.items() <= labels.items())
            or (model and pdb_model == model)
            for match, pdb_model in selectors
        )
        if not covered:
            found.append(
                (
                    str(res.get("name")),
                    (
                        f"{name} runs {u.fmt(replicas)} replicas but no PodDisruptionBudget "
                        "selects its pods, so a node drain can evict them all. To fix: add a PodDisruptionBudget "
                        "with maxUnavailable: 1 selecting the pod labels."
                    ),
                )
            )
    return found


def _k(
    rule_id: str,
    level: str,
    desc: str,
    why: str,
    refs: tuple[str, ...],
    fn: Any,
    types: tuple[str, ...] = WORKLOADS,
    params: Mapping[str, Any] | None = None,
) -> Rule:
    return Rule(rule_id, "kubernetes", level, desc, why, refs, "resource", fn, types, params or {})  # type: ignore[arg-type]


_IMAGES = (*WORKLOADS, u.SM_MODEL)
RULES = [
    _k(
        "MF-K8S-001",
        "mandatory",
        "Containers run as non-root",
        "A container escape as root owns the GPU node.",
        ("CKV_K8S_23",),
        run_as_non_root,
    ),
    _k(
        "MF-K8S-002",
        "mandatory",
        "Containers use a read-only root filesystem",
        "Stops a compromised server from altering its own code or weights.",
        ("CKV_K8S_22",),
        read_only_root,
    ),
    _k(
        "MF-K8S-003",
        "mandatory",
        "No privileged containers",
        "Privileged containers have every device and capability.",
        ("CKV_K8S_16",),
        not_privileged,
    ),
    _k(
        "MF-K8S-004",
        "mandatory",
        "No privilege escalation",
        "setuid binaries must not gain root inside the pod.",
        ("CKV_K8S_20",),
        no_privilege_escalation,
    ),
    _k(
        "MF-K8S-005",
        "mandatory",
        "All Linux capabilities are dropped",
        "Model servers need no capabilities; NET_RAW and friends widen the attack surface.",
        ("CKV_K8S_28", "CKV_K8S_37"),
        drop_all_capabilities,
    ),
    _k(
        "MF-K8S-006",
        "mandatory",
        "Pods do not share host namespaces",
        "hostNetwork/hostPID/hostIPC break isolation from the node and other tenants.",
        ("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"),
        no_host_namespaces,
    ),
    _k(
        "MF-K8S-007",
        "mandatory",
        "CPU and memory requests and limits are set",
        "Unbounded pods starve co-located model servers and break bin-packing on GPU nodes.",
        ("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"),
        requests_and_limits,
    ),
    _k(
        "MF-K8S-008",
        "mandatory",
        "Liveness and readiness probes are set",
        "Without readiness, traffic reaches a server still loading weights; without liveness a hung server stays.",
        ("CKV_K8S_8", "CKV_K8S_9"),
        probes,
    ),
    _k(
        "MF-K8S-009",
        "mandatory",
        "Images are not tagged latest",
        "'latest' makes rollouts and rollbacks unreproducible.",
        ("CKV_K8S_14",),
        image_tag,
        _IMAGES,
    ),
    _k(
        "MF-K8S-010",
        "mandatory",
        "Images are digest-pinned in production",
        "Only a digest guarantees that what was scanned and reviewed is what runs.",
        ("CKV_K8S_43",),
        image_digest,
        _IMAGES,
        {"environments": {**ENVIRONMENTS_SCHEMA, "default": ["prod"]}},
    ),
    _k(
        "MF-K8S-011",
        "mandatory",
        "Images come from allowed registries",
        "Untrusted registries bypass scanning and supply-chain controls.",
        (),
        allowed_registries,
        _IMAGES,
        {
            "allowed_registries": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Image prefixes or globs; empty = no restriction.",
            }
        },
    ),
    Rule(
        "MF-K8S-012",
        "kubernetes",
        "mandatory",
        "Replicated workloads have a PodDisruptionBudget",
        "Node drains and cluster upgrades otherwise evict every replica at once.",
        ("kube-score:pod-disruption-budget",),
        "stack",
        pdb_for_replicated,
    ),
]
