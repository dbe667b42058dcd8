"""`smoke`: wait for InService and invoke, against moto (in-process and in server mode)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import typer
from moto import mock_aws
from moto.sagemaker.models import FakeEndpointConfig
from typer.testing import CliRunner

from modelfleet.cli import aws as cli_aws
from modelfleet.smoke import SmokeError, default_payload, invoke, wait_in_service

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ENDPOINT = "llama3-8b-chat-sagemaker-prod"  # the endpoint name placement gives the bundled stack


@pytest.fixture()
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # moto's SageMaker instance-type list predates g5/g6
    monkeypatch.setattr(FakeEndpointConfig, "validate_instance_type", lambda self, instance_type: None)


def create_endpoint(endpoint_url: str | None = None) -> None:
    sm = boto3.client("sagemaker", region_name=REGION, endpoint_url=endpoint_url)
    sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/sm", PrimaryContainer={"Image": "i"})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.g6.4xlarge", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c")


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("quota")(cli_aws.quota_command)
    cli.command("smoke")(cli_aws.smoke_command)
    return cli


def test_wait_and_invoke_in_process(aws_env):
    with mock_aws():
        create_endpoint()
        assert wait_in_service(boto3.client("sagemaker", region_name=REGION), ENDPOINT, timeout_s=5, delay_s=1) == "InService"
        body, content_type = default_payload("vllm")
        assert json.loads(body)["inputs"]
        result = invoke(boto3.client("sagemaker-runtime", region_name=REGION), ENDPOINT, body, content_type)
    assert result.ok and result.latency_ms >= 0 and result.body


def test_missing_endpoint_is_a_smoke_error(aws_env):
    with mock_aws(), pytest.raises(SmokeError, match="missing-endpoint"):
        wait_in_service(boto3.client("sagemaker", region_name=REGION), "missing-endpoint", timeout_s=1, delay_s=1)


def test_smoke_command_against_moto_server(aws_env, monkeypatch):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)  # boto3 sends every service to the local server
        create_endpoint(url)
        result = CliRunner().invoke(app(), ["smoke", "llama3-8b-chat", "--stack", "sagemaker-prod", "--timeout", "5",
                                            "--payload", '{"inputs": "hi"}', "--project-dir", str(ROOT)])
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "InService" in result.output and "HTTP 200" in result.output and " ms" in result.output


def test_smoke_command_rejects_bad_input():
    runner = CliRunner()
    unknown = runner.invoke(app(), ["smoke", "nope", "--stack", "sagemaker-prod", "--project-dir", str(ROOT)])
    assert unknown.exit_code == 2 and "llama3-8b-chat" in unknown.output
    bad = runner.invoke(app(), ["smoke", "llama3-8b-chat", "--stack", "sagemaker-prod", "--payload", "{x",
                                "--project-dir", str(ROOT)])
    assert bad.exit_code == 2 and "not JSON" in bad.output
    k8s = runner.invoke(app(), ["smoke", "llama3-8b-chat", "--stack", "eks-prod", "--project-dir", str(ROOT)])
    assert k8s.exit_code == 2 and "SageMaker" in k8s.output
