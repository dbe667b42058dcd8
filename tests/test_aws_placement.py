"""Placement on EKS and SageMaker (pure: no Pulumi): offers, shapes, node bounds, honest limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelfleet.aws_images import container_environment, ecr_repository_arn
from modelfleet.environment import parse_stack
from modelfleet.placement import place_stack
from modelfleet.spec import load_specs, parse_spec, spec_paths
from modelfleet.targets.aws_offers import shape_key
from modelfleet.targets.eks import node_bounds
from modelfleet.targets.sagemaker import SAGEMAKER_NAME_LIMIT

ROOT = Path(__file__).resolve().parents[1]
SPECS = load_specs(spec_paths(ROOT / "model_specs"))
SAGEMAKER_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"


def stack(text: str, name: str = "t"):
    return parse_stack("config:\n" + text, f"stacks/Pulumi.{name}.yaml")


EKS_DEV = stack("""
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:cluster: {kind: eks, name: ml-dev}
  modelfleet:registry: {kind: ecr}
""", "eks-dev")

SM_PROD = stack("""
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: sagemaker
  modelfleet:registry: {kind: ecr}
""", "sagemaker-prod")


def by_model(sp):
    return {p.model: p for p in sp.placements}


@pytest.fixture(scope="module")
def eks_dev():
    return place_stack(EKS_DEV, SPECS)


@pytest.fixture(scope="module")
def sm_prod():
    return place_stack(SM_PROD, SPECS)


def test_eks_picks_cheapest_fitting_instance_and_dns_safe_shape(eks_dev):
    chat = by_model(eks_dev)["llama3-8b-chat"]
    assert chat.shape is not None and chat.offer is chat.shape.offer
    # ≥ 24 GiB GPU, 4 vCPU and 32 GiB after the kubelet reserve: g5.xlarge (16 GiB) cannot hold it
    assert chat.offer.gpu_memory_gib >= 24 and chat.offer.memory_gib > 32
    assert chat.shape.key == shape_key(chat.offer.instance_type, True)
    assert chat.shape.key.endswith("-spot") and chat.shape.spot, "dev overrides spot: true"
    assert len(chat.names["node_group"]) <= 63


def test_eks_cpu_only_model_has_no_gpu_pool(eks_dev):
    fraud = by_model(eks_dev)["fraud-xgb"]
    assert fraud.shape is None and fraud.gpus_per_replica == 0 and fraud.offer is not None


def test_node_bounds_follow_gpus_per_node(eks_dev):
    shapes = eks_dev.shapes()
    shape, users = shapes["p4de-24xlarge"]  # 8 × A100-80GB; the 70B model needs 4 per replica
    assert [p.model for p in users] == ["llama3-70b-instruct"]
    assert node_bounds(users) == (1, 1), "1-2 replicas × 4 GPUs fit on one 8-GPU node"
    _, chat = shapes["g6-4xlarge-spot"]
    assert node_bounds(chat) == (0, 1), "scale-to-zero in dev lets the node group reach 0"


def test_eks_no_offer_in_region_names_model_region_and_alternatives():
    far = stack("""
  aws:region: af-south-1
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:cluster: {kind: eks, name: ml}
  modelfleet:registry: {kind: ecr}
  modelfleet:models: [llama3-70b-instruct]
""")
    errors = place_stack(far, SPECS).errors
    assert len(errors) == 1
    message = errors[0].message
    assert "llama3-70b-instruct" in message and "af-south-1" in message and "us-east-1" in message
    assert "To fix" in message


def test_eks_existing_cluster_needs_a_name():
    nameless = stack("""
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:cluster: {kind: eks}
  modelfleet:registry: {kind: ecr}
""")
    assert any(d.field == "modelfleet:cluster.name" for d in place_stack(nameless, SPECS).errors)


def test_sagemaker_places_on_demand_with_dlc_image_and_valid_names(sm_prod):
    import re

    chat = by_model(sm_prod)["llama3-8b-chat"]
    assert chat.ok, chat.diagnostics
    assert chat.offer.platform == "sagemaker" and chat.offer.instance_type.startswith("ml.")
    assert "djl-inference" in chat.image and chat.image.startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/")
    assert (chat.min_replicas, chat.max_replicas) == (2, 8)
    endpoint = chat.names["endpoint"]
    assert len(endpoint) <= SAGEMAKER_NAME_LIMIT and re.match(SAGEMAKER_NAME, endpoint)


def test_sagemaker_long_names_fit():
    import re

    from modelfleet.targets.sagemaker import endpoint_name

    name = endpoint_name("a" * 40, "sagemaker-production-eu-central-1-blue")
    assert len(name) <= 63 and re.match(SAGEMAKER_NAME, name)


def test_sagemaker_scales_to_zero_through_inference_components():
    dev = stack("""
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: sagemaker
  modelfleet:registry: {kind: ecr}
  modelfleet:models: [llama3-8b-chat]
""")
    placed = place_stack(dev, SPECS)
    assert placed.errors == []
    [chat] = placed.placements
    assert (chat.names["capacity"], chat.min_replicas, chat.max_replicas) == ("components", 0, 1)
    assert chat.names["inference_component"] == chat.names["endpoint"]
    assert "instance start" in chat.names["cold_start"] and "model download (16 GiB)" in chat.names["cold_start"]


def test_sagemaker_limits_queue_depth_non_s3_public_and_auth(sm_prod):
    fraud = by_model(sm_prod)["fraud-xgb"]
    assert {d.field for d in fraud.diagnostics if d.level == "error"} >= {"model.uri", "serving.image"}
    spec = parse_spec("""
name: q
version: "1"
owner: t
model: {uri: "hf://org/model", framework: huggingface}
serving: {runtime: triton}
resources: {accelerator: T4}
autoscaling: {metric: queue_depth, target: 5}
network: {public: true, auth: none}
spot: true
""", "q.yaml")
    placed = place_stack(SM_PROD, [spec]).placements[0]
    levels = {d.field: d.level for d in placed.diagnostics}
    assert placed.names["capacity"] == "async", "queue_depth is an asynchronous endpoint, not an error"
    assert levels == {"model.uri": "error", "network.auth": "error", "network.public": "warning", "spot": "warning",
                      "monitoring.alerts.latency_p99_ms": "warning"}  # async: no documented ModelLatency percentile
    public = next(d for d in placed.diagnostics if d.field == "network.public")
    assert "SigV4" in public.message


def test_sagemaker_no_offer_points_elsewhere(sm_prod):
    errors = [d for d in by_model(sm_prod)["llama3-70b-instruct"].diagnostics if d.level == "error"]
    assert errors and "us-east-1" in errors[0].message and "modelfleet:models" in errors[0].message


def test_container_environment_maps_vllm_args_to_lmi_options():
    chat = next(s for s in SPECS if s.name == "llama3-8b-chat").for_environment("prod")
    env, diagnostics = container_environment(chat, 1)
    assert env["OPTION_MAX_MODEL_LEN"] == "8192" and env["OPTION_GPU_MEMORY_UTILIZATION"] == "0.90"
    assert env["TENSOR_PARALLEL_DEGREE"] == "1" and env["HF_MODEL_ID"] == "/opt/ml/model"
    assert env["HF_HUB_OFFLINE"] == "1" and diagnostics == []


def test_ecr_repository_arn_from_image():
    assert ecr_repository_arn("763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.33.0") == \
        "arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"
    assert ecr_repository_arn("vllm/vllm-openai:v0.11.0") is None
