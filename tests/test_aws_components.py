"""AWS components under the offline preview: what a reviewer checks in EKS node groups, ECR
repositories and SageMaker endpoints. One preview per scratch stack (module-scoped)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelfleet import preview
from modelfleet.plan import ResourcePlan, as_int

ROOT = Path(__file__).resolve().parents[1]
KMS = "arn:aws:kms:us-east-1:123456789012:key/k-1"
SNS = "arn:aws:sns:us-east-1:123456789012:ml-oncall"

STACKS = {
    "eks-dev": """
  aws:region: us-east-1
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:cluster: {kind: eks, name: ml-dev, create: true, nodes: managed}
  modelfleet:registry: {kind: ecr}
  modelfleet:models: ["llama3-8b-*", "resnet50-*", "fraud-*"]
""",
    "eks-prod": """
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: kubernetes
  modelfleet:mlflow: {tracking_uri: "https://mlflow.example.com"}
  modelfleet:serving: kserve
  modelfleet:cluster: {kind: eks, name: ml-prod, ami: bottlerocket}
  modelfleet:registry: {kind: ecr, keep_images: 40, kms_key_arn: "KMS"}
""".replace("KMS", KMS),
    "sm-prod": """
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: sagemaker
  modelfleet:registry: {kind: ecr}
  modelfleet:models: ["llama3-8b-*", "resnet50-*"]
  modelfleet:subnet_ids: [subnet-1, subnet-2]
  modelfleet:security_group_ids: [sg-1]
  modelfleet:kms_key_arn: "KMS"
  modelfleet:alerts: {sns_topic_arn: "SNS"}
""".replace("KMS", KMS).replace("SNS", SNS),
    "sm-plain": """
  aws:region: us-east-1
  modelfleet:environment: prod
  modelfleet:platform: sagemaker
  modelfleet:registry: {kind: ecr}
  modelfleet:models: ["resnet50-*"]
""",
}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    project = tmp_path_factory.mktemp("aws")
    shutil.copytree(ROOT / "model_specs", project / "model_specs")
    (project / "stacks").mkdir()
    for name, body in STACKS.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text("config:" + body)
    return {name: preview.preview_stack(project, name) for name in STACKS}


def of_type(plan: ResourcePlan, token: str):
    found = plan.of_type(token)
    assert found, f"{plan.stack}: no {token}"
    return found


def named(plan: ResourcePlan, token: str, suffix: str):
    matches = [r for r in plan.of_type(token) if r.name.endswith(suffix)]
    assert len(matches) == 1, f"{plan.stack}: {token} *{suffix}: {[r.name for r in plan.of_type(token)]}"
    return matches[0]


# ---------------------------------------------------------------- EKS


def gpu_groups(plan: ResourcePlan):
    return [r for r in of_type(plan, "aws:eks/nodeGroup:NodeGroup") if r.inputs.get("taints")]


def test_gpu_node_groups_are_tainted_labelled_and_nvidia(plans):
    for stack, ami in (("eks-dev", "AL2023_x86_64_NVIDIA"), ("eks-prod", "BOTTLEROCKET_x86_64_NVIDIA")):
        groups = gpu_groups(plans[stack])
        assert groups, stack
        for group in groups:
            inputs = group.inputs
            assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}], group.urn
            assert inputs["amiType"] == ami, group.urn
            pool = inputs["labels"]["modelfleet.io/gpu-pool"]
            assert inputs["instanceTypes"] == [pool.removesuffix("-spot").replace("-", ".", 1)], group.urn
            assert inputs["labels"]["modelfleet.io/accelerator"], group.urn
            assert len(inputs["nodeGroupName"]) <= 63
            assert group.options["ignoreChanges"] == ["scalingConfig.desiredSize"], group.urn


def test_model_server_pods_select_an_existing_pool(plans):
    plan = plans["eks-dev"]
    pools = {g.inputs["labels"]["modelfleet.io/gpu-pool"] for g in gpu_groups(plan)}
    deployments = [r for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment"
                   and r.inputs["spec"]["template"]["spec"].get("nodeSelector", {}).get("modelfleet.io/gpu-pool")]
    assert deployments
    for d in deployments:
        assert d.inputs["spec"]["template"]["spec"]["nodeSelector"]["modelfleet.io/gpu-pool"] in pools, d.urn
        assert d.options["provider"] == "eks-dev-k8s", d.urn


def test_scaling_bounds_and_spot_in_dev(plans):
    groups = {g.inputs["labels"]["modelfleet.io/gpu-pool"]: g for g in gpu_groups(plans["eks-dev"])}
    spot = [g for key, g in groups.items() if key.endswith("-spot")]
    assert len(spot) == 1 and spot[0].inputs["capacityType"] == "SPOT"
    # the chat model scales to zero in dev with max 1 replica on a 1-GPU node
    assert as_int(spot[0].inputs["scalingConfig"]) == {"minSize": 0, "maxSize": 1, "desiredSize": 0}
    on_demand = [g for key, g in groups.items() if not key.endswith("-spot")]
    assert on_demand and all(g.inputs["capacityType"] == "ON_DEMAND" for g in on_demand)
    prod = {g.inputs["labels"]["modelfleet.io/gpu-pool"]: as_int(g.inputs["scalingConfig"]) for g in gpu_groups(plans["eks-prod"])}
    # llama3-70b-instruct in prod: 2-3 replicas × 4 A100-80GB on 8-GPU nodes → 1-2 nodes
    assert (prod["p4de-24xlarge"]["minSize"], prod["p4de-24xlarge"]["maxSize"]) == (1, 2)


def test_launch_template_requires_imdsv2_and_encrypts_gp3(plans):
    for stack, device in (("eks-dev", "/dev/xvda"), ("eks-prod", "/dev/xvdb")):
        for lt in of_type(plans[stack], "aws:ec2/launchTemplate:LaunchTemplate"):
            meta = as_int(lt.inputs["metadataOptions"])
            assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1, lt.urn
            (volume,) = lt.inputs["blockDeviceMappings"]
            assert volume["deviceName"] == device
            assert volume["ebs"]["encrypted"] == "true" and volume["ebs"]["volumeType"] == "gp3", lt.urn
    big = named(plans["eks-prod"], "aws:ec2/launchTemplate:LaunchTemplate", "p4de-24xlarge-lt")
    assert as_int(big.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"]) == 100 + 2 * 140


def test_node_role_has_exactly_the_three_worker_policies(plans):
    plan = plans["eks-prod"]
    attached = {r.inputs["policyArn"].rsplit("/", 1)[1] for r in of_type(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"}
    inline = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
              if "modelfleet:aws:ModelIdentity" not in r.urn and "modelfleet:aws:ClusterAutoscaler" not in r.urn]
    assert not inline, "only per-model identities and the Cluster Autoscaler carry inline policies; node roles never read model buckets"


def test_created_cluster_spans_two_private_subnets(plans):
    plan = plans["eks-dev"]
    cluster = of_type(plan, "aws:eks/cluster:Cluster")[0]
    subnets = cluster.inputs["vpcConfig"]["subnetIds"]
    assert len(subnets) == 2 and all("private" in s for s in subnets)
    private = [s for s in of_type(plan, "aws:ec2/subnet:Subnet") if "private" in s.name]
    assert len({s.inputs["availabilityZone"] for s in private}) == 2
    policies = [r.inputs["policyArn"] for r in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if "cluster-policy" in r.name]
    assert policies == ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]


def test_existing_cluster_provider_uses_exec_token(plans):
    (provider,) = of_type(plans["eks-prod"], "pulumi:providers:kubernetes")
    config = json.loads(provider.inputs["kubeconfig"])
    user = config["users"][0]["user"]["exec"]
    assert user["command"] == "aws" and user["args"][:4] == ["eks", "get-token", "--cluster-name", "ml-prod"]
    assert config["clusters"][0]["cluster"]["server"].startswith("https://")


def test_ecr_repository_per_model_immutable_scanned_retained(plans):
    plan = plans["eks-prod"]
    repos = of_type(plan, "aws:ecr/repository:Repository")
    assert len(repos) == len(plan.config["models"])
    for repo in repos:
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE", repo.urn
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KMS}]
        assert repo.options["retainOnDelete"] and repo.options["protect"], "prod repositories are protected"
    policy = json.loads(of_type(plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy")[0].inputs["policy"])
    assert policy["rules"][0]["selection"]["countNumber"] == 40
    assert not plan.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    dev_repo = of_type(plans["eks-dev"], "aws:ecr/repository:Repository")[0]
    assert dev_repo.options["retainOnDelete"] and not dev_repo.options["protect"]


# ---------------------------------------------------------------- SageMaker


def test_isolation_vpc_and_kms_when_configured(plans):
    model = named(plans["sm-prod"], "aws:sagemaker/model:Model", "resnet50-vision-model")
    assert model.inputs["enableNetworkIsolation"] is True
    assert model.inputs["vpcConfig"] == {"subnets": ["subnet-1", "subnet-2"], "securityGroupIds": ["sg-1"]}
    plain = named(plans["sm-plain"], "aws:sagemaker/model:Model", "resnet50-vision-model")
    assert not plain.inputs.get("enableNetworkIsolation") and "vpcConfig" not in plain.inputs
    chat = named(plans["sm-prod"], "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "llama3-8b-chat-config")
    # local-NVMe instance types take no volume key; the capture is still encrypted with it
    assert "kmsKeyArn" not in chat.inputs and chat.inputs["dataCaptureConfig"]["kmsKeyId"] == KMS


def test_endpoint_config_counts_and_data_capture(plans):
    config = named(plans["sm-prod"], "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "llama3-8b-chat-config")
    (variant,) = config.inputs["productionVariants"]
    assert variant["instanceType"].startswith("ml.") and as_int(variant["initialInstanceCount"]) == 2
    capture = config.inputs["dataCaptureConfig"]
    assert as_int(capture["initialSamplingPercentage"]) == 10 and capture["destinationS3Uri"].startswith("s3://")
    assert config.options["ignoreChanges"] == ["productionVariants[0].initialInstanceCount"]
    resnet = named(plans["sm-prod"], "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "resnet50-vision-config")
    assert "dataCaptureConfig" not in resnet.inputs


def test_rollback_alarms_are_wired_into_the_deployment_config(plans):
    plan = plans["sm-prod"]
    endpoint = named(plan, "aws:sagemaker/endpoint:Endpoint", "llama3-8b-chat-endpoint")
    config = as_int(endpoint.inputs["deploymentConfig"])
    routing = config["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]
    assert routing == {"type": "CANARY", "waitIntervalInSeconds": 600, "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}}
    rollback = {a["alarmName"] for a in config["autoRollbackConfiguration"]["alarms"]}
    alarms = {a.inputs["name"]: a for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert rollback == {"llama3-8b-chat-sm-prod-5xx-rate", "llama3-8b-chat-sm-prod-latency-p99"} <= set(alarms)
    latency = alarms["llama3-8b-chat-sm-prod-latency-p99"].inputs
    assert latency["metricName"] == "ModelLatency" and latency["extendedStatistic"] == "p99"
    assert latency["threshold"] == 2000 * 1000, "ModelLatency is in microseconds"
    errors = alarms["llama3-8b-chat-sm-prod-5xx-rate"].inputs
    assert errors["threshold"] == 5 and "100 * errors / invocations" in errors["metricQueries"][2]["expression"]
    for alarm in alarms.values():
        assert alarm.inputs["alarmActions"] == [SNS], alarm.urn
    plain = {a.inputs["name"]: a for a in plans["sm-plain"].of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert all(not a.inputs.get("alarmActions") for a in plain.values()), "no topic, no actions"


def test_scaling_policy_metric_and_target(plans):
    plan = plans["sm-prod"]
    targets = {t.inputs["resourceId"]: t for t in of_type(plan, "aws:appautoscaling/target:Target")}
    chat = targets["endpoint/llama3-8b-chat-sm-prod/variant/AllTraffic"]
    assert chat.inputs["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (as_int(chat.inputs["minCapacity"]), as_int(chat.inputs["maxCapacity"])) == (2, 8)
    policies = {p.inputs["resourceId"]: p.inputs["targetTrackingScalingPolicyConfiguration"]
                for p in of_type(plan, "aws:appautoscaling/policy:Policy")}
    concurrency = policies["endpoint/llama3-8b-chat-sm-prod/variant/AllTraffic"]
    assert concurrency["predefinedMetricSpecification"]["predefinedMetricType"] == \
        "SageMakerVariantConcurrentRequestsPerModelHighResolution"
    assert concurrency["targetValue"] == 8
    rps = policies["endpoint/resnet50-vision-sm-prod/variant/AllTraffic"]
    assert rps["predefinedMetricSpecification"]["predefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert rps["targetValue"] == 200 * 60, "InvocationsPerInstance counts per minute"


def test_execution_role_is_scoped_to_the_model(plans):
    plan = plans["sm-prod"]
    assert not [r for r in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if "FullAccess" in r.inputs["policyArn"]], "no managed FullAccess policy"
    doc = json.loads(named(plan, "aws:iam/rolePolicy:RolePolicy", "llama3-8b-chat-role-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    for statement in doc["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(a.startswith("s3:") for a in actions):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert "*" not in resources and "arn:aws:s3:::*" not in resources, statement
    assert by_sid["ReadModel"]["Resource"] == ["arn:aws:s3:::acme-models/llama3-8b-instruct/1.4.0/*"]
    assert by_sid["ListModel"]["Condition"] == {"StringLike": {"s3:prefix": ["llama3-8b-instruct/1.4.0/*"]}}
    pull = by_sid["PullImage"]["Resource"]
    assert any(arn.endswith("sm-prod/llama3-8b-chat") for arn in pull)
    assert "arn:aws:ecr:us-east-1:763104351884:repository/djl-inference" in pull
    assert by_sid["UseKey"]["Resource"] == [KMS]
    assert by_sid["WriteCapture"]["Resource"][0].endswith("/llama3-8b-chat-sm-prod/*")
    assert by_sid["Logs"]["Resource"][0].endswith(":log-group:/aws/sagemaker/Endpoints/llama3-8b-chat-sm-prod")


def test_everything_in_an_endpoint_is_tagged_with_the_model(plans):
    plan = plans["sm-prod"]
    taggable = [r for r in plan.resources if r.custom and r.type.startswith("aws:sagemaker/")]
    assert taggable and all(r.inputs["tags"]["modelfleet:model"] in ("llama3-8b-chat", "resnet50-vision") for r in taggable)


def test_endpoint_urls_are_runtime_invocation_urls(plans):
    assert plans["sm-prod"].outputs["llama3-8b-chat"] == \
        "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/llama3-8b-chat-sm-prod/invocations"


def test_onprem_preview_imports_no_aws_sdk():
    code = ("import sys; from pathlib import Path; from modelfleet.preview import preview_stack; "
            "plan = preview_stack(Path(sys.argv[1]), 'lab-dev'); assert plan.resources; "
            "print(sorted(m for m in ('pulumi_aws', 'boto3', 'botocore', 'sagemaker') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
