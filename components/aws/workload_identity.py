"""`ModelIdentity`: one IAM role per model on EKS, bound to the model's ServiceAccount, that can read
only the model's S3 prefix (and decrypt with the model bucket's KMS key when the stack names one).

- `s3_read_statements(partition, uri, kms_key_arn)`: the least-privilege statements (pure; also what
  the tests and the wildcard policy rule check): `s3:GetObject` on `<bucket>/<prefix>*` (exactly the
  object for a `.tar.gz`), `s3:ListBucket` on the bucket limited to that prefix, `kms:Decrypt` on the key.
- Binding, per `modelfleet:cluster.identity`:
  * `pod_identity` (default): trust `pods.eks.amazonaws.com` (`sts:AssumeRole` + `sts:TagSession`,
    EKS user guide "Create IAM role with trust policy required by EKS Pod Identity") limited by the
    session tags Pod Identity sets (`kubernetes-namespace`, `kubernetes-service-account`,
    `eks-cluster-name`), plus an `aws.eks.PodIdentityAssociation` for (cluster, namespace, SA). Needs the
    `eks-pod-identity-agent` add-on: created clusters get it (`gpu_nodes.pod_identity_agent`); existing ones must run it.
  * `irsa`: trust the cluster's OIDC provider (`sts:AssumeRoleWithWebIdentity`, `<issuer>:sub` =
    `system:serviceaccount:<ns>:<sa>`, `<issuer>:aud` = `sts.amazonaws.com`); the ServiceAccount carries
    `eks.amazonaws.com/role-arn` (`annotations`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.common import policy_json
from modelfleet import uris

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
POD_IDENTITY_AGENT = "eks-pod-identity-agent"  # the EKS add-on that serves Pod Identity credentials on each node
IRSA_AUDIENCE = "sts.amazonaws.com"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"


def s3_read_statements(partition: str, uri: str, kms_key_arn: str | None) -> list[dict[str, Any]]:
    parsed = uris.parse(uri)
    bucket, key = parsed.host, parsed.path
    if key.endswith((".tar.gz", ".tgz")):
        objects, listed = f"arn:{partition}:s3:::{bucket}/{key}", key  # one archive: exactly that object
    else:
        prefix = key if not key or key.endswith("/") else key + "/"
        objects, listed = f"arn:{partition}:s3:::{bucket}/{prefix}*", f"{prefix}*"
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadModel", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [objects]},
        {"Sid": "ListModel", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:{partition}:s3:::{bucket}"],
         "Condition": {"StringLike": {"s3:prefix": [listed]}}},
    ]
    if kms_key_arn:
        # SSE-KMS objects: GetObject needs Decrypt on the bucket's key, nothing else
        statements.append({"Sid": "DecryptModel", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [kms_key_arn]})
    return statements


def pod_identity_trust(cluster_name: str, namespace: str, service_account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowEksAuthToAssumeRoleForPodIdentity", "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_PRINCIPAL}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        # only this cluster's ServiceAccount may use the role, even if another association names it
        "Condition": {"StringEquals": {"aws:RequestTag/eks-cluster-name": cluster_name,
                                       "aws:RequestTag/kubernetes-namespace": namespace,
                                       "aws:RequestTag/kubernetes-service-account": service_account}},
    }]}, sort_keys=True)


def irsa_trust(provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    host = issuer.removeprefix("https://")
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                       f"{host}:aud": IRSA_AUDIENCE}},
    }]}, sort_keys=True)


@dataclass(frozen=True)
class Oidc:
    """The cluster's IAM OIDC identity provider, for IRSA: its ARN, the issuer URL, and what must
    exist before a role trusting it is useful (the provider, when the stack registers it)."""

    provider_arn: pulumi.Input[str]
    issuer: pulumi.Input[str]
    ready: list[pulumi.Resource] = field(default_factory=list)


def irsa_provider(stack: Any, oidc_issuer: pulumi.Input[str] | None, created: bool, partition: str,
                  tags: dict[str, str]) -> Oidc | None:
    """For `identity: irsa`, once per stack: the IAM OIDC provider of a cluster the stack creates
    (registered here), or the ARN of an existing cluster's provider (which must already exist:
    `eksctl utils associate-iam-oidc-provider`). None for Pod Identity."""
    if stack.cluster.identity != "irsa":
        return None
    assert oidc_issuer is not None
    if created:
        provider = aws.iam.OpenIdConnectProvider(f"{stack.stack}-oidc", url=oidc_issuer, client_id_lists=[IRSA_AUDIENCE],
                                                 tags=tags)
        return Oidc(provider.arn, oidc_issuer, [provider])
    account = aws.get_caller_identity_output().account_id
    arn = pulumi.Output.all(account, oidc_issuer).apply(
        lambda v: f"arn:{partition}:iam::{v[0]}:oidc-provider/{v[1].removeprefix('https://')}")
    return Oidc(arn, oidc_issuer)


@dataclass(frozen=True)
class ModelIdentityArgs:
    """role_name; cluster_name; namespace / service_account: the model's; mode: pod_identity | irsa;
    statements: the role's permissions; partition; oidc_provider_arn / oidc_issuer (irsa only); tags."""

    role_name: str
    cluster_name: pulumi.Input[str]
    namespace: str
    service_account: str
    mode: str
    statements: list[dict[str, Any]]
    partition: str = "aws"
    oidc_provider_arn: pulumi.Input[str] | None = None
    oidc_issuer: pulumi.Input[str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


class ModelIdentity(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    annotations: dict[str, Any]

    def __init__(self, name: str, args: ModelIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:ModelIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.mode == "irsa":
            assert args.oidc_provider_arn is not None and args.oidc_issuer is not None
            trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda v: irsa_trust(v[0], v[1], args.namespace, args.service_account))
        else:
            trust = pulumi.Output.from_input(args.cluster_name).apply(
                lambda cluster: pod_identity_trust(cluster, args.namespace, args.service_account))
        role = aws.iam.Role(f"{name}-role", name=args.role_name, assume_role_policy=trust,
                            description=f"reads the weights of {args.namespace}/{args.service_account} only",
                            tags=args.tags, opts=child)
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy_json(args.statements), opts=child)
        self.annotations = {}
        if args.mode == "irsa":
            self.annotations = {ROLE_ARN_ANNOTATION: role.arn}
        else:
            aws.eks.PodIdentityAssociation(f"{name}-association", cluster_name=args.cluster_name, namespace=args.namespace,
                                           service_account=args.service_account, role_arn=role.arn, tags=args.tags, opts=child)
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})


def needs_role(p: Any) -> bool:
    """A model gets an IAM role when its weights are fetched from S3 inside its pods."""
    a = p.artifact
    return a is not None and a.fetch_uri.startswith("s3://") and a.method in ("init-container", "storage-initializer")


def model_identities(sp: Any, cluster_name: pulumi.Input[str], oidc: Oidc | None, partition: str,
                     tags: dict[str, str]) -> tuple[dict[str, dict[str, Any]], list[pulumi.Resource]]:
    """Per model, the ServiceAccount annotations its identity needs; plus what pods must wait for (the
    OIDC provider on clusters the stack creates, for IRSA)."""
    stack = sp.stack
    mode = stack.cluster.identity
    users = [p for p in sp.placements if needs_role(p)]
    if not users:
        return {}, []
    ready: list[pulumi.Resource] = list(oidc.ready) if oidc is not None else []
    # pod_identity: the agent add-on of created clusters is registered once per stack by
    # components.aws.gpu_nodes.pod_identity_agent (the node provisioners need it too); existing
    # clusters must already run it (stack setting identity: irsa otherwise)
    out: dict[str, dict[str, Any]] = {}
    for p in users:
        identity = ModelIdentity(f"{p.name}-identity", ModelIdentityArgs(
            role_name=p.names["model_role"], cluster_name=cluster_name, namespace=p.namespace,
            service_account=p.names["service_account"], mode=mode,
            statements=s3_read_statements(partition, p.artifact.fetch_uri, stack.artifact_store.kms_key_arn),
            partition=partition, oidc_provider_arn=oidc.provider_arn if oidc else None,
            oidc_issuer=oidc.issuer if oidc else None, tags=p.tags),
            pulumi.ResourceOptions(depends_on=ready))
        out[p.model] = {"annotations": identity.annotations, "labels": {}}
    return out, ready
