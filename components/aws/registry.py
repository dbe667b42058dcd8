"""`EcrRepository`: one private ECR repository per model.

Why one per model rather than one per stack: the lifecycle policy then keeps the last
`keep_images` images OF THAT MODEL (a busy model cannot evict another model's rollback
images), the SageMaker execution role of a model can be scoped to its own repository ARN,
and scan findings and owner tags stay per model.

Settings: scan on push; IMMUTABLE tags (a tag always means the same image, so a rollback
redeploys exactly what ran before); KMS encryption with `kms_key_arn` (else AES256); no
repository policy at all (access is only through IAM in the same account — nothing
public); retained when the stack is destroyed (images outlive deployments) and protected
in production.

`model_repositories(sp)` creates one per placed model when the stack's registry kind is ecr.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from modelfleet.naming import fit
from modelfleet.placement import StackPlacement


@dataclass(frozen=True)
class EcrRepositoryArgs:
    """repository_name: ECR name (lowercase, may contain '/'); keep_images: images kept by the
    lifecycle policy (default 30); kms_key_arn: customer-managed key (default None = AES256);
    protect: protect from deletion (default False); tags: on the repository."""

    repository_name: str
    keep_images: int = 30
    kms_key_arn: str | None = None
    protect: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def lifecycle_policy(keep_images: int) -> str:
    return json.dumps({"rules": [{
        "rulePriority": 1,
        "description": f"keep the last {keep_images} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
        "action": {"type": "expire"},
    }]})


class EcrRepository(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: EcrRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:EcrRepository", name, None, opts)
        encryption = ({"encryption_type": "KMS", "kms_key": args.kms_key_arn} if args.kms_key_arn
                      else {"encryption_type": "AES256"})
        repo = aws.ecr.Repository(  # type: ignore[call-overload]
            f"{name}-repo",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[encryption],
            force_delete=False,
            tags=args.tags,
            # images outlive a stack: destroying the stack must not delete what production ran
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, protect=args.protect),
        )
        aws.ecr.LifecyclePolicy(f"{name}-lifecycle", repository=repo.name, policy=lifecycle_policy(args.keep_images),
                                opts=pulumi.ResourceOptions(parent=self))
        self.arn = repo.arn
        self.url = repo.repository_url
        self.register_outputs({"arn": self.arn, "url": self.url})


def model_repositories(sp: StackPlacement) -> dict[str, EcrRepository]:
    """One repository per model (named `<stack>/<model>`) when the stack's registry is ECR."""
    stack = sp.stack
    if stack.registry.kind != "ecr":
        return {}
    return {
        p.model: EcrRepository(f"{p.name}-ecr", EcrRepositoryArgs(
            repository_name=fit(f"{stack.stack}/{p.model}", 256, invalid=r"[^a-z0-9/_-]"),
            keep_images=stack.registry.keep_images, kms_key_arn=stack.registry.kms_key_arn,
            protect=stack.production, tags=p.tags))
        for p in sp.placements
    }
