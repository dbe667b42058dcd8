"""`quota`: planned peaks per quota bucket (pure) and the comparison against Service Quotas
(botocore Stubber: moto has no EC2/SageMaker quotas)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import typer
from botocore.stub import Stubber
from typer.testing import CliRunner

from modelfleet.cli import aws as cli_aws
from modelfleet.environment import find_stack, load_stack_file
from modelfleet.program import plan_stack
from modelfleet.quota import EC2_BUCKETS, compare, needs
from modelfleet.spec import load_specs, spec_paths
from modelfleet.targets.eks import node_bounds

ROOT = Path(__file__).resolve().parents[1]
SPECS = load_specs(spec_paths(ROOT / "model_specs"))


def placed(stack: str):
    return plan_stack(load_stack_file(find_stack(ROOT / "stacks", stack)), SPECS)


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("quota")(cli_aws.quota_command)
    cli.command("noop", hidden=True)(lambda: None)  # two commands: typer keeps `quota` a subcommand
    return cli


def quotas_client(responses: dict[str, list[tuple[str, str, float]]]):
    """A service-quotas client answering, per service, defaults then applied values."""
    client = boto3.client("service-quotas", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    for service, quotas in responses.items():
        body = [{"QuotaCode": code, "QuotaName": name, "Value": value, "ServiceCode": service} for code, name, value in quotas]
        stubber.add_response("list_aws_default_service_quotas", {"Quotas": body}, {"ServiceCode": service})
        stubber.add_response("list_service_quotas", {"Quotas": body[:1]}, {"ServiceCode": service})
    stubber.activate()
    return client, stubber


def test_eks_needs_are_peak_vcpus_per_bucket():
    sp = placed("eks-prod")
    wanted = {n.quota_code: n for n in needs(sp)}
    expected: dict[str, int] = {}
    for shape, users in sp.shapes().values():
        code = EC2_BUCKETS[("P" if shape.offer.instance_type.startswith("p") else "G", shape.spot)][0]
        expected[code] = expected.get(code, 0) + node_bounds(users)[1] * int(shape.offer.vcpus)
    assert {c: n.amount for c, n in wanted.items()} == expected
    assert set(wanted) == {"L-DB2E81BA", "L-417A185B"}, "prod: on-demand G and P buckets"
    assert wanted["L-417A185B"].models == ("llama3-70b-instruct",)


def test_spot_shapes_count_against_spot_buckets():
    codes = {n.quota_code for n in needs(placed("eks-dev"))}
    assert "L-3819A6DF" in codes, "the chat model runs on spot in dev"


def test_sagemaker_needs_are_instances_per_type():
    wanted = needs(placed("sagemaker-prod"))
    assert all(n.service == "sagemaker" and n.quota_name.endswith(" for endpoint usage") for n in wanted)
    chat = next(n for n in wanted if "llama3-8b-chat" in n.models)
    assert chat.amount == 8 and chat.unit == "instances"


def test_compare_reports_headroom_and_shortfall():
    wanted = needs(placed("sagemaker-prod"))
    quotas = [("L-0001", n.quota_name, float(n.amount + 1)) for n in wanted]
    quotas[0] = ("L-0001", wanted[0].quota_name, 1.0)
    client, stubber = quotas_client({"sagemaker": quotas})
    rows = compare(wanted, client)
    stubber.assert_no_pending_responses()
    assert rows[0].short and rows[0].headroom == 1 - wanted[0].amount
    assert all(not r.short and r.headroom == 1 for r in rows[1:])


@pytest.fixture()
def stub_session(monkeypatch):
    def install(responses):
        client, stubber = quotas_client(responses)

        class Session:
            def client(self, name):
                assert name == "service-quotas"
                return client

        monkeypatch.setattr(cli_aws, "_session", lambda region: Session())
        return stubber
    return install


def test_quota_command_exit_1_when_short(stub_session):
    wanted = needs(placed("eks-prod"))
    stub_session({"ec2": [(n.quota_code, n.quota_name, 8.0) for n in wanted]})
    result = CliRunner().invoke(app(), ["quota", "--stack", "eks-prod", "--project-dir", str(ROOT)])
    assert result.exit_code == 1, result.output
    assert "Running On-Demand P instances" in result.output and "short" in result.output


def test_quota_command_exit_0_with_headroom(stub_session):
    wanted = needs(placed("eks-prod"))
    stub_session({"ec2": [(n.quota_code, n.quota_name, 10_000.0) for n in wanted]})
    result = CliRunner().invoke(app(), ["quota", "--stack", "eks-prod", "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "headroom" in result.output


def test_quota_command_without_credentials_exits_3(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(app(), ["quota", "--stack", "sagemaker-prod", "--project-dir", str(ROOT)])
    assert result.exit_code == 3, result.output
    assert "credentials" in result.output and "Traceback" not in result.output


def test_quota_command_rejects_non_aws_stack():
    result = CliRunner().invoke(app(), ["quota", "--stack", "lab-dev", "--project-dir", str(ROOT)])
    assert result.exit_code == 2 and "does not run on AWS" in result.output
