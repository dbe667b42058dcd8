"""The mapping from Pulumi type token to cost, kept apart from pricing (the catalog).

Contract: every resource of a plan falls in exactly one bucket, decided by `classify`:
- a registered mapper (`@maps(type, ...)`) turns it into cost items (components, node
  pools, workloads, unpriced or free entries);
- `USAGE_TYPES`: costs that depend on usage (storage, alarms, requests) — reported as a
  component with no quantity, "depends on usage", never a made-up number;
- `FREE_TYPES` / `FREE_PREFIXES`: cost nothing by themselves (or are billed through another
  resource that is priced) — listed with the reason;
- anything else: `Unpriced`, with a reason, never silently 0.
Mappers see only the `PlannedResource` and the `Context` (plan indexes, catalog, rates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelfleet.cost.model import Component, Free, Unpriced
from modelfleet.plan import PlannedResource
from modelfleet.rollout import STATE_TYPE

if TYPE_CHECKING:
    from modelfleet.cost.context import Context

Mapper = Callable[[PlannedResource, "Context"], list[Any]]
MAPPERS: dict[str, Mapper] = {}

ON_NODES = "runs on nodes whose cost is priced through their node pool (or is on-prem capacity)"
BOUNDS = "sets replica bounds read by the workload it scales; no charge of its own"

FREE_PREFIXES: dict[str, str] = {
    "modelfleet:": "component resource: groups its children, which are priced individually",
    "pulumi:providers:": "provider configuration, not a cloud resource",
    "pulumi:pulumi:": "Pulumi bookkeeping, not a cloud resource",
}

FREE_TYPES: dict[str, str] = {
    # modelfleet's own state record: no children, no cloud API (components.rollout_state)
    STATE_TYPE: "rollout state recorded for policies (versions, phase, start); creates nothing in the cloud",
    # AWS identity, networking glue and scaling rules
    "aws:iam/role:Role": "IAM is free",
    "aws:iam/policy:Policy": "IAM is free",
    "aws:iam/rolePolicy:RolePolicy": "IAM is free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM is free",
    "aws:iam/instanceProfile:InstanceProfile": "IAM is free",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "IAM is free",
    "aws:ec2/launchTemplate:LaunchTemplate": "a template; the instances it launches are priced on their node group",
    "aws:ec2/securityGroup:SecurityGroup": "security groups are free",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security group rules are free",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security group rules are free",
    "aws:appautoscaling/target:Target": BOUNDS,
    "aws:appautoscaling/policy:Policy": "scaling policies are free",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "registry policies are free",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "registry policies are free",
    "aws:sagemaker/model:Model": "a model definition; instances are priced on the endpoint configuration",
    "aws:sagemaker/endpoint:Endpoint": "billed through its endpoint configuration's instances (priced there)",
    "aws-native:sagemaker:InferenceComponent": "runs on its endpoint's instances, priced on the endpoint configuration",
    "aws:eks/accessEntry:AccessEntry": "EKS access entries are free",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "EKS access entries are free",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "EKS Pod Identity is free",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket settings are free",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket settings are free",
    "aws:s3/bucketVersioningV2:BucketVersioningV2": "bucket settings are free",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": "bucket settings are free",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": "bucket settings are free",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket settings are free",
    "aws:s3/bucketVersioning:BucketVersioning": "bucket settings are free",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "bucket settings are free",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "bucket settings are free",
    "aws:sns/topicSubscription:TopicSubscription": "subscriptions are free; deliveries are counted on the topic",
    "aws:eks/addon:Addon": "EKS add-ons are free; their pods " + ON_NODES,
    "aws:cloudwatch/eventRule:EventRule": "EventBridge delivers AWS service events on the default bus free of charge",
    "aws:cloudwatch/eventTarget:EventTarget": "EventBridge delivers AWS service events on the default bus free of charge",
    "aws:sqs/queuePolicy:QueuePolicy": "queue settings are free",
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": "Karpenter launch settings; the nodes are priced on their NodePool",
    # Kubernetes objects that are configuration, or workloads priced through their nodes
    "kubernetes:core/v1:Namespace": "Kubernetes configuration object",
    "kubernetes:core/v1:ServiceAccount": "Kubernetes configuration object",
    "kubernetes:core/v1:ConfigMap": "Kubernetes configuration object",
    "kubernetes:core/v1:Secret": "Kubernetes configuration object",
    "kubernetes:core/v1:ResourceQuota": "Kubernetes configuration object",
    "kubernetes:core/v1:LimitRange": "Kubernetes configuration object",
    "kubernetes:core/v1:NodePatch": "labels/taints on an existing node; the node's capacity is priced per GPU-hour",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": BOUNDS,
    "kubernetes:keda.sh/v1alpha1:ScaledObject": BOUNDS,
    "kubernetes:keda.sh/v1alpha1:TriggerAuthentication": "Kubernetes configuration object",
    "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate": "Argo Rollouts configuration object (its queries run on your Prometheus)",
    "kubernetes:policy/v1:PodDisruptionBudget": "Kubernetes configuration object",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": "Kubernetes configuration object",
    "kubernetes:rbac.authorization.k8s.io/v1:Role": "Kubernetes RBAC is free",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": "Kubernetes RBAC is free",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": "Kubernetes RBAC is free",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": "Kubernetes RBAC is free",
    "kubernetes:scheduling.k8s.io/v1:PriorityClass": "Kubernetes configuration object",
    "kubernetes:node.k8s.io/v1:RuntimeClass": "Kubernetes configuration object",
    "kubernetes:serving.kserve.io/v1alpha1:ServingRuntime": "Kubernetes configuration object",
    "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime": "Kubernetes configuration object",
    "kubernetes:apps/v1:DaemonSet": ON_NODES,
    "kubernetes:helm.sh/v3:Release": "the release object itself; its pods " + ON_NODES,
    "kubernetes:helm.sh/v4:Chart": "the chart object itself; its pods " + ON_NODES,
    # Azure identity, grouping and bounds
    "azure-native:authorization:RoleAssignment": "role assignments are free",
    "azure-native:managedidentity:UserAssignedIdentity": "managed identities are free",
    "azure-native:managedidentity:FederatedIdentityCredential": "managed identities are free",
    "azure-native:resources:ResourceGroup": "resource groups are free",
    "azure-native:insights:AutoscaleSetting": BOUNDS,
    "azure-native:monitor:AutoscaleSetting": BOUNDS,
    "azure-native:machinelearningservices:EnvironmentContainer": "an environment definition; images live in the registry",
    "azure-native:machinelearningservices:EnvironmentVersion": "an environment definition; images live in the registry",
    "azure-native:machinelearningservices:ModelContainer": "a model registration; its files are in workspace storage",
    "azure-native:machinelearningservices:ModelVersion": "a model registration; its files are in workspace storage",
    "azure-native:resources:Deployment": "an ARM template deployment; the resources it sets are priced where they are modelled",
    "azure-native:machinelearningservices:OnlineEndpoint": "billed through its deployments' instances (priced there)",
    "azure-native:machinelearningservices:Workspace": "the workspace is free; its storage, key vault and insights are listed separately",
    "azure-native:containerservice:MaintenanceConfiguration": "AKS configuration object",
    "azure-native:network:VirtualNetwork": "virtual networks are free",
    "azure-native:network:Subnet": "subnets are free",
    "azure-native:network:NetworkSecurityGroup": "network security groups are free",
}

# type → (description, unit, why it depends on usage)
USAGE_TYPES: dict[str, tuple[str, str, str]] = {
    "aws:ecr/repository:Repository": ("ECR image storage and transfer", "GB-months", "image storage"),
    # the rule is free; the images it caches are stored in ECR repositories it creates (billed as ECR storage)
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": ("ECR pull-through cache (cached image storage)", "GB-months",
                                                         "size of the cached upstream images"),
    "aws:s3/bucket:Bucket": ("S3 storage and requests (data capture)", "GB-months", "captured payload volume"),
    "aws:s3/bucketV2:BucketV2": ("S3 storage and requests (data capture)", "GB-months", "captured payload volume"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("CloudWatch alarm", "alarm-months", "alarm metrics evaluated"),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("CloudWatch composite alarm", "alarm-months", "alarms evaluated"),
    "aws:cloudwatch/dashboard:Dashboard": ("CloudWatch dashboard", "dashboard-months", "dashboards beyond the free tier"),
    "aws:cloudwatch/logGroup:LogGroup": ("CloudWatch Logs ingestion and storage", "GB", "log volume"),
    "aws:sns/topic:Topic": ("SNS notifications", "requests", "alerts sent"),
    "aws:sqs/queue:Queue": ("SQS requests", "requests", "interruption events received"),
    "aws:kms/key:Key": ("KMS key and requests", "requests", "encrypt/decrypt requests"),
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": ("Prometheus rule evaluation", "series", "series evaluated on your Prometheus"),
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": ("Prometheus scraping", "series", "series scraped by your Prometheus"),
    "kubernetes:monitoring.coreos.com/v1:PodMonitor": ("Prometheus scraping", "series", "series scraped by your Prometheus"),
    "azure-native:monitor:MetricAlert": ("Azure Monitor metric alert", "time-series-months", "time series monitored"),
    "azure-native:monitor:ScheduledQueryRule": ("Azure Monitor log alert", "rule-months", "evaluation frequency and data"),
    "azure-native:monitor:ActionGroup": ("Azure Monitor notifications", "notifications", "notifications sent"),
    "azure-native:insights:MetricAlert": ("Azure Monitor metric alert", "time-series-months", "time series monitored"),
    "azure-native:insights:ScheduledQueryRule": ("Azure Monitor log alert", "rule-months", "evaluation frequency and data"),
    "azure-native:insights:ActionGroup": ("Azure Monitor notifications", "notifications", "notifications sent"),
    "azure-native:insights:Component": ("Application Insights ingestion", "GB", "telemetry volume"),
    "azure-native:operationalinsights:Workspace": ("Log Analytics ingestion and retention", "GB", "log volume"),
    "azure-native:storage:StorageAccount": ("Blob storage and transactions", "GB-months", "stored volume"),
    "azure-native:keyvault:Vault": ("Key Vault operations", "operations", "secret/key operations"),
}


def maps(*types: str) -> Callable[[Mapper], Mapper]:
    """Register a mapper for one or more type tokens."""

    def register(fn: Mapper) -> Mapper:
        for t in types:
            MAPPERS[t] = fn
        return fn

    return register


def free_reason(type_token: str) -> str | None:
    if type_token in FREE_TYPES:
        return FREE_TYPES[type_token]
    return next((reason for prefix, reason in FREE_PREFIXES.items() if type_token.startswith(prefix)), None)


def usage_component(r: PlannedResource, model: str | None, description: str, unit: str, why: str,
                    unit_price_note: str = "the catalog has no price for it") -> Component:
    """A component whose cost depends on usage: no quantity, no made-up number."""
    return Component(resource=r.type, name=r.name, description=description, unit=unit, unit_price=None,
                     quantity_min=None, quantity_max=None, quantity_expected=None,
                     price_source=f"depends on usage ({why}); {unit_price_note}", model=model, usage_based=True,
                     note="depends on usage")


def classify(r: PlannedResource, ctx: Context) -> list[Any]:
    """The cost items of one resource (see the module contract for the buckets)."""
    mapper = MAPPERS.get(r.type)
    if mapper is not None:
        return mapper(r, ctx)
    if r.type in USAGE_TYPES:
        description, unit, why = USAGE_TYPES[r.type]
        return [usage_component(r, ctx.model_of(r), description, unit, why)]
    reason = free_reason(r.type)
    if reason is not None:
        return [Free(r.type, r.name, reason)]
    return [Unpriced(r.type, r.name, "no cost mapping for this resource type yet; not included in the totals")]
