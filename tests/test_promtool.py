"""Every rule and query the Kubernetes stacks emit, run by Prometheus' own `promtool`.

- `promtool check rules` on the PrometheusRule of every model on every bundled Kubernetes stack.
- `promtool test rules` per runtime and engine: input series carry the runtime's REAL series
  names (from its runtime profile) and labels that satisfy the profile's matchers; the error-rate,
  p99-latency and GPU alerts must fire above their thresholds and stay quiet below them.
- The KEDA and KServe autoscaler queries are evaluated over the same kind of series
  (`promql_expr_test`) and must return the expected value.

promtool comes from the Debian package `prometheus` (installed by `.ci/run`); without it these
tests are skipped with that message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from scratch_stacks import ONPREM_STACK

from components.kubernetes import kserve_autoscaling, monitoring
from modelfleet import promql
from modelfleet.environment import parse_stack
from modelfleet.placement import place_stack
from modelfleet.preview import preview_stack
from modelfleet.profiles import Series
from modelfleet.runtimes import profile_for
from modelfleet.spec import parse_spec

PROMTOOL = shutil.which("promtool")
if PROMTOOL is None and os.environ.get("CI"):
    raise RuntimeError("promtool is missing in CI: .ci/run installs the Debian package prometheus")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus; .ci/run installs it)")
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
KUBERNETES_STACKS = ("lab-dev", "lab-kserve", "eks-dev", "eks-prod", "aks-prod")
RUNTIMES = ("vllm", "tgi", "triton", "torchserve", "tfserving", "custom")
NS = "probe"
THRESHOLDS = {"error_rate_percent": 5.0, "latency_p99_ms": 2000.0, "gpu_utilization_percent": 90.0}


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _placement(runtime: str, engine: str, metric: str = "rps"):
    image = "registry.lab.local/ml/probe:1" if runtime == "custom" else None
    metrics = "monitoring: {metrics: {requests: http_requests_total}}" if runtime == "custom" else ""
    spec = parse_spec(f"""name: {NS}
version: "1"
owner: t
model: {{uri: "s3://bucket/probe/", framework: onnx}}
serving: {{runtime: {runtime}{f", image: {image}" if image else ""}}}
resources: {{accelerator: T4:1, cpu: 2, memory_gib: 8}}
autoscaling: {{min_replicas: 1, max_replicas: 4, metric: {metric}, target: 10}}
{metrics}
""", "probe.yaml")
    stack = parse_stack(ONPREM_STACK.format(engine=engine), "Pulumi.probe.yaml")
    sp = place_stack(stack, [spec])
    [p] = sp.placements
    return p, profile_for(p.spec, engine)


def _label_for(matcher: str, failing: bool) -> tuple[str, str]:
    """A label value that satisfies (failing) or violates (not failing) one matcher."""
    m = re.match(r'(\w+)(=~|!~|!=|=)"(.*)"$', matcher)
    assert m, matcher
    label, op, value = m.groups()
    pattern = value.split("|")[0].replace("..", "00").replace(".", "0")
    if op == "=":
        return label, value if failing else {"5xx": "2xx"}.get(value, f"not-{value}")
    if op == "=~":
        return label, pattern if failing else "200"
    if op == "!=":
        return label, "INTERNAL" if failing else value
    raise AssertionError(f"no sample for {matcher}")


def _labels(series: Series, failing: bool, pod: str) -> str:
    pairs = [("namespace", NS), ("pod", pod)]
    pairs += [_label_for(m, failing) for m in series.matchers]
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}"


def _traffic(profile, per_pod_rps: float, error_share: float, pods: int = 2) -> list[dict[str, str]]:
    """Counters for `pods` pods, each at `per_pod_rps` requests/s of which `error_share` fail."""
    requests, errors = profile.get("requests"), profile.get("errors")
    out = []
    for i in range(pods):
        pod = f"{NS}-{i}"
        ok, bad = per_pod_rps * (1 - error_share) * 60, per_pod_rps * error_share * 60
        if requests is not None and errors is not None and requests.name == errors.name:
            # one counter split by a label: the successful samples carry the label value that is not a failure
            out.append({"series": f"{requests.name}{_labels(errors, False, pod)}", "values": f"0+{ok:g}x40"})
            out.append({"series": f"{errors.name}{_labels(errors, True, pod)}", "values": f"0+{bad:g}x40"})
            continue
        if requests is not None:
            total = ok if not profile.requests_include_errors else ok + bad
            out.append({"series": f"{requests.name}{_labels(requests, False, pod)}", "values": f"0+{total:g}x40"})
        if errors is not None:
            out.append({"series": f"{errors.name}{_labels(errors, True, pod)}", "values": f"0+{bad:g}x40"})
    return out


def _latency(profile, p99_ms: float) -> list[dict[str, str]]:
    """Latency observations whose p99 is clearly above or below `p99_ms`."""
    latency = profile.get("latency")
    assert latency is not None
    per_ms = {"seconds": 0.001, "milliseconds": 1.0, "microseconds": 1000.0}[latency.unit or "seconds"]
    pod = f"{NS}-0"
    if latency.kind == "summary":
        labels = _labels(latency, False, pod)[:-1] + ',quantile="0.990000"}'
        return [{"series": f"{latency.name}{labels}", "values": f"{p99_ms * per_ms:g}x40"}]
    # buckets at 0.5× and 2× the threshold: all observations between 0 and one of them
    low, high = THRESHOLDS["latency_p99_ms"] / 2 * per_ms, THRESHOLDS["latency_p99_ms"] * 2 * per_ms
    slow = p99_ms > THRESHOLDS["latency_p99_ms"]
    base = _labels(latency, False, pod)[:-1]
    return [
        {"series": f'{latency.name}_bucket{base},le="{low:g}"}}', "values": "0+0x40" if slow else "0+600x40"},
        {"series": f'{latency.name}_bucket{base},le="{high:g}"}}', "values": "0+600x40"},
        {"series": f'{latency.name}_bucket{base},le="+Inf"}}', "values": "0+600x40"},
    ]


def _gpu(label: str, utilization: float) -> list[dict[str, str]]:
    return [{"series": f'{promql.GPU_SERIES}{{{label}="{NS}",gpu="{i}"}}', "values": f"{utilization:g}x40"} for i in range(2)]


def _alert_case(rule: dict[str, Any], series: list[dict[str, str]], fires: bool) -> dict[str, Any]:
    expected = [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}] if fires else []
    return {"interval": "1m", "input_series": series,
            "alert_rule_test": [{"eval_time": "30m", "alertname": rule["alert"], "exp_alerts": expected}]}


def _run_rule_tests(tmp_path: Path, rules: list[dict[str, Any]], tests: list[dict[str, Any]]) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "modelfleet.probe", "rules": rules}]}))
    check = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}))
    result = _promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_rendered_rule_file_passes_promtool_check(root: Path, tmp_path: Path, stack: str) -> None:
    plan = preview_stack(root, stack)
    rules = plan.of_type(RULE)
    assert rules, f"{stack}: no PrometheusRule rendered"
    for rule in rules:
        path = tmp_path / f"{rule.name}.yaml"
        path.write_text(yaml.safe_dump(rule.inputs["spec"]))
        result = _promtool("check", "rules", path.name, cwd=tmp_path)
        assert result.returncode == 0, f"{stack}: {rule.urn}: {result.stdout}{result.stderr}"


@pytest.mark.parametrize("engine", ["deployment", "kserve"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_alerts_fire_above_their_thresholds_and_stay_quiet_below(tmp_path: Path, runtime: str, engine: str) -> None:
    p, profile = _placement(runtime, engine)
    p = p.__class__(**{**p.__dict__, "spec": p.spec.model_copy(update={"monitoring": p.spec.monitoring.model_copy(
        update={"alerts": p.spec.monitoring.alerts.model_copy(update=THRESHOLDS)})})})
    gpu_label = "namespace"
    rules = {r["alert"]: r for r in monitoring.alert_rules(p, "oncall", profile, gpu_label)}
    tests = []
    if "ModelErrorRateHigh" in rules:
        tests += [_alert_case(rules["ModelErrorRateHigh"], _traffic(profile, 10, 0.20), fires=True),
                  _alert_case(rules["ModelErrorRateHigh"], _traffic(profile, 10, 0.01), fires=False)]
    else:
        assert profile.get("errors") is None or profile.get("requests") is None, f"{runtime}/{engine}: error series but no alert"
    if "ModelLatencyP99High" in rules:
        tests += [_alert_case(rules["ModelLatencyP99High"], _latency(profile, 4000), fires=True),
                  _alert_case(rules["ModelLatencyP99High"], _latency(profile, 500), fires=False)]
    else:
        assert profile.get("latency") is None, f"{runtime}/{engine}: latency series but no alert"
    tests += [_alert_case(rules["ModelGpuSaturated"], _gpu(gpu_label, 99), fires=True),
              _alert_case(rules["ModelGpuSaturated"], _gpu(gpu_label, 50), fires=False)]
    _run_rule_tests(tmp_path, list(rules.values()), tests)


def test_gpu_alert_reads_the_exporters_namespace_label(tmp_path: Path) -> None:
    """An existing exporter scraped with honorLabels false carries the pod namespace as exported_namespace."""
    p, profile = _placement("vllm", "deployment")
    rules = {r["alert"]: r for r in monitoring.alert_rules(p, "oncall", profile, "exported_namespace")}
    gpu = rules["ModelGpuSaturated"]
    fired = _alert_case(gpu, _gpu("exported_namespace", 99), fires=True)
    # the same utilization under the exporter's own namespace label does not page for this model
    quiet = _alert_case(gpu, [{"series": f'{promql.GPU_SERIES}{{namespace="gpu-monitoring",exported_namespace="other"}}',
                               "values": "99x40"}], fires=False)
    _run_rule_tests(tmp_path, [gpu], [fired, quiet])


def _expr_case(expr: str, series: list[dict[str, str]], value: float) -> dict[str, Any]:
    return {"interval": "1m", "input_series": series,
            "promql_expr_test": [{"expr": expr, "eval_time": "30m", "exp_samples": [{"labels": "{}", "value": value}]}]}


def _gauges(profile, key: str, per_pod: list[float]) -> list[dict[str, str]]:
    series = profile.get(key)
    assert series is not None
    return [{"series": f"{series.name}{_labels(series, False, f'{NS}-{i}')}", "values": f"{v:g}x40"} for i, v in enumerate(per_pod)]


AUTOSCALER_CASES = [  # (runtime, engine, metric)
    *[(r, "deployment", "rps") for r in ("vllm", "tgi", "triton", "torchserve", "tfserving", "custom")],
    *[(r, "deployment", "concurrency") for r in ("vllm", "tgi", "custom")],
    *[(r, "deployment", "queue_depth") for r in ("vllm", "tgi", "triton")],
    *[(r, e, "gpu_utilization") for r in ("vllm", "triton") for e in ("deployment", "kserve")],
    *[(r, "kserve", "queue_depth") for r in ("vllm", "triton")],
]


@pytest.mark.parametrize(("runtime", "engine", "metric"), AUTOSCALER_CASES)
def test_autoscaler_queries_return_the_expected_value(tmp_path: Path, runtime: str, engine: str, metric: str) -> None:
    p, profile = _placement(runtime, engine, metric)
    gpu_label = "namespace"
    if engine == "kserve":
        query = kserve_autoscaling.keda_query(p, profile, gpu_label)
    else:
        query = promql.autoscaler_query(profile, metric, p.namespace, gpu_label)
    assert query is not None, f"{runtime}/{engine}/{metric}"
    if metric == "rps":
        series, expected = _traffic(profile, 10, 0.10), 20.0  # two pods at 10 requests/s, failures included
    elif metric == "concurrency":
        series, expected = _gauges(profile, "in_flight", [3, 5]), 8.0
    elif metric == "queue_depth":
        series, expected = _gauges(profile, "queue_depth", [2, 7]), 9.0
    else:
        series = _gpu(gpu_label, 80)
        # KEDA divides by the replica count (AverageValue): KServe's query is the total, the Deployment's the average
        expected = 160.0 if engine == "kserve" else 80.0
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": []}))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
                                                         "tests": [_expr_case(query, series, expected)]}))
    result = _promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert result.returncode == 0, f"{query}\n{result.stdout}{result.stderr}"
