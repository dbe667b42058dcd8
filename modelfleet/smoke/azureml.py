"""The reaching half of `modelfleet smoke` on Azure ML managed online endpoints.

Contract:
- `credential()` → azure-identity's `DefaultAzureCredential` (environment, workload identity,
  managed identity, Azure CLI ...); the package missing → `SmokeEnvironmentError` (exit 3).
- `endpoint_state(token, subscription, resource_group, workspace, endpoint)` → the online
  endpoint's ARM properties (`provisioningState`, `scoringUri`, `traffic`), read from the
  Resource Manager REST API (`Online Endpoints - Get`, api-version `API_VERSION`).
- `wait_ready(...)` → (properties, seconds) once `provisioningState` is Succeeded; "Failed" or
  "Canceled" raise `EndpointFailed`; the deadline returns the last properties with None.
- `score(scoring_uri, body, token)` → `Check` for one POST to the scoring URI with an Entra ID
  token for `SCORING_SCOPE` (endpoints with `auth_mode: aad_token`, as modelfleet creates them).
The ARM base URL is `MODELFLEET_AZURE_ARM_ENDPOINT` when set (sovereign clouds, tests), else
the public cloud's.
"""

from __future__ import annotations

import os
import time
from typing import Any

import requests

from modelfleet.smoke.result import Check
from modelfleet.smoke.target import SmokeEnvironmentError

# Azure Resource Manager, public cloud; Online Endpoints - Get (Microsoft.MachineLearningServices,
# REST api-version 2024-10-01, the version azure-native 3.x machinelearningservices uses)
ARM_ENDPOINT = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
API_VERSION = "2024-10-01"
# data-plane audience for online endpoints with Entra ID token auth (Microsoft Learn:
# "Authenticate clients for online endpoints", aad_token: `az account get-access-token --resource https://ml.azure.com`)
SCORING_SCOPE = "https://ml.azure.com/.default"
TERMINAL_FAILURES = ("Failed", "Canceled")
POLL_S = 10.0


class EndpointFailed(Exception):
    """The endpoint's provisioning failed or was cancelled."""


def credential() -> Any:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as e:
        raise SmokeEnvironmentError("azure-identity is not installed. To fix: pip install 'modelfleet[smoke]'") from e
    return DefaultAzureCredential()


def token(cred: Any, scope: str) -> str:
    from azure.core.exceptions import ClientAuthenticationError

    try:
        return str(cred.get_token(scope).token)
    except ClientAuthenticationError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SmokeEnvironmentError(f"no Entra ID token for {scope}: {first}. To fix: az login (or azure/login in CI), "
                                    "or set AZURE_CLIENT_ID/AZURE_TENANT_ID with a federated or secret credential") from e


def _arm() -> str:
    return os.environ.get("MODELFLEET_AZURE_ARM_ENDPOINT", ARM_ENDPOINT).rstrip("/")


def endpoint_state(bearer: str, subscription: str, resource_group: str, workspace: str, endpoint: str) -> dict[str, Any]:
    url = (f"{_arm()}/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/"
           f"Microsoft.MachineLearningServices/workspaces/{workspace}/onlineEndpoints/{endpoint}")
    response = requests.get(url, params={"api-version": API_VERSION}, headers={"Authorization": f"Bearer {bearer}"}, timeout=60)
    if response.status_code in (401, 403):
        raise SmokeEnvironmentError(f"Azure Resource Manager refused reading endpoint {endpoint!r} (HTTP {response.status_code}). "
                                    "To fix: grant the identity Reader (or AzureML Data Scientist) on the workspace")
    response.raise_for_status()
    properties: dict[str, Any] = response.json().get("properties") or {}
    return properties


def wait_ready(bearer: str, subscription: str, resource_group: str, workspace: str, endpoint: str,
               timeout_s: float) -> tuple[dict[str, Any], float | None]:
    started = time.monotonic()
    while True:
        properties = endpoint_state(bearer, subscription, resource_group, workspace, endpoint)
        state = properties.get("provisioningState")
        if state == "Succeeded":
            return properties, time.monotonic() - started
        if state in TERMINAL_FAILURES:
            raise EndpointFailed(f"endpoint {endpoint} is {state}")
        if time.monotonic() - started + POLL_S > timeout_s:
            return properties, None
        time.sleep(POLL_S)


def score(scoring_uri: str, body: Any, bearer: str) -> Check:
    started = time.perf_counter()
    try:
        response = requests.post(scoring_uri, json=body, headers={"Authorization": f"Bearer {bearer}"}, timeout=120)
    except requests.RequestException as e:
        return Check("score", False, None, None, f"POST {scoring_uri}: {type(e).__name__}: {e}")
    elapsed = (time.perf_counter() - started) * 1000
    ok = 200 <= response.status_code < 300
    detail = f"POST {scoring_uri} → HTTP {response.status_code}" + ("" if ok else f": {response.text[:300]}")
    return Check("score", ok, response.status_code, elapsed, detail)
