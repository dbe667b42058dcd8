"""Tagging rules: every taggable resource names its `owner` and `cost-center`, as AWS `tags`,
Azure `tags` or Kubernetes `metadata.labels`, so cost and incidents route to a team.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._rule import Rule

TAGGABLE = (
    "kubernetes:*",
    u.ECR_REPO,
    u.EKS_NODEGROUP,
    u.LAUNCH_TEMPLATE,
    "aws:eks/cluster:Cluster",
    "aws:iam/role:Role",
    u.SM_MODEL,
    u.SM_ENDPOINT_CONFIG,
    u.SM_ENDPOINT,
    u.SM_INFERENCE_COMPONENT,
    u.AAS_TARGET,
    u.CW_ALARM,
    u.ACR,
    u.AKS_POOL,
    "azure-native:containerservice:ManagedCluster",
    u.AML_ENDPOINT,
    u.AML_DEPLOYMENT,
    "azure-native:insights:AutoscaleSetting",
    u.AZ_METRIC_ALERT,
    u.AZ_METRIC_ALERT_V2,
    "azure-native:machinelearningservices:Workspace",
)
# Node patches label shared nodes and Helm releases carry no metadata: not tagged by modelfleet.
UNTAGGED_K8S = (
    "kubernetes:core/v1:NodePatch",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:yaml/v2:ConfigGroup",
    "kubernetes:yaml/v2:ConfigFile",
)


def _tag_rule(key: str):
    def rule(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
        if resource_type in UNTAGGED_K8S:
            return []
        if resource_type.startswith("kubernetes:"):
            values, where = u.labels(props), "metadata.labels"
        elif resource_type == u.AKS_POOL:
            values, where = u.as_map(u.get(props, "tags")), "tags"
        else:
            values, where = u.tags(props), "tags"
        if str(values.get(key) or "").strip():
            return []
        hint = "owner: in the model spec" if key == "owner" else f"modelfleet:tags: {{{key}: ...}} in the stack file"
        return [f"Missing {where}['{key}']. To fix: set {hint} (modelfleet copies it to every resource)."]

    rule.__name__ = f"requires_{key.replace('-', '_')}"
    return rule


RULES = [
    Rule(
        "MF-TAG-001",
        "tagging",
        "mandatory",
        "Resources carry an owner tag/label",
        "Incidents and idle GPUs need a team to page.",
        (),
        "resource",
        _tag_rule("owner"),
        TAGGABLE,
    ),
    Rule(
        "MF-TAG-002",
        "tagging",
        "mandatory",
        "Resources carry a cost-center tag/label",
        "GPU spend must be charged back; untagged spend is unallocatable.",
        (),
        "resource",
        _tag_rule("cost-center"),
        TAGGABLE,
    ),
]
