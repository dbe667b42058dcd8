"""Monitoring on Kubernetes: spec thresholds reach the PrometheusRule, defaults apply, opt-out works."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelfleet.plan import ResourcePlan
from modelfleet.preview import preview_stack
from modelfleet.spec import Alerts

RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"


def _rules(plan: ResourcePlan, model: str) -> dict[str, dict]:
    found = [r for r in plan.of_type(RULE) if r.model == model]
    assert len(found) == 1, f"{plan.stack}: one PrometheusRule for {model}"
    return {rule["alert"]: rule for rule in found[0].inputs["spec"]["groups"][0]["rules"]}


@pytest.fixture(scope="module")
def lab_dev(root: Path) -> ResourcePlan:
    return preview_stack(root, "lab-dev")


def test_spec_thresholds_reach_the_rules(lab_dev: ResourcePlan) -> None:
    rules = _rules(lab_dev, "llama3-8b-chat")
    assert rules["ModelErrorRateHigh"]["expr"].endswith("> 5")
    assert rules["ModelLatencyP99High"]["expr"].endswith("> 2000")
    assert rules["ModelGpuSaturated"]["expr"].endswith("> 95")
    assert rules["ModelErrorRateHigh"]["labels"]["receiver"] == "ml-dev", "stack alertmanager receiver wired"
    assert {"ModelReplicasAtMax", "ModelGpuPodsPending"} <= set(rules)


def test_defaults_apply_when_section_absent(lab_dev: ResourcePlan) -> None:
    rules = _rules(lab_dev, "fraud-xgb")  # fraud-xgb has no monitoring section
    defaults = Alerts()
    assert rules["ModelErrorRateHigh"]["expr"].endswith(f"> {defaults.error_rate_percent:g}")
    assert rules["ModelLatencyP99High"]["expr"].endswith(f"> {defaults.latency_p99_ms:g}")
    assert "ModelGpuSaturated" not in rules, "CPU-only model: no GPU alert"


def test_dashboard_and_pod_monitor_per_model(lab_dev: ResourcePlan) -> None:
    boards = [r for r in lab_dev.of_type("kubernetes:core/v1:ConfigMap") if r.name.endswith("-dashboard")]
    assert {b.model for b in boards} == {"fraud-xgb", "llama3-8b-chat", "resnet50-vision"}
    assert all(b.inputs["metadata"]["labels"]["grafana_dashboard"] == "1" for b in boards)
    assert len(lab_dev.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor")) == 3


def test_dcgm_exporter_tolerates_gpu_taint(lab_dev: ResourcePlan) -> None:
    dcgm = [r for r in lab_dev.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "dcgm-exporter"]
    assert dcgm, "lab-dev installs the DCGM exporter"
    tolerations = dcgm[0].inputs["values"]["tolerations"]
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in tolerations


def test_nothing_created_when_disabled(project: Path) -> None:
    spec = project / "model_specs" / "fraud-xgb.yaml"
    spec.write_text(spec.read_text() + "\nmonitoring: {enabled: false}\n")
    plan = preview_stack(project, "lab-dev")
    assert not [r for r in plan.of_type(RULE) if r.model == "fraud-xgb"]
    assert not [r for r in plan.resources if r.model == "fraud-xgb" and r.name.endswith(("-dashboard", "-podmonitor"))]


@pytest.mark.parametrize(("field", "value"), [("error_rate_percent", -1), ("error_rate_percent", 101), ("gpu_utilization_percent", 150)])
def test_thresholds_out_of_range_are_exit_2(project: Path, cli, field: str, value: float) -> None:
    from modelfleet.cli import app

    spec = project / "model_specs" / "fraud-xgb.yaml"
    spec.write_text(spec.read_text() + f"\nmonitoring: {{alerts: {{{field}: {value}}}}}\n")
    result = cli.invoke(app, ["validate", "--project-dir", str(project)])
    assert result.exit_code == 2
    assert f"monitoring.alerts.{field}" in result.output and "fraud-xgb.yaml:" in result.output


def test_kserve_payload_logger_captures_to_the_stack_sink(root: Path) -> None:
    plan = preview_stack(root, "lab-kserve")
    isvc = [r for r in plan.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService") if r.model == "llama3-8b-chat"][0]
    assert isvc.inputs["spec"]["predictor"]["logger"] == {"mode": "all", "url": "http://payload-sink.monitoring.svc.cluster.local/capture"}
    assert [d for d in plan.diagnostics if d.field == "monitoring.data_capture.sample_percent" and d.level == "warning"], \
        "sampling below 100 % happens in the sink: said as a warning"
    others = [r for r in plan.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService") if r.model != "llama3-8b-chat"]
    assert all("logger" not in r.inputs["spec"]["predictor"] for r in others), "only models that sample are logged"


def test_capture_without_a_logger_is_said_not_silent(project: Path) -> None:
    spec = project / "model_specs" / "llama3-8b-chat.yaml"
    spec.write_text(spec.read_text().replace("monitoring: {data_capture: {sample_percent: 0}}", "monitoring: {data_capture: {sample_percent: 5}}"))
    plan = preview_stack(project, "lab-dev")
    notes = [d for d in plan.diagnostics if d.field == "monitoring.data_capture.sample_percent"]
    assert notes and "nothing is captured" in notes[0].message and "To fix" in notes[0].message
