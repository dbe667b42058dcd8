"""`modelfleet smoke` for one stack: every selected model (or the ones asked for), on the stack's
platform, through the platform's own front door.

Contract: `smoke_stack(project_dir, stack_name, models, timeout_s, context=None, payload=None)`
→ `SmokeRun(stack, platform, results)`, one `ModelResult` per model in stack order.
- Kubernetes: the stack's kubeconfig context (`kubernetes.context_for`); a public model through
  its public URL, any other through a port-forward to a Ready pod of the model (the pod wait
  counts into `ready_s`); `Authorization: Bearer $MODELFLEET_SMOKE_TOKEN` when that is set
  (required for a public model with `network.auth: token`).
- Azure ML: endpoint state and scoring URI from Resource Manager, one scoring request with an
  Entra ID token; subscription from `AZURE_SUBSCRIPTION_ID`.
- SageMaker: wait for InService, one InvokeEndpoint (`modelfleet.smoke.sagemaker`).
Request bodies: `payload` (the CLI's `--payload`) overrides; else the spec's `smoke.body_file`;
else what the runtime answers without a sample (a chat prompt for vLLM/TGI).
Raises `SmokeInputError` (exit 2) for a model the stack does not serve or a bad sample file,
`SmokeEnvironmentError` (exit 3) for missing credentials, kubeconfig or packages.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelfleet.environment import AzureMLStack, KubernetesStack, SageMakerStack, find_stack, load_stack_file
from modelfleet.placed import Placement
from modelfleet.program import plan_stack
from modelfleet.smoke.probe import probe
from modelfleet.smoke.result import Check, ModelResult
from modelfleet.smoke.target import SmokeEnvironmentError, SmokeInputError, SmokeTarget, fact, load_sample, smoke_target
from modelfleet.spec import load_specs, spec_paths

TOKEN_ENV = "MODELFLEET_SMOKE_TOKEN"
SUBSCRIPTION_ENV = "AZURE_SUBSCRIPTION_ID"
# TGI's generate API body (huggingface/text-generation-inference docs: POST /generate {inputs, parameters}, 3.x)
TGI_GENERATE = {"inputs": "Reply with one word: ready", "parameters": {"max_new_tokens": 8}}


@dataclass
class SmokeRun:
    stack: str
    platform: str
    results: list[ModelResult]


def _selected(placements: list[Placement], models: list[str], stack: str) -> list[Placement]:
    if not models:
        return placements
    known = {p.model: p for p in placements}
    unknown = [m for m in models if m not in known]
    if unknown:
        raise SmokeInputError(f"stack {stack!r} serves no model {', '.join(map(repr, unknown))}. "
                              f"Allowed: {', '.join(known) or 'none'}. To fix: pass a model of the stack, or none for all")
    return [known[m] for m in models]


def smoke_stack(project_dir: Path, stack_name: str, models: list[str], timeout_s: float, *,
                context: str | None = None, payload: Any = None) -> SmokeRun:
    stack = load_stack_file(find_stack(project_dir / "stacks", stack_name))
    spec_files = load_specs(spec_paths(project_dir / "model_specs"))
    paths = {s.name: s.path for s in spec_files}
    placements = _selected(list(plan_stack(stack, spec_files).placements), models, stack_name)
    # every sample is read before anything is called: a bad file is exit 2 with nothing half-done
    samples = {p.model: load_sample(paths[p.model], p.spec) for p in placements}
    if isinstance(stack, KubernetesStack):
        results = _kubernetes(stack, placements, paths, timeout_s, context)
    elif isinstance(stack, AzureMLStack):
        results = _azureml(stack, placements, samples, timeout_s, payload)
    elif isinstance(stack, SageMakerStack):
        results = _sagemaker(stack, placements, samples, timeout_s, payload)
    else:  # pragma: no cover - the stack union is closed
        raise SmokeInputError(f"stack {stack_name!r}: unknown platform")
    return SmokeRun(stack_name, stack.platform, results)


def _headers() -> dict[str, str]:
    token = os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _kubernetes(stack: KubernetesStack, placements: list[Placement], paths: dict[str, Path], timeout_s: float,
                context: str | None) -> list[ModelResult]:
    from components.kubernetes.model_server import pod_selector
    from modelfleet.smoke import kubernetes as k8s

    engine = stack.serving
    core, custom = k8s.connect(k8s.context_for(stack, context))
    results = []
    for p in placements:
        target = smoke_target(paths[p.model], p.spec, p.name, engine)
        started = time.monotonic()
        deadline = started + timeout_s
        if p.spec.network.public:
            results.append(_public(core, custom, p, target, engine, deadline))
            continue
        pod = k8s.wait_for_pod(core, p.namespace, pod_selector(p, engine), deadline)
        if pod is None:
            results.append(ModelResult(p.model, via=f"namespace {p.namespace}").fail(
                f"no Ready pod of {p.model} in namespace {p.namespace} after {timeout_s:.0f}s. "
                f"To fix: kubectl -n {p.namespace} describe pods; kubectl -n {p.namespace} logs -l {_selector_text(pod_selector(p, engine))}"))
            continue
        waited = time.monotonic() - started
        with k8s.port_forward(core, p.namespace, pod, target.port) as base:
            result = probe(base, target, max(1.0, deadline - time.monotonic()), _headers(),
                           via=f"port-forward pod/{pod}:{target.port} (namespace {p.namespace})")
        if result.ready_s is not None:
            result.ready_s += waited
        results.append(result)
    return results


def _selector_text(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def _public(core: Any, custom: Any, p: Placement, target: SmokeTarget, engine: str, deadline: float) -> ModelResult:
    from modelfleet.smoke import kubernetes as k8s

    if target.auth == "token" and not os.environ.get(TOKEN_ENV):
        return ModelResult(p.model).fail(f"{p.model} is public with network.auth: token, and no token is set. "
                                         f"To fix: export {TOKEN_ENV}=<a token the endpoint accepts>", "unreachable")
    started = time.monotonic()
    url = None
    while url is None and time.monotonic() < deadline:
        url = k8s.public_url(core, custom, p.namespace, p.name, engine)
        if url is None:
            time.sleep(k8s.POLL_S)
    if url is None:
        return ModelResult(p.model, via="public URL").fail(f"{p.model} has no public address yet (LoadBalancer/InferenceService URL)",
                                                           "unreachable")
    waited = time.monotonic() - started
    result = probe(url, target, max(1.0, deadline - time.monotonic()), _headers(), via=url)
    if result.ready_s is not None:
        result.ready_s += waited
    return result


def _scoring_body(p: Placement, sample: tuple[Any, bool], payload: Any) -> Any:
    if payload is not None:
        return payload
    if sample[1]:
        return sample[0]
    if p.spec.serving.runtime == "vllm":  # Azure ML routes the scoring URI to /v1/chat/completions
        return dict(fact("openai", "chat_body"))
    if p.spec.serving.runtime == "tgi":  # ... and to TGI's /generate
        return dict(TGI_GENERATE)
    return None


def _azureml(stack: AzureMLStack, placements: list[Placement], samples: dict[str, tuple[Any, bool]], timeout_s: float,
             payload: Any) -> list[ModelResult]:
    import requests

    from modelfleet.smoke import azureml

    subscription = os.environ.get(SUBSCRIPTION_ENV)
    if not subscription:
        raise SmokeEnvironmentError(f"{SUBSCRIPTION_ENV} is not set: the Azure ML workspace's subscription is needed to find the "
                                    f"endpoint. To fix: export {SUBSCRIPTION_ENV}=$(az account show --query id -o tsv)")
    cred = azureml.credential()
    arm_token = azureml.token(cred, azureml.ARM_SCOPE)
    workspace, group = stack.workspace.name or "", stack.workspace.resource_group or ""
    results = []
    for p in placements:
        endpoint = p.names["endpoint"]
        result = ModelResult(p.model, via=f"Azure ML endpoint {endpoint}")
        try:
            properties, ready_s = azureml.wait_ready(arm_token, subscription, group, workspace, endpoint, timeout_s)
        except azureml.EndpointFailed as e:
            results.append(result.fail(f"{e}. To fix: az ml online-deployment get-logs --endpoint-name {endpoint} --name <deployment>"))
            continue
        except requests.RequestException as e:
            results.append(result.fail(f"cannot read endpoint {endpoint}: {e}", "unreachable"))
            continue
        result.checks.append(Check("provisioned", ready_s is not None, None, None, f"provisioningState {properties.get('provisioningState')}"))
        if ready_s is None:
            results.append(result.fail(f"endpoint {endpoint} is {properties.get('provisioningState')} after {timeout_s:.0f}s"))
            continue
        result.ready_s = ready_s
        uri = properties.get("scoringUri")
        body = _scoring_body(p, samples[p.model], payload)
        if body is None or not uri:
            result.message = "provisioned; no sample request sent (set smoke.body_file to send one)" if uri else "provisioned; no scoring URI"
            results.append(result if uri else result.fail(f"endpoint {endpoint} has no scoring URI"))
            continue
        check = azureml.score(str(uri), body, azureml.token(cred, azureml.SCORING_SCOPE))
        result.checks.append(check)
        result.latency_ms, result.http_status = check.latency_ms, check.status
        results.append(result if check.ok else result.fail(check.detail, "failed" if check.status else "unreachable"))
    return results


def _sagemaker(stack: SageMakerStack, placements: list[Placement], samples: dict[str, tuple[Any, bool]], timeout_s: float,
               payload: Any) -> list[ModelResult]:
    import json

    import boto3
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError, PartialCredentialsError

    from modelfleet.smoke.sagemaker import SmokeError, default_payload, invoke, wait_in_service

    session = boto3.session.Session(region_name=stack.region)
    results = []
    for p in placements:
        endpoint = p.names["endpoint"]
        result = ModelResult(p.model, via=f"SageMaker endpoint {endpoint}")
        if payload is not None:
            body = json.dumps(payload).encode()
        elif samples[p.model][1]:
            body = json.dumps(samples[p.model][0]).encode()
        else:
            body = default_payload(p.spec.serving.runtime)[0]
        started = time.monotonic()
        try:
            status = wait_in_service(session.client("sagemaker"), endpoint, int(timeout_s))
            result.ready_s = time.monotonic() - started
            result.checks.append(Check("in service", True, None, None, f"endpoint {endpoint}: {status}"))
            if p.names.get("capacity") == "async":
                # InvokeEndpoint is refused by asynchronous endpoints; InvokeEndpointAsync needs the request in S3
                result.message = (f"asynchronous endpoint: in service; not invoked (send a request with InvokeEndpointAsync "
                                  f"from the stack bucket's async/{endpoint}/input/ prefix)")
                results.append(result)
                continue
            answer = invoke(session.client("sagemaker-runtime"), endpoint, body, component=p.names.get("inference_component"))
        except (NoCredentialsError, PartialCredentialsError, NoRegionError) as e:
            raise SmokeEnvironmentError(f"no AWS credentials for SageMaker: {e}. To fix: configure credentials (AWS_PROFILE, "
                                        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an OIDC/SSO role) for the stack's account") from e
        except EndpointConnectionError as e:
            results.append(result.fail(f"cannot reach SageMaker: {e}", "unreachable"))
            continue
        except SmokeError as e:
            results.append(result.fail(str(e)))
            continue
        check = Check("invoke", answer.ok, answer.status, answer.latency_ms, f"InvokeEndpoint → HTTP {answer.status}: {answer.body[:200]}")
        result.checks.append(check)
        result.latency_ms, result.http_status = answer.latency_ms, answer.status
        results.append(result if answer.ok else result.fail(check.detail))
    return results

