"""Runtime profiles on Kubernetes: per runtime and engine, the container port, the probes, the
scrape endpoint, the NetworkPolicy and the autoscaler agree with the runtime's upstream facts;
bad metric/flag input is refused with a located message.

The expected values below are the upstream facts themselves (see the sources in
modelfleet/data/runtime_profiles.yaml): a change to the data that breaks one fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scratch_stacks import ONPREM_STACK, runtime_spec

from modelfleet.plan import PlannedResource, ResourcePlan, as_int
from modelfleet.preview import preview_stack
from modelfleet.profiles import METRIC_NAME_RE, Series

# runtime → (serving port, liveness path, readiness path, metrics port, metrics path) on a Deployment
DEPLOYMENT_FACTS = {
    "vllm": (8000, "/health", "/health", 8000, "/metrics"),
    "tgi": (80, "/health", "/health", 80, "/metrics"),
    "triton": (8000, "/v2/health/live", "/v2/health/ready", 8002, "/metrics"),
    "torchserve": (8080, "/ping", "/ping", 8082, "/metrics"),
    "tfserving": (8501, "/v1/models/m-tfserving", "/v1/models/m-tfserving", 8501, "/monitoring/prometheus/metrics"),
    "custom": (8080, "/health", "/health", 8080, "/metrics"),
}
# runtime → (KServe ServingRuntime, port, readiness path, metrics port) on serving: kserve
KSERVE_FACTS = {
    "vllm": ("kserve-huggingfaceserver", 8080, "/v1/models/m-vllm", 8080),
    "tgi": ("kserve-huggingfaceserver", 8080, "/v1/models/m-tgi", 8080),
    "triton": ("kserve-tritonserver", 8080, "/v2/health/ready", 8002),
    "torchserve": ("kserve-torchserve", 8080, "/v1/models/m-torchserve", 8082),
    "tfserving": ("kserve-tensorflow-serving", 8080, "/v1/models/m-tfserving", 8080),
}


_spec = runtime_spec


def _project(tmp_path: Path, root: Path, specs: dict[str, str]) -> Path:
    (tmp_path / "model_specs").mkdir()
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    for name, text in specs.items():
        (tmp_path / "model_specs" / f"{name}.yaml").write_text(text)
    for engine in ("deployment", "kserve"):
        (tmp_path / "stacks" / f"Pulumi.lab-{engine}.yaml").write_text(ONPREM_STACK.format(engine=engine))
    return tmp_path


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory, root: Path) -> dict[str, ResourcePlan]:
    project = _project(tmp_path_factory.mktemp("runtimes"), root, {f"m-{r}": _spec(r) for r in DEPLOYMENT_FACTS})
    return {engine: preview_stack(project, f"lab-{engine}") for engine in ("deployment", "kserve")}


def _one(plan: ResourcePlan, model: str, suffix: str) -> PlannedResource:
    found = [r for r in plan.resources if r.model == model and r.name.endswith(suffix)]
    assert len(found) == 1, f"{plan.stack}: one {suffix} for {model}, got {[r.urn for r in found]}"
    return found[0]


def _ingress_ports(netpol: PlannedResource) -> dict[int, Any]:
    """port → the `from` of the rule admitting it (None = from anywhere)."""
    out = {}
    for rule in netpol.inputs["spec"]["ingress"]:
        for port in rule["ports"]:
            out[as_int(port["port"])] = rule.get("from")
    return out


@pytest.mark.parametrize("runtime", sorted(DEPLOYMENT_FACTS))
def test_deployment_ports_probes_and_scrape_endpoint_are_the_runtimes(plans: dict[str, ResourcePlan], runtime: str) -> None:
    port, live, ready, metrics_port, metrics_path = DEPLOYMENT_FACTS[runtime]
    model = f"m-{runtime}"
    plan = plans["deployment"]
    dep = _one(plan, model, "-deployment")
    server = dep.inputs["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: as_int(p["containerPort"]) for p in server["ports"]}
    assert ports["http"] == port, dep.urn
    assert server["readinessProbe"]["httpGet"] == {"path": ready, "port": port}, dep.urn
    assert server["livenessProbe"]["httpGet"]["path"] == live and as_int(server["livenessProbe"]["httpGet"]["port"]) == port
    monitor = _one(plan, model, "-podmonitor")
    [endpoint] = monitor.inputs["spec"]["podMetricsEndpoints"]
    assert ports[endpoint["port"]] == metrics_port, f"{monitor.urn}: scrapes the runtime's metrics port"
    assert endpoint["path"] == metrics_path
    assert monitor.inputs["metadata"]["labels"]["release"] == "kps", "the stack's monitor_labels reach the PodMonitor"
    admitted = _ingress_ports(_one(plan, model, "-netpol"))
    assert admitted[port] is None, "serving port open inside the cluster"
    if metrics_port != port:
        assert admitted[metrics_port] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    flags = [a.split("=", 1)[0] for a in server.get("args", []) if a.startswith("--")]
    assert len(flags) == len(set(flags)), f"{dep.urn}: a flag is passed twice: {server['args']}"


def test_torchserve_and_tfserving_get_the_config_their_metrics_need(plans: dict[str, ResourcePlan]) -> None:
    plan = plans["deployment"]
    ts = _one(plan, "m-torchserve", "-runtime-config").inputs["data"]["config.properties"]
    assert "inference_address=http://0.0.0.0:8080" in ts and "metrics_address=http://0.0.0.0:8082" in ts
    assert "metrics_mode=prometheus" in ts, "TorchServe's default metrics_mode is log: no Prometheus series"
    assert "management_address=http://127.0.0.1:8081" in ts, "model management stays inside the pod"
    server = _one(plan, "m-torchserve", "-deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    assert "--ts-config" in server["args"] and "--disable-token-auth" in server["args"]
    assert {"name": "runtime-config", "mountPath": "/etc/modelfleet", "readOnly": True} in server["volumeMounts"]
    tf = _one(plan, "m-tfserving", "-runtime-config").inputs["data"]["monitoring.config"]
    assert "enable: true" in tf and '"/monitoring/prometheus/metrics"' in tf
    server = _one(plan, "m-tfserving", "-deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    assert server["command"] == ["/usr/bin/tensorflow_model_server"], "the image entrypoint would pass its own ports"
    assert "--monitoring_config_file=/etc/modelfleet/monitoring.config" in server["args"]


@pytest.mark.parametrize("runtime", sorted(KSERVE_FACTS))
def test_kserve_runtimes_are_probed_and_scraped_on_their_own_ports(plans: dict[str, ResourcePlan], runtime: str) -> None:
    serving_runtime, port, ready, metrics_port = KSERVE_FACTS[runtime]
    model = f"m-{runtime}"
    plan = plans["kserve"]
    isvc = _one(plan, model, "-inferenceservice")
    predictor = isvc.inputs["spec"]["predictor"]
    assert predictor["model"]["runtime"] == serving_runtime
    assert predictor["model"]["readinessProbe"]["httpGet"] == {"path": ready, "port": port}, isvc.urn
    assert not [a for a in predictor["model"]["args"] if a.startswith(("--model-repository", "--model-store", "--http-port", "--port"))]
    [endpoint] = _one(plan, model, "-podmonitor").inputs["spec"]["podMetricsEndpoints"]
    relabel = {r["targetLabel"]: r for r in endpoint["relabelings"] if "targetLabel" in r}
    assert relabel["__address__"]["replacement"] == f"$1:{metrics_port}"
    admitted = _ingress_ports(_one(plan, model, "-netpol"))
    assert port in admitted and metrics_port in admitted


def test_kserve_tensorflow_gets_a_monitoring_config(plans: dict[str, ResourcePlan]) -> None:
    predictor = _one(plans["kserve"], "m-tfserving", "-inferenceservice").inputs["spec"]["predictor"]
    assert "--monitoring_config_file=/etc/modelfleet/monitoring.config" in predictor["model"]["args"]
    assert predictor["volumes"] == [{"name": "runtime-config", "configMap": {"name": "m-tfserving-runtime-config"}}]


@pytest.mark.parametrize(("runtime", "metric", "query_part"), [
    ("vllm", "queue_depth", "vllm:num_requests_waiting"),
    ("triton", "gpu_utilization", "DCGM_FI_DEV_GPU_UTIL"),
])
def test_kserve_scales_on_gpu_and_queue_through_keda(tmp_path: Path, root: Path, runtime: str, metric: str, query_part: str) -> None:
    project = _project(tmp_path, root, {f"m-{runtime}": _spec(runtime, metric)})
    isvc = _one(preview_stack(project, "lab-kserve"), f"m-{runtime}", "-inferenceservice")
    annotations = isvc.inputs["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert annotations["serving.kserve.io/autoscalerClass"] == "keda"
    predictor = isvc.inputs["spec"]["predictor"]
    assert "scaleMetric" not in predictor, "KServe rejects scaleMetric with KEDA"
    [external] = [m["external"] for m in predictor["autoScaling"]["metrics"]]
    assert external["metric"]["backend"] == "prometheus" and query_part in external["metric"]["query"]
    assert external["target"] == {"type": "Value", "value": "10"}


def test_dcgm_label_follows_how_the_exporter_is_scraped(tmp_path: Path, root: Path) -> None:
    project = _project(tmp_path, root, {"m-vllm": _spec("vllm", "gpu_utilization")})
    stack = project / "stacks" / "Pulumi.lab-deployment.yaml"
    installed = preview_stack(project, "lab-deployment")
    query = _one(installed, "m-vllm", "-scaledobject").inputs["spec"]["triggers"][0]["metadata"]["query"]
    assert query == 'avg(DCGM_FI_DEV_GPU_UTIL{namespace="m-vllm"})'
    dcgm = [r for r in installed.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "dcgm-exporter"][0]
    assert dcgm.inputs["values"]["serviceMonitor"]["honorLabels"] is True
    assert dcgm.inputs["values"]["serviceMonitor"]["additionalLabels"] == {"release": "kps"}
    stack.write_text(stack.read_text().replace("{monitor_labels: {release: kps}}", "{dcgm_exporter: present, monitor_labels: {release: kps}}"))
    present = preview_stack(project, "lab-deployment")
    rules = _one(present, "m-vllm", "-alerts").inputs["spec"]["groups"][0]["rules"]
    gpu = [r for r in rules if r["alert"] == "ModelGpuSaturated"][0]
    assert 'exported_namespace="m-vllm"' in gpu["expr"], "an existing exporter with the chart's honorLabels: false"


def _validate(cli, project: Path) -> Any:
    from modelfleet.cli import app

    return cli.invoke(app, ["validate", "--project-dir", str(project)])


@pytest.mark.parametrize(("runtime", "extra", "field", "expect"), [
    ("triton", 'serving: {runtime: triton, args: ["--model-repository=/models"]}', "serving.args", "--model-repository"),
    ("vllm", 'serving: {runtime: vllm, args: ["--max-model-len", "8192", "--port", "9000"]}', "serving.args", "--port"),
    ("custom", "monitoring: {metrics: {requests: 'http requests'}}", "monitoring.metrics.requests", "not a valid Prometheus metric name"),
    ("custom", "monitoring: {metrics: {errors: 'http_requests_total{status=5xx}'}}", "monitoring.metrics.errors", "label matchers"),
])
def test_bad_runtime_input_is_a_located_exit_2(tmp_path: Path, root: Path, cli, runtime: str, extra: str, field: str, expect: str) -> None:
    text = _spec(runtime)
    if extra.startswith("serving:"):
        text = "\n".join(extra if line.startswith("serving:") else line for line in text.splitlines()) + "\n"
    else:
        text = "\n".join(line for line in text.splitlines() if not line.startswith("monitoring:")) + "\n" + extra + "\n"
        text = text.replace("serving: {runtime: custom}", "serving: {runtime: custom, image: r.local/x:1}")
    project = _project(tmp_path, root, {f"m-{runtime}": text})
    result = _validate(cli, project)
    assert result.exit_code == 2, result.output
    assert f"m-{runtime}.yaml:" in result.output and field in result.output and expect in result.output, result.output
    assert "To fix" in result.output


def test_custom_server_scaling_on_queue_depth_must_name_its_series(tmp_path: Path, root: Path, cli) -> None:
    text = _spec("custom", "queue_depth")
    project = _project(tmp_path, root, {"m-custom": text})
    result = _validate(cli, project)
    assert result.exit_code == 2, result.output
    assert "m-custom.yaml:" in result.output and "autoscaling.metric" in result.output
    assert "monitoring.metrics.queue_depth" in result.output
    fixed = text.replace("monitoring: {metrics: {requests: http_requests_total}}",
                         "monitoring: {metrics: {requests: http_requests_total, queue_depth: 'jobs_waiting{queue=\"default\"}'}}")
    (project / "model_specs" / "m-custom.yaml").write_text(fixed)
    assert _validate(cli, project).exit_code == 0
    query = _one(preview_stack(project, "lab-deployment"), "m-custom", "-scaledobject").inputs["spec"]["triggers"][0]["metadata"]["query"]
    assert query == 'sum(jobs_waiting{namespace="m-custom",queue="default"})'


def test_a_metric_the_runtime_does_not_export_is_an_error_naming_what_works(tmp_path: Path, root: Path, cli) -> None:
    project = _project(tmp_path, root, {"m-torchserve": _spec("torchserve", "concurrency")})
    result = _validate(cli, project)
    assert result.exit_code == 2, result.output
    assert "torchserve exports no series for concurrency" in result.output and "scale on rps" in result.output


def test_unknown_dcgm_label_mode_is_a_located_stack_error(tmp_path: Path, root: Path, cli) -> None:
    project = _project(tmp_path, root, {"m-vllm": _spec("vllm")})
    stack = project / "stacks" / "Pulumi.lab-deployment.yaml"
    stack.write_text(stack.read_text().replace("{monitor_labels: {release: kps}}",
                                               "{dcgm_exporter: present, dcgm_namespace_label: pod_namespace}"))
    result = _validate(cli, project)
    assert result.exit_code == 2, result.output
    assert "Pulumi.lab-deployment.yaml:" in result.output and "dcgm_namespace_label" in result.output
    assert "exported_namespace" in result.output, "the allowed values are listed"


def test_validate_warns_when_an_alert_has_no_series(tmp_path: Path, root: Path, cli) -> None:
    project = _project(tmp_path, root, {"m-torchserve": _spec("torchserve")})
    result = _validate(cli, project)
    assert result.exit_code == 0, result.output
    assert "latency_p99 alert is left out" in result.output


@given(st.text(max_size=60))
def test_series_parsing_never_raises_anything_but_a_located_value_error(text: str) -> None:
    try:
        series = Series.parse(text)
    except ValueError:
        return
    assert METRIC_NAME_RE.match(series.name)
    assert Series.parse(series.text()) == series, "the text form round-trips"


@given(st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,30}", fullmatch=True),
       st.lists(st.tuples(st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True), st.sampled_from(["=", "!=", "=~", "!~"]),
                          st.from_regex(r"[a-z0-9.|]{0,8}", fullmatch=True)), max_size=3))
def test_valid_series_always_parse_with_their_matchers(name: str, matchers: list[tuple[str, str, str]]) -> None:
    text = name + ("{" + ",".join(f'{k}{op}"{v}"' for k, op, v in matchers) + "}" if matchers else "")
    series = Series.parse(text)
    assert series.name == name and len(series.matchers) == len(matchers)


def test_scale_to_zero_on_the_models_own_metrics_says_nothing_wakes_it(tmp_path: Path, root: Path, cli) -> None:
    text = _spec("vllm", "concurrency").replace("min_replicas: 1", "min_replicas: 0")
    result = _validate(cli, _project(tmp_path, root, {"m-vllm": text}))
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "cannot wake the model on deployment" in flat and "vllm:num_requests_running" in flat and "serving: kserve" in flat


def test_a_queue_exported_elsewhere_is_read_where_it_lives(tmp_path: Path, root: Path, cli) -> None:
    text = _spec("custom", "queue_depth").replace("min_replicas: 1", "min_replicas: 0").replace(
        "monitoring: {metrics: {requests: http_requests_total}}",
        "monitoring: {metrics: {queue_depth: 'jobs_waiting{namespace=\"queues\",queue=\"sdxl\"}'}}")
    project = _project(tmp_path, root, {"m-custom": text})
    result = _validate(cli, project)
    assert result.exit_code == 0 and "cannot wake" not in result.output, result.output
    query = _one(preview_stack(project, "lab-deployment"), "m-custom", "-scaledobject").inputs["spec"]["triggers"][0]["metadata"]["query"]
    assert query == 'sum(jobs_waiting{namespace="queues",queue="sdxl"})', "the spec's own namespace wins over the model's"
