"""The SageMaker platform: an ECR repository and a `SageMakerEndpoint` per model (with its
alarms), plus, per stack, one CloudWatch dashboard (a row per monitored model), one stack bucket
when any monitored model samples requests (data capture) or scales on its queue (asynchronous
requests and results under `async/<endpoint>/`), and one ECR pull-through cache rule per upstream
registry a model's image comes from (`modelfleet.pull_through`): the model runs the image from the
cache path, which depends on the rule so the rule exists first.

`deploy(sp)` returns each model's SageMaker Runtime invocation URL (callers sign requests
with SigV4; there is no unauthenticated URL).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.common import s3, stack_tags
from components.aws.registry import model_repositories
from components.aws.sagemaker_endpoint import SageMakerEndpoint, SageMakerEndpointArgs
from components.aws.sagemaker_monitoring import dashboard_body, dashboard_rows
from modelfleet.aws_images import cached_image, container_environment, ecr_repository_arn
from modelfleet.environment import SageMakerStack
from modelfleet.extras import MissingExtra, installed
from modelfleet.naming import fit
from modelfleet.placement import Placement, StackPlacement
from modelfleet.targets.aws_offers import partition

CAPTURE_RETENTION_DAYS = 90  # long enough for monthly drift reports; captures hold user payloads
DASHBOARD_NAME_LIMIT = 255


def captures(p: Placement) -> bool:
    return p.spec.monitoring.enabled and p.spec.monitoring.data_capture.sample_percent > 0


def queued(p: Placement) -> bool:
    """An asynchronous endpoint: its requests and results live in the stack bucket."""
    return p.names.get("capacity") == "async"


class CaptureBucket(pulumi.ComponentResource):
    """Private, encrypted bucket for request/response capture (drift analysis): public access
    blocked, SSE-KMS with the stack's key (else SSE-S3), captures expire after
    `CAPTURE_RETENTION_DAYS`; retained on destroy because it holds evidence, protected in production."""

    def __init__(self, name: str, stack: SageMakerStack, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:CaptureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = s3.Bucket(f"{name}-bucket", force_destroy=False, tags=stack_tags(stack),
                               opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True,
                                                           protect=stack.production))
        s3.BucketPublicAccessBlock(f"{name}-public-access", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
                                       opts=child)
        default = ({"sse_algorithm": "aws:kms", "kms_master_key_id": stack.kms_key_arn} if stack.kms_key_arn
                   else {"sse_algorithm": "AES256"})
        s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": bool(stack.kms_key_arn)}],
            opts=child)
        s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[{"id": "expire-captures", "status": "Enabled", "filter": {"prefix": ""},
                    "expiration": {"days": CAPTURE_RETENTION_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}],
            opts=child)
        self.arn = bucket.arn
        self.uri = bucket.id.apply(lambda b: f"s3://{b}")  # a bucket's id is its name
        self.register_outputs({"arn": self.arn, "uri": self.uri})


def pulled_image(stack: SageMakerStack, p: Placement, account: pulumi.Output[str],
                 rules: dict[str, aws.ecr.PullThroughCacheRule]) -> tuple[object, list[object]]:
    """(what SageMaker pulls, pull-through repositories the role imports into) for one model; creates the
    registry's cache rule the first time a model needs it."""
    cached = cached_image(p.image, stack)
    if cached is None:
        return p.image, []
    assert stack.region
    if cached.prefix not in rules:
        credential: object = cached.credential_arn
        if cached.credential_name is not None:  # no ARN in the stack: the conventional secret, by name (preview warns)
            credential = aws.secretsmanager.get_secret_output(name=cached.credential_name).arn
        rules[cached.prefix] = aws.ecr.PullThroughCacheRule(
            f"{stack.stack}-pull-through-{cached.prefix.replace('/', '-')}", ecr_repository_prefix=cached.prefix,
            upstream_registry_url=cached.upstream_url, credential_arn=credential)
    rule, region = rules[cached.prefix], stack.region
    # built from the rule's output, so the model waits for the rule: its first pull creates the cached repository
    image = pulumi.Output.all(account, rule.ecr_repository_prefix).apply(lambda v: cached.uri(v[0], region))
    arn = account.apply(lambda a: cached.repository_arn(partition(region), a, region))
    return image, [arn]


def deploy(sp: StackPlacement) -> dict[str, pulumi.Output[str]]:
    stack = sp.stack
    assert isinstance(stack, SageMakerStack) and stack.region
    repos = model_repositories(sp)
    if any(p.names.get("capacity") == "components" for p in sp.placements) and not installed("pulumi_aws_native"):
        raise MissingExtra(f"stack {stack.stack!r} scales a SageMaker model to zero, which needs inference components from "
                           "pulumi-aws-native (not installed). To fix: pip install 'modelfleet[aws]'")
    # one stack bucket (named for its first use, data capture) holds captures and asynchronous requests/results
    needs_bucket = any(captures(p) or queued(p) for p in sp.placements)
    bucket = CaptureBucket(f"{stack.stack}-capture", stack) if needs_bucket else None
    urls: dict[str, pulumi.Output[str]] = {}
    account = aws.get_caller_identity_output().account_id
    rules: dict[str, aws.ecr.PullThroughCacheRule] = {}
    for p in sp.placements:
        assert p.offer is not None
        fetch_uri = p.artifact.fetch_uri if p.artifact is not None else None
        environment, _ = container_environment(p.spec, p.offer.gpu_count if p.gpus_per_replica else 0, fetch_uri)
        arns: list[object] = [repos[p.model].arn] if p.model in repos else []
        image_repo = ecr_repository_arn(p.image)
        if image_repo:
            arns.append(image_repo)
        image, cached_arns = pulled_image(stack, p, account, rules)
        endpoint = SageMakerEndpoint(p.name, SageMakerEndpointArgs(
            placement=p, environment=environment, region=stack.region, repository_arns=arns,
            account_id=account, image=image, cached_repository_arns=cached_arns, production=stack.production,
            subnet_ids=stack.subnet_ids, security_group_ids=stack.security_group_ids, kms_key_arn=stack.kms_key_arn,
            sns_topic_arn=stack.alerts.sns_topic_arn,
            capture_bucket_arn=bucket.arn if bucket and captures(p) else None,
            capture_s3_uri=bucket.uri.apply(lambda uri, e=p.names["endpoint"]: f"{uri}/{e}") if bucket and captures(p) else None,
            async_bucket_arn=bucket.arn if bucket and queued(p) else None,
            async_bucket_uri=bucket.uri if bucket and queued(p) else None))
        urls[p.model] = endpoint.url
    rows = dashboard_rows(list(sp.placements))
    if rows:
        name = fit(f"modelfleet-{stack.stack}", DASHBOARD_NAME_LIMIT, invalid=r"[^a-z0-9_-]")
        aws.cloudwatch.Dashboard(f"{stack.stack}-dashboard", dashboard_name=name,
                                 dashboard_body=dashboard_body(rows, stack.region, f"modelfleet · {stack.stack} ({stack.environment})"))
    return urls
