"""`smoke` on SageMaker: wait for InService and invoke, against moto (in-process and in server
mode), and the command's input errors (exit 2) on every platform."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.sagemaker.models import FakeEndpointConfig
from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.smoke.sagemaker import SmokeError, default_payload, invoke, wait_in_service

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


def create_endpoint(name: str = ENDPOINT, endpoint_url: str | None = None) -> None:
    sm = boto3.client("sagemaker", region_name=REGION, endpoint_url=endpoint_url)
    sm.create_model(ModelName=f"m-{name}", ExecutionRoleArn="arn:aws:iam::123456789012:role/sm", PrimaryContainer={"Image": "i"})
    sm.create_endpoint_config(EndpointConfigName=f"c-{name}", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"m-{name}", "InstanceType": "ml.g6.4xlarge", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"c-{name}")


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
        create_endpoint(endpoint_url=url)
        result = CliRunner().invoke(app, ["smoke", "llama3-8b-chat", "--stack", "sagemaker-prod", "--timeout", "5",
                                          "--payload", '{"inputs": "hi"}', "--format", "json", "--project-dir", str(ROOT)])
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and report["platform"] == "sagemaker"
    (model,) = report["models"]
    assert model["model"] == "llama3-8b-chat" and model["status"] == "ok" and model["http_status"] == 200
    assert model["ready_s"] is not None and model["latency_ms"] is not None
    assert [c["name"] for c in model["checks"]] == ["in service", "invoke"] and "InService" in model["checks"][0]["detail"]


def test_smoke_on_sagemaker_without_credentials_is_exit_3(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(app, ["smoke", "--stack", "sagemaker-prod", "--timeout", "1", "--project-dir", str(ROOT)])
    assert result.exit_code == 3, result.output
    assert "credentials" in result.output and "Traceback" not in result.output


def test_smoke_command_rejects_bad_input():
    runner = CliRunner()
    unknown = runner.invoke(app, ["smoke", "nope", "--stack", "sagemaker-prod", "--project-dir", str(ROOT)])
    assert unknown.exit_code == 2 and "llama3-8b-chat" in unknown.output and "nope" in unknown.output
    bad = runner.invoke(app, ["smoke", "llama3-8b-chat", "--stack", "sagemaker-prod", "--payload", "{x", "--project-dir", str(ROOT)])
    assert bad.exit_code == 2 and "not JSON" in bad.output
    missing_stack = runner.invoke(app, ["smoke", "--stack", "nowhere", "--project-dir", str(ROOT)])
    assert missing_stack.exit_code == 2
    json_error = runner.invoke(app, ["smoke", "nope", "--stack", "eks-prod", "--format", "json", "--project-dir", str(ROOT)])
    assert json_error.exit_code == 2 and json.loads(json_error.stdout)["ok"] is False
