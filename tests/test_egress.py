"""Model pods' egress under Pulumi mocks: DNS, HTTPS anywhere but the instance metadata service,
the Pod Identity agent on EKS, the stack's MLflow/capture endpoints and what `egress.allow` names —
nothing else; production namespaces are protected; egress.open is refused in production."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scratch_stacks import write_project

from components.kubernetes.egress import METADATA_SERVICE, POD_IDENTITY_AGENT, endpoint_rule
from modelfleet import preview
from modelfleet.plan import ResourcePlan

ROOT = Path(__file__).resolve().parent.parent
SPEC = """name: chat
version: "1"
owner: nlp-team
model: {uri: "s3://acme-models/chat/1/", framework: huggingface, size_gib: 4}
serving: {runtime: vllm}
resources: {accelerator: L4:1, cpu: 4, memory_gib: 16}
"""
STACKS = {
    "eks-dev": """config:
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:cluster: {kind: eks, name: ml}
  modelfleet:registry: {kind: ecr}
  modelfleet:mlflow: {tracking_uri: "http://mlflow.ml-platform.svc.cluster.local:5000"}
""",
    "lab-prod": """config:
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:serving: kserve
  modelfleet:cluster: {kind: onprem, gpu_nodes: [{name: gpu-1, accelerator: L4, count: 4}]}
  modelfleet:registry: {kind: external, url: registry.lab.local/ml}
  modelfleet:capture_url: https://capture.lab.example.com:8443/in
  modelfleet:artifact_store: {credentials_secret: minio-reader}
  modelfleet:egress: {allow: [{cidr: 10.20.0.0/16, ports: [9000]}]}
""",
    "lab-open": """config:
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:cluster: {kind: onprem, gpu_nodes: [{name: gpu-1, accelerator: L4, count: 4}]}
  modelfleet:registry: {kind: external, url: registry.lab.local/ml}
  modelfleet:egress: {open: true}
""",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("egress"), {"chat": SPEC}, STACKS)


@pytest.fixture(scope="module")
def plans(project: Path) -> dict[str, ResourcePlan]:
    return {name: preview.preview_stack(project, name) for name in STACKS}


def policy(plan: ResourcePlan) -> dict:
    [found] = plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    return found.inputs["spec"]


def ports(rule: dict) -> set[tuple[int, str]]:
    return {(int(p["port"]), p["protocol"]) for p in rule["ports"]}


def reachable(rules: list[dict], address: str, port: int, protocol: str = "TCP") -> bool:
    """Would this egress policy admit a connection (ipBlock peers only; no peers = anywhere)?"""
    ip = ipaddress.ip_address(address)
    for rule in rules:
        if (port, protocol) not in ports(rule):
            continue
        peers = rule.get("to") or []
        if not peers:
            return True
        for peer in peers:
            block = peer.get("ipBlock")
            if not block or ipaddress.ip_network(block["cidr"]).version != ip.version:
                continue
            if ip in ipaddress.ip_network(block["cidr"]) and not any(ip in ipaddress.ip_network(e) for e in block.get("except", [])):
                return True
    return False


def test_eks_pods_reach_dns_https_and_the_pod_identity_agent_but_never_the_metadata_service(plans):
    spec = policy(plans["eks-dev"])
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    rules = spec["egress"]
    assert reachable(rules, "10.100.0.10", 53, "UDP") and reachable(rules, "169.254.20.10", 53, "TCP"), "cluster DNS or NodeLocal DNSCache"
    assert reachable(rules, "52.216.1.1", 443), "the model store over HTTPS"
    assert reachable(rules, "2600:1f18::1", 443)
    for metadata in ("169.254.169.254", "fd00:ec2::254"):
        assert not any(reachable(rules, metadata, port) for port in (80, 443, 5000)), "no borrowing of the node's credentials"
    assert reachable(rules, "169.254.170.23", 80) and reachable(rules, "fd00:ec2::23", 80), "EKS Pod Identity agent"
    assert not reachable(rules, "52.216.1.1", 80) and not reachable(rules, "52.216.1.1", 22), "nothing else leaves the pod"
    [mlflow] = [r for r in rules if any("namespaceSelector" in peer for peer in r.get("to") or [])]
    assert mlflow["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ml-platform"}}}]
    assert ports(mlflow) == {(5000, "TCP")}, "the in-cluster MLflow server a models:/ fetch asks"


def test_onprem_prod_admits_the_capture_sink_and_the_named_store_and_protects_the_namespace(plans):
    plan = plans["lab-prod"]
    rules = policy(plan)["egress"]
    assert reachable(rules, "203.0.113.9", 8443), "capture_url's port"
    assert reachable(rules, "10.20.3.4", 9000) and not reachable(rules, "10.21.0.1", 9000), "egress.allow, exactly"
    assert not reachable(rules, "169.254.170.23", 80), "no Pod Identity agent outside EKS"
    [namespace] = plan.of_type("kubernetes:core/v1:Namespace")
    assert namespace.options["protect"] is True, "a production model namespace is protected like the registries"


def test_dev_namespaces_stay_unprotected_and_open_egress_is_said(plans, project):
    plan = plans["eks-dev"]
    [namespace] = plan.of_type("kubernetes:core/v1:Namespace")
    assert not namespace.options["protect"]
    open_plan = plans["lab-open"]
    assert policy(open_plan)["policyTypes"] == ["Ingress"] and "egress" not in policy(open_plan)
    warnings = [d.message for d in open_plan.diagnostics if d.field == "modelfleet:egress.open"]
    assert warnings and "metadata service" in warnings[0] and "egress.allow" in warnings[0]


def test_preview_line_says_where_pods_may_connect(project):
    text = subprocess.run([sys.executable, "-m", "modelfleet.cli", "preview", "--stack", "eks-dev"], cwd=project, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "400"}).stdout
    assert "egress=DNS; 443 anywhere but the metadata service; 80 to 169.254.170.23/32,fd00:ec2::23/128; 5000 to namespace ml-platform" in text


def test_onprem_store_without_an_allowed_port_is_warned(tmp_path):
    from modelfleet.environment import parse_stack
    from modelfleet.targets.kubernetes import egress_stack_diagnostics

    stack = parse_stack(STACKS["lab-prod"].replace("  modelfleet:egress: {allow: [{cidr: 10.20.0.0/16, ports: [9000]}]}\n", ""), "s.yaml")
    [warning] = egress_stack_diagnostics(stack)
    assert "minio-reader" in warning.message and "egress.allow" in warning.message


@pytest.mark.parametrize(("setting", "says"), [
    ("{open: true}", "egress.open"),
    ("{allow: [{cidr: 169.254.0.0/16, ports: [80]}]}", "metadata service"),
    ("{allow: [{cidr: 10.0.0.1/8, ports: [80]}]}", "not a network"),
    ("{allow: [{cidr: 10.0.0.0/8, ports: [0]}]}", "ports"),
])
def test_bad_egress_settings_are_located_errors(project, tmp_path, setting, says):
    bad = tmp_path / "bad"
    shutil.copytree(project, bad)
    text = STACKS["lab-prod"].replace("{allow: [{cidr: 10.20.0.0/16, ports: [9000]}]}", setting)
    (bad / "stacks" / "Pulumi.lab-prod.yaml").write_text(text)
    done = subprocess.run([sys.executable, "-m", "modelfleet.cli", "validate"], cwd=bad, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "400"})
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "Pulumi.lab-prod.yaml:" in out and says in out and "Traceback" not in out


def test_endpoint_rules_match_services_by_namespace_and_others_by_port():
    assert endpoint_rule("https://mlflow.example.com") is None, "443 is already open"
    assert endpoint_rule("http://sink.monitoring.svc/capture")["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"}
    rule = endpoint_rule("http://10.1.2.3:8080/x")
    assert ports(rule) == {(8080, "TCP")}
    assert {b["ipBlock"]["except"][0] for b in rule["to"]} == set(METADATA_SERVICE.values())
    assert POD_IDENTITY_AGENT == ("169.254.170.23/32", "fd00:ec2::23/128")
