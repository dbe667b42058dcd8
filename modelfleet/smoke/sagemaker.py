"""Smoke test of a deployed SageMaker endpoint: wait for InService, invoke once, time it.

Contract:
- `default_payload(runtime)` → (JSON body, content type) a runtime's container accepts for a
  trivial request; models with specific inputs (Triton, TorchServe) take `--payload`.
- `wait_in_service(sagemaker, endpoint, timeout_s)` → final status (boto3 waiter
  `endpoint_in_service`); raises `SmokeError` when the endpoint failed or timed out.
- `invoke(runtime, endpoint, body, content_type, component)` → `SmokeResult` (HTTP status, latency ms,
  the first bytes of the response). Errors from the model come back as a result, not a raise.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from modelfleet.errors import ModelfleetError

PAYLOADS: dict[str, Any] = {
    # LMI (vLLM) and TGI accept the Hugging Face text-generation schema
    "vllm": {"inputs": "Say hello.", "parameters": {"max_new_tokens": 8}},
    "tgi": {"inputs": "Say hello.", "parameters": {"max_new_tokens": 8}},
    "tfserving": {"instances": [[0.0]]},
    "torchserve": {"data": [0.0]},
    "triton": {"inputs": [{"name": "INPUT__0", "shape": [1, 1], "datatype": "FP32", "data": [0.0]}]},
    "custom": {"ping": True},
}


class SmokeError(ModelfleetError):
    """The endpoint is not usable (failed, or not InService in time)."""

    exit_code = 1


@dataclass(frozen=True)
class SmokeResult:
    status: int
    latency_ms: float
    body: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def default_payload(runtime: str) -> tuple[bytes, str]:
    return json.dumps(PAYLOADS.get(runtime, PAYLOADS["custom"])).encode(), "application/json"


def wait_in_service(sagemaker: Any, endpoint: str, timeout_s: int = 1800, delay_s: int = 30) -> str:
    from botocore.exceptions import WaiterError

    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint, WaiterConfig={"Delay": delay_s, "MaxAttempts": max(1, timeout_s // max(delay_s, 1))})
    except WaiterError as e:
        described = e.last_response or {}
        status: str = described.get("EndpointStatus", "unknown")
        reason = described.get("FailureReason") or described.get("Error", {}).get("Message", "")
        raise SmokeError(f"endpoint {endpoint} is {status}{': ' + reason if reason else ''}. To fix: read the "
                         f"endpoint's CloudWatch logs (/aws/sagemaker/Endpoints/{endpoint}) and redeploy") from e
    status = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"]
    return status


def invoke(runtime: Any, endpoint: str, body: bytes, content_type: str = "application/json",
           component: str | None = None) -> SmokeResult:
    """`component`: the inference component to address (scale-to-zero models), which InvokeEndpoint then requires."""
    from botocore.exceptions import ClientError

    started = time.perf_counter()
    extra = {"InferenceComponentName": component} if component else {}
    try:
        response = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type, Accept="application/json",
                                           **extra)
    except ClientError as e:
        elapsed = (time.perf_counter() - started) * 1000
        status = int(e.response.get("OriginalStatusCode") or e.response["ResponseMetadata"].get("HTTPStatusCode", 500))
        return SmokeResult(status, elapsed, e.response.get("Error", {}).get("Message", str(e))[:500])
    elapsed = (time.perf_counter() - started) * 1000
    text = response["Body"].read().decode("utf-8", errors="replace")
    return SmokeResult(int(response["ResponseMetadata"]["HTTPStatusCode"]), elapsed, text[:500])
