"""AWS registry, cluster and node rules: ECR repositories (scanning, immutable tags, lifecycle, no
public access), EKS clusters (API endpoint not open to the internet in production, Secrets
envelope-encrypted with KMS) and EKS GPU nodes (IMDSv2, encrypted EBS volumes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _util as u
from ._rule import Rule, environments_param

REPO_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
EKS_CLUSTER = "aws:eks/cluster:Cluster"


def private_api_endpoint(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    """aws.eks.Cluster vpcConfig: endpointPublicAccess (EKS defaults it to true when unset) and
    publicAccessCidrs (EKS defaults them to 0.0.0.0/0 when public and unset)."""
    if not u.in_environments(config, ["prod"]):
        return []
    if not u.truthy(u.get(props, "vpcConfig.endpointPublicAccess", True)):
        return []
    cidrs = [str(c) for c in u.as_list(u.get(props, "vpcConfig.publicAccessCidrs"))] or ["0.0.0.0/0"]
    if any(c.endswith("/0") for c in cidrs):
        return ["The cluster's Kubernetes API endpoint is reachable from the whole internet. To fix: set "
                "vpcConfig.endpointPublicAccess: false (modelfleet: no api_public_cidrs), or limit "
                "vpcConfig.publicAccessCidrs to the networks that administer the cluster."]
    return []


def secrets_encrypted(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    configs = u.get(props, "encryptionConfig")
    configs = [configs] if u.is_map(configs) else u.as_list(configs)
    if any("secrets" in u.as_list(u.get(c, "resources")) and u.get(c, "provider.keyArn") for c in configs):
        return []
    return ["Kubernetes Secrets are not envelope-encrypted with a KMS key. To fix: set encryptionConfig: "
            "{provider: {keyArn: <key arn>}, resources: [secrets]} (modelfleet does this on clusters it creates)."]


def scan_on_push(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if u.truthy(u.get(props, "imageScanningConfiguration.scanOnPush")):
        return []
    return ["Images are not scanned on push. To fix: set imageScanningConfiguration.scanOnPush: true."]


def immutable_tags(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if str(u.get(props, "imageTagMutability", "MUTABLE")).startswith("IMMUTABLE"):
        return []
    return [
        (
            "Image tags can be overwritten, so a deployed tag may silently change. "
            "To fix: set imageTagMutability: IMMUTABLE."
        )
    ]


def kms_encryption(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    configs = u.as_list(u.get(props, "encryptionConfigurations"))
    if any(u.get(c, "encryptionType") == "KMS" for c in configs):
        return []
    return [
        (
            "The repository uses AES256 instead of a KMS key. To fix: set encryptionConfigurations: "
            "[{encryptionType: KMS, kmsKey: <key arn>}]."
        )
    ]


def no_public_policy(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    doc = u.json_doc(u.get(props, "policy"))
    stmts = u.get(doc, "Statement")
    stmts = [stmts] if u.is_map(stmts) else u.as_list(stmts)
    for stmt in stmts:
        principal = u.get(stmt, "Principal")
        principals = (
            [principal]
            if isinstance(principal, str)
            else [p for v in u.as_map(principal).values() for p in ([v] if isinstance(v, str) else u.as_list(v))]
        )
        if u.get(stmt, "Effect", "Allow") == "Allow" and "*" in principals and not u.get(stmt, "Condition"):
            return [
                (
                    'The repository policy allows Principal "*", making images public. To fix: name the account '
                    "or role ARNs that may pull, or add a Condition on aws:PrincipalOrgID."
                )
            ]
    return []


def lifecycle_policy(resources: list[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    covered_names, covered_parents = set(), set()
    for res in resources:
        if res.get("type") == u.ECR_LIFECYCLE:
            covered_names.add(str(u.get(res.get("props"), "repository", "")))
            if res.get("parent"):
                covered_parents.add(str(res.get("parent")))
    found = []
    for res in resources:
        if res.get("type") != u.ECR_REPO:
            continue
        names = {str(res.get("name")), str(u.get(res.get("props"), "name", res.get("name")))}
        if names & covered_names or (res.get("parent") and str(res.get("parent")) in covered_parents):
            continue
        found.append(
            (
                str(res.get("name")),
                (
                    "The repository has no lifecycle policy, so multi-GB model images pile up "
                    "and are billed forever. To fix: add an aws.ecr.LifecyclePolicy expiring untagged images."
                ),
            )
        )
    return found


def imdsv2(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    if resource_type == u.EC2_NODECLASS:
        # Karpenter defaults httpTokens to required when metadataOptions is omitted (nodeclasses.md v1.14.1)
        if u.get(props, "spec.metadataOptions.httpTokens", "required") == "required":
            return []
        return ["Karpenter nodes accept IMDSv1, so an SSRF in a model server leaks node credentials. "
                "To fix: set spec.metadataOptions.httpTokens: required (or omit metadataOptions)."]
    if u.get(props, "metadataOptions.httpTokens") == "required":
        return []
    return [
        (
            "Nodes accept IMDSv1, so an SSRF in a model server leaks node credentials. "
            "To fix: set metadataOptions.httpTokens: required (hop limit 2 for pods)."
        )
    ]


def encrypted_ebs(resource_type: str, props: Any, config: Mapping[str, Any]) -> list[str]:
    found = []
    where = "spec.blockDeviceMappings" if resource_type == u.EC2_NODECLASS else "blockDeviceMappings"
    for i, mapping in enumerate(u.as_list(u.get(props, where))):
        ebs = u.get(mapping, "ebs")
        if u.is_map(ebs) and not u.truthy(ebs.get("encrypted")):
            found.append(
                f"{where}[{i}] ({u.get(mapping, 'deviceName', '?')}) is not encrypted. "
                "To fix: set ebs.encrypted: 'true' (optionally with kmsKeyId)."
            )
    return found


def _a(
    rule_id: str,
    level: str,
    desc: str,
    why: str,
    refs: tuple[str, ...],
    fn: Any,
    types: tuple[str, ...],
    area: str = "ecr",
) -> Rule:
    return Rule(rule_id, area, level, desc, why, refs, "resource", fn, types)  # type: ignore[arg-type]


RULES = [
    _a(
        "MF-ECR-001",
        "mandatory",
        "ECR repositories scan images on push",
        "Catches known CVEs in serving images before they reach a GPU node.",
        ("CKV_AWS_163",),
        scan_on_push,
        (u.ECR_REPO,),
    ),
    _a(
        "MF-ECR-002",
        "mandatory",
        "ECR image tags are immutable",
        "A tag that can be re-pushed makes a deployed version ambiguous.",
        ("CKV_AWS_51",),
        immutable_tags,
        (u.ECR_REPO,),
    ),
    Rule(
        "MF-ECR-003",
        "ecr",
        "advisory",
        "ECR repositories have a lifecycle policy",
        "Model images are gigabytes each; without expiry, storage cost grows with every build.",
        (),
        "stack",
        lifecycle_policy,
    ),
    _a(
        "MF-ECR-004",
        "mandatory",
        "ECR repository policies are not public",
        "A public pull policy publishes proprietary weights baked into images.",
        ("CKV_AWS_32",),
        no_public_policy,
        (REPO_POLICY,),
    ),
    _a(
        "MF-ECR-005",
        "advisory",
        "ECR repositories are encrypted with KMS",
        "A customer-managed key lets you audit and revoke access to image layers.",
        ("CKV_AWS_136",),
        kms_encryption,
        (u.ECR_REPO,),
    ),
    Rule(
        "MF-EKS-003",
        "eks",
        "mandatory",
        "Production EKS API endpoints are private or limited to named CIDRs",
        "An API server open to the internet is one leaked token or unpatched CVE away from the whole cluster.",
        ("EKS_ENDPOINT_NO_PUBLIC_ACCESS",),
        "resource",
        private_api_endpoint,
        (EKS_CLUSTER,),
        environments_param(["prod"]),
    ),
    _a(
        "MF-EKS-004",
        "mandatory",
        "EKS clusters envelope-encrypt Secrets with a KMS key",
        "Model credentials live in Secrets; a customer key makes etcd backups unreadable without it and access auditable.",
        ("EKS_SECRETS_ENCRYPTED",),
        secrets_encrypted,
        (EKS_CLUSTER,),
        "eks",
    ),
    _a(
        "MF-EKS-001",
        "mandatory",
        "GPU node launch templates require IMDSv2",
        "IMDSv1 lets any pod with an SSRF read the node role's credentials.",
        ("CKV_AWS_79",),
        imdsv2,
        (u.LAUNCH_TEMPLATE, u.EC2_NODECLASS),
        "eks",
    ),
    _a(
        "MF-EKS-002",
        "mandatory",
        "GPU node EBS volumes are encrypted",
        "Node disks cache model weights and container layers.",
        ("CKV_AWS_8",),
        encrypted_ebs,
        (u.LAUNCH_TEMPLATE, u.EC2_NODECLASS),
        "eks",
    ),
]
