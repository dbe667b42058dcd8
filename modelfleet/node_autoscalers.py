"""What the EKS node provisioners (Karpenter, Cluster Autoscaler) install: the one reader of
`modelfleet/data/node_autoscalers.json` and `karpenter_controller_policy.json`.

Contract:
- `karpenter()` / `cluster_autoscaler()` → the pinned chart, namespace, service account and
  (Karpenter) node policies and interruption events, each with its upstream source in the file.
- `karpenter_policies(**values)` → {upstream policy name: IAM statements} with the
  placeholders `${Partition} ${Region} ${AccountId} ${ClusterName} ${NodeRoleArn} ${QueueArn}`
  replaced by `values` (strings, or Pulumi Outputs resolved by the caller first).
- `autoscaler_image_tag(version)` → the Cluster Autoscaler image tag whose minor matches the
  cluster's Kubernetes version (the chart's default when the version is not known).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("modelfleet.data").joinpath(name).read_text(encoding="utf-8"))
    return data


def karpenter() -> dict[str, Any]:
    return dict(_load("node_autoscalers.json")["karpenter"])


def cluster_autoscaler() -> dict[str, Any]:
    return dict(_load("node_autoscalers.json")["cluster_autoscaler"])


def karpenter_policies(**values: str) -> dict[str, list[dict[str, Any]]]:
    """Upstream policy name → statements with every `${Name}` placeholder filled from `values`."""
    text = json.dumps(_load("karpenter_controller_policy.json")["policies"])
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        missing = sorted({part.split("}")[0] for part in text.split("${")[1:]})
        raise ValueError(f"karpenter_policies: no value for {', '.join(missing)}")
    policies: dict[str, list[dict[str, Any]]] = json.loads(text)
    return policies


def autoscaler_image_tag(kubernetes_version: str | None) -> str:
    ca = cluster_autoscaler()
    return str(ca["tags"].get(kubernetes_version or "", ca["default_tag"]))
