"""`quota`: planned peaks per quota bucket (pure), then the check against each cloud.

AWS: Service Quotas through botocore's Stubber (moto has no EC2/SageMaker quotas), CloudWatch
`AWS/Usage` and running SageMaker endpoints through moto. Azure: the real SDK clients against a
loopback HTTPS fake of Resource Manager (tests/servers/fake_arm.py)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from botocore.stub import Stubber
from moto import mock_aws
from servers.fake_arm import FakeCredential, fake_arm
from typer.testing import CliRunner

from modelfleet.cli import quota as cli_quota
from modelfleet.environment import find_stack, load_stack_file
from modelfleet.program import plan_stack
from modelfleet.quota import EC2_BUCKETS, Need, azureml_vcpus, ec2_bucket, needs
from modelfleet.spec import load_specs, spec_paths
from modelfleet.targets.aks import pool_bounds
from modelfleet.targets.eks import node_bounds

ROOT = Path(__file__).resolve().parents[1]
SPECS = load_specs(spec_paths(ROOT / "model_specs"))
SUB = "00000000-0000-0000-0000-000000000000"
REGION = "us-east-1"


def placed(stack: str):
    return plan_stack(load_stack_file(find_stack(ROOT / "stacks", stack)), SPECS)


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("quota")(cli_quota.quota_command)
    cli.command("noop", hidden=True)(lambda: None)  # two commands: typer keeps `quota` a subcommand
    return cli


def run(*args: str):
    return CliRunner().invoke(app(), ["quota", *args, "--project-dir", str(ROOT)])


# ---- planned peaks (no cloud call) ----------------------------------------------------------

def test_eks_needs_are_peak_vcpus_per_bucket():
    sp = placed("eks-prod")
    wanted = {n.quota_code: n for n in needs(sp)}
    expected: dict[str, int] = {}
    for shape, users in sp.shapes().values():
        code = EC2_BUCKETS[("P" if shape.offer.instance_type.startswith("p") else "G", shape.spot)][0]
        assert code is not None
        expected[code] = expected.get(code, 0) + node_bounds(users)[1] * int(shape.offer.vcpus)
    assert {c: n.amount for c, n in wanted.items()} == expected
    assert set(wanted) == {"L-DB2E81BA", "L-417A185B"}, "prod: on-demand G and P buckets"
    assert wanted["L-417A185B"].models == ("llama3-70b-instruct",)


def test_spot_shapes_count_against_spot_buckets():
    codes = {n.quota_code for n in needs(placed("eks-dev"))}
    assert "L-3819A6DF" in codes, "the chat model runs on spot in dev"


def test_p_spot_quotas_follow_the_split_p5_and_p4_p3_p2_buckets():
    assert ec2_bucket("p5.48xlarge", True) == ("P5", True) and ec2_bucket("p4d.24xlarge", True) == ("P", True)
    assert ec2_bucket("p5.48xlarge", False) == ("P", False), "on-demand P has one quota"
    assert EC2_BUCKETS[("P5", True)][1] == "All P5 Spot Instance Requests"


def test_a_quota_listed_under_its_older_name_is_still_found():
    from modelfleet.quota_aws import Quota, _ec2_row

    need = Need("ec2", None, EC2_BUCKETS[("P", True)][1], "vCPUs", 96, ("m",), spot=True, aliases=EC2_BUCKETS[("P", True)][2])
    row = _ec2_row(need, {"All P Spot Instance Requests": Quota(64.0, None)}, cloudwatch=None)
    assert row.quota == 64 and row.short


def test_sagemaker_needs_are_instances_per_type():
    wanted = needs(placed("sagemaker-prod"))
    assert all(n.service == "sagemaker" and n.quota_name.endswith(" for endpoint usage") for n in wanted)
    chat = next(n for n in wanted if "llama3-8b-chat" in n.models)
    assert chat.amount == 8 and chat.unit == "instances"


def test_aks_needs_are_pool_peak_vcpus_per_vm_size():
    sp = placed("aks-prod")
    wanted = {n.instance_type: n for n in needs(sp)}
    for shape, users in sp.shapes().values():
        assert wanted[shape.offer.instance_type].amount == pool_bounds(users, shape.gpus_per_node)[1] * int(shape.offer.vcpus)
    assert all(n.service == "compute" and n.unit == "vCPUs" for n in wanted.values())


def test_azureml_peak_includes_the_upgrade_reservation():
    # how-to-manage-quotas: 10 instances of a 4-core size need quota for ceil(1.2 * 10) * 4 = 48 cores
    assert azureml_vcpus("Standard_DS3_v2", 10, 4) == 48
    assert azureml_vcpus("Standard_DS3_v2", 1, 4) == 8, "one instance rounds up to two"
    assert azureml_vcpus("Standard_NC24ads_A100_v4", 10, 24) == 240, "A100 sizes skip the reservation"
    sp = placed("azureml-prod")
    [need] = needs(sp)
    p = sp.placements[0]
    assert need.amount == azureml_vcpus(p.offer.instance_type, p.max_replicas, int(p.offer.vcpus))


# ---- AWS --------------------------------------------------------------------------------------

def usage_metric(cls: str) -> dict[str, Any]:
    # what Service Quotas returns as UsageMetric for the EC2 vCPU quotas (MetricInfo)
    return {"MetricNamespace": "AWS/Usage", "MetricName": "ResourceCount", "MetricStatisticRecommendation": "Maximum",
            "MetricDimensions": {"Service": "EC2", "Type": "Resource", "Resource": "vCPU", "Class": cls}}


class Session:
    """boto3 session stand-in: stubbed service-quotas, moto for everything else."""

    def __init__(self, quotas: Any) -> None:
        self.quotas = quotas
        self.asked: list[str] = []

    def client(self, name: str) -> Any:
        self.asked.append(name)
        return self.quotas if name == "service-quotas" else boto3.client(name, region_name=REGION)


@pytest.fixture()
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("service-quotas", region_name=REGION)
        stubber = Stubber(client)
        session = Session(client)
        monkeypatch.setattr(cli_quota, "_session", lambda region: session)
        stubber.activate()
        yield stubber, session
        stubber.deactivate()


def stub_quotas(stubber: Stubber, service: str, quotas: list[dict[str, Any]]) -> None:
    body = [{"ServiceCode": service, **q} for q in quotas]
    stubber.add_response("list_aws_default_service_quotas", {"Quotas": body}, {"ServiceCode": service})
    stubber.add_response("list_service_quotas", {"Quotas": body[:1]}, {"ServiceCode": service})


def put_usage(cls: str, values: list[tuple[int, float]]) -> None:
    cw = boto3.client("cloudwatch", region_name=REGION)
    now = datetime.datetime.now(datetime.UTC)
    dims = [{"Name": k, "Value": v} for k, v in usage_metric(cls)["MetricDimensions"].items()]
    cw.put_metric_data(Namespace="AWS/Usage", MetricData=[
        {"MetricName": "ResourceCount", "Dimensions": dims, "Value": v, "Timestamp": now - datetime.timedelta(minutes=m)}
        for m, v in values])


def test_eks_headroom_subtracts_current_usage_and_exits_1_when_short(aws):
    stubber, _ = aws
    wanted = {n.quota_code: n for n in needs(placed("eks-prod"))}
    g, p = wanted["L-DB2E81BA"], wanted["L-417A185B"]
    stub_quotas(stubber, "ec2", [
        {"QuotaCode": "L-DB2E81BA", "QuotaName": g.quota_name, "Value": float(g.amount + 64), "UsageMetric": usage_metric("G/OnDemand")},
        {"QuotaCode": "L-417A185B", "QuotaName": p.quota_name, "Value": float(p.amount + 4), "UsageMetric": usage_metric("P/OnDemand")},
    ])
    put_usage("G/OnDemand", [(40, 200.0), (3, 64.0)])  # the newest datapoint is what runs now
    put_usage("P/OnDemand", [(2, 8.0)])
    result = run("--stack", "eks-prod", "--format", "json")
    stubber.assert_no_pending_responses()
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    rows = {r["family"]: r for r in doc["stacks"][0]["rows"]}
    assert rows[g.quota_name]["in_use"] == 64 and rows[g.quota_name]["headroom"] == 0 and not rows[g.quota_name]["short"]
    assert rows[p.quota_name]["in_use"] == 8 and rows[p.quota_name]["headroom"] == -4 and rows[p.quota_name]["short"]
    assert rows[p.quota_name]["planned_peak"] == p.amount and doc["short"] is True


def test_eks_table_shows_every_column(aws):
    stubber, _ = aws
    wanted = needs(placed("eks-prod"))
    stub_quotas(stubber, "ec2", [{"QuotaCode": n.quota_code, "QuotaName": n.quota_name, "Value": 10_000.0,
                                  "UsageMetric": usage_metric("G/OnDemand")} for n in wanted])
    result = run("--stack", "eks-prod")
    assert result.exit_code == 0, result.output
    for column in ("family", "quota", "in use", "planned peak", "headroom"):
        assert column in result.stdout
    assert "Running On-Demand P instances" in result.stdout


def test_quota_without_usage_metric_says_usage_is_unknown(aws):
    stubber, _ = aws
    wanted = needs(placed("eks-prod"))
    stub_quotas(stubber, "ec2", [{"QuotaCode": n.quota_code, "QuotaName": n.quota_name, "Value": 10_000.0} for n in wanted])
    result = run("--stack", "eks-prod", "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["stacks"][0]["rows"][0]
    assert row["in_use"] is None and "no usage metric" in row["note"]


def test_sagemaker_counts_instances_running_endpoints_hold(aws, monkeypatch):
    from moto.sagemaker.models import FakeEndpointConfig

    monkeypatch.setattr(FakeEndpointConfig, "validate_instance_type", lambda self, instance_type: None)  # moto's list is stale
    stubber, _ = aws
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName="other", PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
                    ExecutionRoleArn="arn:aws:iam::123456789012:role/x")
    sm.create_endpoint_config(EndpointConfigName="other", ProductionVariants=[
        {"VariantName": "a", "ModelName": "other", "InitialInstanceCount": 3, "InstanceType": "ml.g4dn.2xlarge"}])
    sm.create_endpoint(EndpointName="other-team", EndpointConfigName="other")
    wanted = needs(placed("sagemaker-prod"))
    resnet = next(n for n in wanted if n.instance_type == "ml.g4dn.2xlarge")
    stub_quotas(stubber, "sagemaker", [{"QuotaCode": f"L-{i:08d}", "QuotaName": n.quota_name, "Value": float(n.amount + 2)}
                                       for i, n in enumerate(wanted)])
    result = run("--stack", "sagemaker-prod", "--format", "json")
    assert result.exit_code == 1, result.output
    rows = {r["family"]: r for r in json.loads(result.stdout)["stacks"][0]["rows"]}
    assert rows[resnet.quota_name]["in_use"] == 3 and rows[resnet.quota_name]["headroom"] == -1
    other = next(r for f, r in rows.items() if f != resnet.quota_name)
    assert other["in_use"] == 0 and other["headroom"] == 2 and not other["short"]


def test_aws_api_error_is_exit_3_with_code_and_message(aws):
    stubber, _ = aws
    stubber.add_client_error("list_aws_default_service_quotas", service_error_code="NoSuchResourceException",
                             service_message="The request failed because the specified service does not exist.",
                             http_status_code=400)
    result = run("--stack", "sagemaker-prod")
    assert result.exit_code == 3, result.output
    assert "NoSuchResourceException" in result.output and "specified service does not exist" in result.output
    assert "Traceback" not in result.output


def test_aws_api_error_in_json_is_json(aws):
    stubber, _ = aws
    stubber.add_client_error("list_aws_default_service_quotas", service_error_code="AccessDeniedException",
                             service_message="not authorized to perform servicequotas:ListAWSDefaultServiceQuotas", http_status_code=403)
    result = run("--stack", "eks-prod", "--format", "json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and "AccessDeniedException" in doc["problems"][0]["message"]
    assert "servicequotas:ListServiceQuotas" in doc["problems"][0]["fix"]


def test_quota_command_without_credentials_exits_3(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run("--stack", "sagemaker-prod")
    assert result.exit_code == 3, result.output
    assert "credentials" in result.output and "Traceback" not in result.output


def test_quota_command_rejects_a_stack_on_neither_cloud():
    result = run("--stack", "lab-dev")
    assert result.exit_code == 2 and "neither AWS nor Azure" in result.output


# ---- Azure ------------------------------------------------------------------------------------

def compute_routes(usages: dict[str, tuple[int, int]], families: dict[str, str], location: str = "eastus") -> dict:
    skus = [{"resourceType": "virtualMachines", "name": size, "family": family, "locations": [location], "restrictions": []}
            for size, family in families.items()]
    skus.append({"resourceType": "disks", "name": "Premium_LRS", "locations": [location]})
    values = [{"unit": "Count", "currentValue": current, "limit": limit, "name": {"value": name, "localizedValue": name}}
              for name, (current, limit) in usages.items()]
    return {("GET", f"/subscriptions/{SUB}/providers/Microsoft.Compute/skus"): (200, {"value": skus}),
            ("GET", f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/{location}/usages"): (200, {"value": values})}


AKS_FAMILIES = {"Standard_NC8as_T4_v3": "standardNCASv3_T4Family", "Standard_NC96ads_A100_v4": "standardNCADSA100v4Family",
                "Standard_NV36ads_A10_v5": "standardNVADSA10v5Family"}


@pytest.fixture()
def azure(monkeypatch, tmp_path):
    """Install a fake ARM: `azure(routes)` → the FakeArm the CLI's Azure clients talk to."""
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    servers = []

    def install(routes):
        ctx = fake_arm(tmp_path, routes)
        arm = ctx.__enter__()
        servers.append(ctx)
        monkeypatch.setattr(cli_quota, "_azure", lambda: (FakeCredential(), SUB,
                                                          {"base_url": arm.url, "connection_verify": arm.ca_file}))
        return arm
    yield install
    for ctx in servers:
        ctx.__exit__(None, None, None)


def test_aks_rows_per_family_plus_regional_total(azure):
    wanted = {n.instance_type: n for n in needs(placed("aks-prod"))}
    total = sum(n.amount for n in wanted.values())
    a100 = wanted["Standard_NC96ads_A100_v4"]
    arm = azure(compute_routes({"cores": (100, total + 100), "standardNCADSA100v4Family": (24, a100.amount + 12),
                                "standardNCASv3_T4Family": (0, 1000), "standardNVADSA10v5Family": (0, 1000)}, AKS_FAMILIES))
    result = run("--stack", "aks-prod", "--format", "json")
    assert result.exit_code == 1, result.output
    rows = {r["family"].split(" (")[0]: r for r in json.loads(result.stdout)["stacks"][0]["rows"]}
    assert rows["standardNCADSA100v4Family"]["headroom"] == -12 and rows["standardNCADSA100v4Family"]["short"]
    assert rows["standardNCADSA100v4Family"]["models"] == list(a100.models)
    assert rows["Total Regional vCPUs"]["planned_peak"] == total and rows["Total Regional vCPUs"]["headroom"] == 0
    assert rows["standardNCASv3_T4Family"]["headroom"] == 1000 - wanted["Standard_NC8as_T4_v3"].amount
    sku_call = next(s for s in arm.seen if s["path"].endswith("/skus"))
    assert sku_call["query"]["$filter"] == ["location eq 'eastus'"] and sku_call["authorization"] == "Bearer fake-arm-token"


def test_aks_with_headroom_exits_0_and_prints_a_table(azure):
    azure(compute_routes({"cores": (0, 10_000), **{f: (0, 10_000) for f in AKS_FAMILIES.values()}}, AKS_FAMILIES))
    result = run("--stack", "aks-prod")
    assert result.exit_code == 0, result.output
    assert "standardNVADSA10v5Family" in result.stdout and "Total Regional vCPUs" in result.stdout


def test_spot_pools_use_the_regional_spot_quota_not_the_family(azure, tmp_path):
    from azure.mgmt.compute import ComputeManagementClient

    from modelfleet.quota_azure import compute_rows

    arm = azure(compute_routes({"cores": (0, 100), "lowPriorityCores": (10, 40), "standardNCASv3_T4Family": (0, 0)},
                               {"Standard_NC8as_T4_v3": "standardNCASv3_T4Family"}))
    client = ComputeManagementClient(FakeCredential(), SUB, arm.url, connection_verify=arm.ca_file)
    spot = Need("compute", None, "Standard_NC8as_T4_v3", "vCPUs", 32, ("m",), spot=True, instance_type="Standard_NC8as_T4_v3")
    [row] = compute_rows([spot], client, "eastus")
    assert row.family.startswith("Total Regional Spot vCPUs") and row.quota == 40 and row.in_use == 10 and row.headroom == -2


def test_size_the_region_does_not_offer_is_reported_not_counted(azure):
    families = dict(AKS_FAMILIES)
    del families["Standard_NV36ads_A10_v5"]
    azure(compute_routes({"cores": (0, 10_000), **{f: (0, 10_000) for f in families.values()}}, families))
    result = run("--stack", "aks-prod", "--format", "json")
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.stdout)["stacks"][0]["rows"] if r["family"] == "Standard_NV36ads_A10_v5")
    assert row["quota"] is None and "not offered in eastus" in row["note"]


def ml_routes(limit: int, current: int, location: str = "eastus") -> dict:
    family_usage = {"type": "Microsoft.MachineLearningServices/vmFamily/usages", "unit": "Count", "currentValue": current,
                    "limit": limit, "id": f"/subscriptions/{SUB}/usages/Standard_FSv2_Family_Cluster_Dedicated_vCPUs",
                    "name": {"value": "Standard FSv2 Family Cluster Dedicated vCPUs", "localizedValue": "Standard FSv2 Family Cluster Dedicated vCPUs"}}
    # a workspace-level line with the same name: not the subscription's regional quota
    workspace_usage = {**family_usage, "type": "Microsoft.MachineLearningServices/workspaces/usages", "currentValue": 9999, "limit": 1}
    base = f"/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/{location}"
    return {**compute_routes({}, {"Standard_F4s_v2": "standardFSv2Family"}, location),
            ("GET", f"{base}/usages"): (200, {"value": [workspace_usage, family_usage]})}


def test_azureml_family_quota_with_reservation(azure):
    [need] = needs(placed("azureml-prod"))
    arm = azure(ml_routes(limit=need.amount + 4, current=8))
    result = run("--stack", "azureml-prod", "--format", "json")
    assert result.exit_code == 1, result.output
    [row] = json.loads(result.stdout)["stacks"][0]["rows"]
    assert row["family"].startswith("Standard FSv2 Family Cluster Dedicated vCPUs")
    assert row["in_use"] == 8 and row["planned_peak"] == need.amount and row["headroom"] == -4
    assert "20 % upgrade reservation" in row["note"]
    assert any(s["path"].endswith("MachineLearningServices/locations/eastus/usages") for s in arm.seen)


def test_azure_api_error_is_exit_3_with_code_and_message(azure):
    azure({("GET", f"/subscriptions/{SUB}/providers/Microsoft.Compute/skus"): (403, {"error": {
        "code": "AuthorizationFailed",
        "message": "The client 'ci' does not have authorization to perform action 'Microsoft.Compute/skus/read'."}})})
    result = run("--stack", "aks-prod")
    assert result.exit_code == 3, result.output
    assert "AuthorizationFailed" in result.output and "Microsoft.Compute/skus/read" in result.output
    assert "Traceback" not in result.output


def test_azure_without_subscription_is_exit_3(monkeypatch):
    monkeypatch.delenv(cli_quota.SUBSCRIPTION_ENV, raising=False)
    result = run("--stack", "azureml-prod")
    assert result.exit_code == 3 and cli_quota.SUBSCRIPTION_ENV in result.output


def test_azure_credential_failure_is_exit_3_naming_how_to_sign_in(azure, monkeypatch):
    from azure.core.exceptions import ClientAuthenticationError

    arm = azure(compute_routes({"cores": (0, 10)}, AKS_FAMILIES))

    class NoCredential:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included credentials.")

    monkeypatch.setattr(cli_quota, "_azure", lambda: (NoCredential(), SUB, {"base_url": arm.url, "connection_verify": arm.ca_file}))
    result = run("--stack", "aks-prod")
    assert result.exit_code == 3, result.output
    assert "no Azure credential" in result.output and "az login" in result.output and "credentials.." not in result.output
    assert "Traceback" not in result.output and not arm.seen, "nothing reaches Resource Manager without a token"
