"""AWS side of `modelfleet quota`: Service Quotas values, current usage, and the rows.

Contract:
- `check(sp, session)` → `QuotaRow`s for an EKS or SageMaker stack, from a boto3 session in the
  stack's region. Calls: Service Quotas `ListAWSDefaultServiceQuotas` + `ListServiceQuotas`
  (applied values override defaults); for EC2 buckets the usage CloudWatch publishes for the
  quota (`AWS/Usage`, named by the quota's own `UsageMetric`); for SageMaker the instances
  running endpoints hold now (`ListEndpoints` → `DescribeEndpoint` → `DescribeEndpointConfig`).
- Any botocore client error becomes `QuotaError` (exit 3) naming the operation, the AWS error
  code and message; missing credentials or an unreachable endpoint too.
In use counts everything running in the account and region, this stack's own capacity included:
an update that replaces nodes or shifts an endpoint blue/green runs both for a while, so the
headroom is the conservative one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from modelfleet.placement import StackPlacement
from modelfleet.quota import Need, QuotaError, QuotaRow, needs

# CloudWatch usage window: AWS/Usage metrics are published once a minute (CloudWatch User Guide,
# "AWS usage metrics"); the newest 5-minute datapoint of the last hour is "in use now".
USAGE_WINDOW = timedelta(hours=1)
USAGE_PERIOD_S = 300

# Endpoint states in which instances are held (SageMaker API reference, DescribeEndpoint
# EndpointStatus: OutOfService | Creating | Updating | SystemUpdating | RollingBack | InService |
# Deleting | Failed | UpdateRollbackFailed). Failed and Deleting endpoints hold no billable instances.
HOLDING_STATES = frozenset({"InService", "Creating", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})


@dataclass(frozen=True)
class Quota:
    value: float
    # Service Quotas API reference, MetricInfo: MetricNamespace, MetricName, MetricDimensions
    # (name → value), MetricStatisticRecommendation (Sum | Maximum); e.g. EC2's
    # AWS/Usage ResourceCount {Service: EC2, Type: Resource, Resource: vCPU, Class: G/OnDemand}
    usage_metric: dict[str, Any] | None


def _client_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def _failure(operation: str, e: Exception) -> QuotaError:
    from botocore.exceptions import ClientError

    if isinstance(e, ClientError):
        error = e.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", str(e))
        hint = ("grant the caller servicequotas:ListServiceQuotas, servicequotas:ListAWSDefaultServiceQuotas, "
                "cloudwatch:GetMetricStatistics and sagemaker:ListEndpoints/DescribeEndpoint/DescribeEndpointConfig"
                if "AccessDenied" in code or "Unauthorized" in code else
                "check the stack's region and the account, then re-run")
        return QuotaError(f"AWS {operation} failed: {code}: {str(message).rstrip('.')}. To fix: {hint}")
    return QuotaError(f"cannot reach AWS for {operation}: {str(e).rstrip('.')}. To fix: configure credentials (AWS_PROFILE, "
                      "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance/SSO role) for the stack's account and region")


def _call(operation: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except _client_errors() as e:
        raise _failure(operation, e) from e


def quota_values(client: Any, service_code: str) -> dict[str, Quota]:
    """Quota code → Quota and quota name → Quota; applied values override AWS defaults."""
    values: dict[str, Quota] = {}
    for operation, api in (("list_aws_default_service_quotas", "ListAWSDefaultServiceQuotas"),
                           ("list_service_quotas", "ListServiceQuotas")):
        def pages(op: str = operation) -> list[dict[str, Any]]:
            return list(client.get_paginator(op).paginate(ServiceCode=service_code))

        for page in _call(f"Service Quotas {api} ({service_code})", pages):
            for q in page.get("Quotas", []):
                quota = Quota(float(q["Value"]), q.get("UsageMetric") or None)
                values[q["QuotaCode"]] = values[q["QuotaName"]] = quota
    return values


def metric_usage(cloudwatch: Any, metric: dict[str, Any], now: datetime | None = None) -> float | None:
    """The newest value of a quota's usage metric over the last hour; 0 when the metric has no
    datapoint (AWS/Usage publishes nothing while nothing runs); None when it names no metric."""
    if not metric.get("MetricNamespace") or not metric.get("MetricName"):
        return None
    statistic = metric.get("MetricStatisticRecommendation") or "Maximum"
    end = now or datetime.now(UTC)
    response = _call("CloudWatch GetMetricStatistics", cloudwatch.get_metric_statistics,
                     Namespace=metric["MetricNamespace"], MetricName=metric["MetricName"],
                     Dimensions=[{"Name": k, "Value": v} for k, v in sorted((metric.get("MetricDimensions") or {}).items())],
                     StartTime=end - USAGE_WINDOW, EndTime=end, Period=USAGE_PERIOD_S, Statistics=[statistic])
    points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
    return float(points[-1][statistic]) if points else 0.0


def sagemaker_instances(client: Any) -> dict[str, int]:
    """Instance type → instances that endpoints in the region hold now (current, or desired while
    an endpoint is still being created)."""
    held: dict[str, int] = defaultdict(int)
    configs: dict[str, dict[str, str]] = {}
    names = [e["EndpointName"] for page in _call("SageMaker ListEndpoints", lambda: list(client.get_paginator("list_endpoints").paginate()))
             for e in page.get("Endpoints", [])]
    for name in names:
        endpoint = _call("SageMaker DescribeEndpoint", client.describe_endpoint, EndpointName=name)
        if endpoint.get("EndpointStatus") not in HOLDING_STATES:
            continue
        config_name = endpoint["EndpointConfigName"]
        if config_name not in configs:
            config = _call("SageMaker DescribeEndpointConfig", client.describe_endpoint_config, EndpointConfigName=config_name)
            configs[config_name] = {v["VariantName"]: v.get("InstanceType", "") for v in config.get("ProductionVariants", [])}
        for variant in endpoint.get("ProductionVariants", []):
            instance_type = configs[config_name].get(variant["VariantName"])
            count = variant.get("CurrentInstanceCount", variant.get("DesiredInstanceCount")) or 0
            if instance_type:  # serverless variants hold no instance
                held[instance_type] += int(count)
    return dict(held)


def check(sp: StackPlacement, session: Any) -> list[QuotaRow]:
    wanted = needs(sp)
    if not wanted:
        return []
    quotas_client = _call("client setup", session.client, "service-quotas")
    by_service: dict[str, dict[str, Quota]] = {}
    for service in sorted({n.service for n in wanted}):
        by_service[service] = quota_values(quotas_client, service)
    rows = []
    if any(n.service == "ec2" for n in wanted):
        cloudwatch = _call("client setup", session.client, "cloudwatch")
        rows += [_ec2_row(n, by_service["ec2"], cloudwatch) for n in wanted if n.service == "ec2"]
    if any(n.service == "sagemaker" for n in wanted):
        held = sagemaker_instances(_call("client setup", session.client, "sagemaker"))
        for n in wanted:
            if n.service == "sagemaker":
                quota = by_service["sagemaker"].get(n.quota_name)
                rows.append(QuotaRow("sagemaker", n.quota_name, n.unit, n.amount, n.models,
                                     None if quota is None else quota.value, float(held.get(n.instance_type or "", 0)),
                                     "" if quota else "quota not listed for this account and region"))
    return rows


def _ec2_row(n: Need, values: dict[str, Quota], cloudwatch: Any) -> QuotaRow:
    quota = values.get(n.quota_code or "") or next((values[name] for name in (n.quota_name, *n.aliases) if name in values), None)
    if quota is None:
        return QuotaRow("ec2", n.quota_name, n.unit, n.amount, n.models, None, None,
                        "quota not listed for this account and region")
    in_use = metric_usage(cloudwatch, quota.usage_metric) if quota.usage_metric else None
    note = "" if in_use is not None else "the quota names no usage metric: headroom ignores what runs now"
    return QuotaRow("ec2", n.quota_name, n.unit, n.amount, n.models, quota.value, in_use, note)
