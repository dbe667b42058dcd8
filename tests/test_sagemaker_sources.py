"""SageMaker serves the same specs as the clusters: a Hugging Face Hub LLM through the AWS container's own
download, an image from another registry through an ECR pull-through cache rule, secrets by reference.

Asserted under Pulumi mocks: the exact container environment and model data, the execution role's
exact statements and trust conditions, the cache rule, production protection; bad inputs refused
with exit 2 at a located field; a planted secret value in no output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import scratch_stacks

from modelfleet import mocked_cloud
from modelfleet.check import run_checks
from modelfleet.plan import SECRET_PLACEHOLDER, ResourcePlan
from modelfleet.render_preview import preview_json, preview_tree

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = mocked_cloud.FAKE_ACCOUNT
PLANTED = "hf_PlantedSageMakerToken0a1b2c3d4e5f"
HF_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ml/hf-token-AbCdEf"
GHCR_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/ghcr-Zy9Xw8"
SPECS = {
    "llama": """name: llama
version: "1"
owner: nlp-team
model: {uri: "hf://meta-llama/Llama-3.1-8B-Instruct:0e9e39f249a16976918f6564b8830bc894c89659", framework: huggingface, size_gib: 16}
serving: {runtime: vllm, secret_env: {HF_TOKEN: hf-token}}
resources: {accelerator: A10G:1, cpu: 4, memory_gib: 32}
""",
    "mistral": """name: mistral
version: "1"
owner: nlp-team
model: {uri: "hf://mistralai/Mistral-7B-Instruct-v0.3", framework: huggingface, size_gib: 15}
serving: {runtime: tgi}
resources: {accelerator: A10G:1, cpu: 4, memory_gib: 32}
""",
    "ranker": """name: ranker
version: "1"
owner: search-team
model: {uri: "s3://acme-models/ranker/3/", framework: onnx, size_gib: 1}
serving: {runtime: custom, image: "ghcr.io/acme/ranker-server:2.1.0", port: 8080, health: {path: /ping}}
resources: {accelerator: none, cpu: 2, memory_gib: 4}
autoscaling: {metric: cpu_utilization, target: 60}
monitoring: {metrics: {requests: http_requests_total}}
""",
}
STACK = f"""config:
  aws:region: us-east-1
  modelfleet:environment: {{environment}}
  modelfleet:platform: sagemaker
  modelfleet:registry: {{{{kind: ecr}}}}
  modelfleet:secrets: {{{{hf-token: {{{{aws_secrets_manager: "{HF_ARN}"}}}}}}}}
  modelfleet:pull_through: {{{{ghcr.io: {{{{credential: "{GHCR_ARN}"}}}}}}}}
{{extra}}"""


def write_project(root: Path, stacks: dict[str, str], specs: dict[str, str] = SPECS) -> Path:
    return scratch_stacks.write_project(root, specs, stacks)


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResourcePlan]:
    project = write_project(tmp_path_factory.mktemp("sm"), {
        "sm-dev": STACK.format(environment="dev", extra=""),
        "sm-vpc": STACK.format(environment="dev", extra="  modelfleet:subnet_ids: [subnet-a]\n  modelfleet:security_group_ids: [sg-a]\n"),
        "sm-prod": STACK.format(environment="prod", extra="  modelfleet:models: [ranker]\n"),
    })

    return scratch_stacks.preview_holding_secret(project, ("sm-dev", "sm-vpc", "sm-prod"), PLANTED)


def one(plan: ResourcePlan, token: str, suffix: str):
    found = [r for r in plan.of_type(token) if r.name.endswith(suffix)]
    assert len(found) == 1, f"{token} {suffix}: {[r.name for r in plan.of_type(token)]}"
    return found[0]


def statements(plan: ResourcePlan, model: str) -> dict[str, dict]:
    policy = one(plan, "aws:iam/rolePolicy:RolePolicy", f"{model}-role-policy")
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_vllm_hub_model_is_downloaded_by_the_lmi_container(plans):
    model = one(plans["sm-dev"], "aws:sagemaker/model:Model", "llama-model")
    container = model.inputs["primaryContainer"]
    env = container["environment"]
    assert env["HF_MODEL_ID"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert env["OPTION_REVISION"] == "0e9e39f249a16976918f6564b8830bc894c89659"
    assert env["OPTION_ROLLING_BATCH"] == "vllm"
    assert env["HF_TOKEN"] == SECRET_PLACEHOLDER, "the token reaches the container as a Pulumi secret"
    assert "modelDataUrl" not in container and "modelDataSource" not in container, "no S3 model data for a Hub model"
    assert container["image"].startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:")


def test_tgi_hub_model_reads_hf_model_id_without_revision(plans):
    env = one(plans["sm-dev"], "aws:sagemaker/model:Model", "mistral-model").inputs["primaryContainer"]["environment"]
    assert env["HF_MODEL_ID"] == "mistralai/Mistral-7B-Instruct-v0.3"
    assert "HF_MODEL_REVISION" not in env and "HF_TOKEN" not in env
    assert env["SM_NUM_GPUS"] == "1"


def test_hub_models_get_no_s3_and_no_secret_permissions(plans):
    stmts = statements(plans["sm-dev"], "llama")
    assert set(stmts) == {"PullImage", "EcrToken", "Logs", "Metrics"}
    assert not any(a.startswith(("s3:", "secretsmanager:")) for s in stmts.values() for a in s["Action"]), \
        "the token is read at deploy time by the deployer; the container reads no store"


def test_trust_policy_is_limited_to_this_accounts_sagemaker_resources(plans):
    role = one(plans["sm-dev"], "aws:iam/role:Role", "llama-role")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                  "ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*"}}


def test_network_isolation_stays_for_s3_models_and_is_off_for_hub_models_in_a_vpc(plans):
    plan = plans["sm-vpc"]
    assert one(plan, "aws:sagemaker/model:Model", "ranker-model").inputs["enableNetworkIsolation"] is True
    assert one(plan, "aws:sagemaker/model:Model", "llama-model").inputs["enableNetworkIsolation"] is False
    [warning] = [d for d in plan.diagnostics if d.model == "llama" and d.field == "model.uri"]
    assert warning.level == "warning" and "NAT" in warning.message and "443" in warning.message
    assert "copy the weights to s3://" in warning.message


def test_ghcr_image_runs_through_a_pull_through_cache_rule(plans):
    plan = plans["sm-dev"]
    rule = one(plan, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "pull-through-sm-dev-github")
    assert rule.inputs == {"ecrRepositoryPrefix": "sm-dev/github", "upstreamRegistryUrl": "ghcr.io", "credentialArn": GHCR_ARN}
    container = one(plan, "aws:sagemaker/model:Model", "ranker-model").inputs["primaryContainer"]
    assert container["image"] == f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/sm-dev/github/acme/ranker-server:2.1.0"
    assert container["modelDataSource"]["s3DataSources"][0]["s3Uri"] == "s3://acme-models/ranker/3/"
    stmts = statements(plan, "ranker")
    cached = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/sm-dev/github/acme/ranker-server"
    assert cached in stmts["PullImage"]["Resource"]
    assert stmts["PullThroughCache"] == {"Sid": "PullThroughCache", "Effect": "Allow",
                                         "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"], "Resource": [cached]}
    assert len(plan.of_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")) == 1, "one rule per upstream registry"


def test_production_endpoint_is_protected_and_its_config_is_not(plans):
    assert one(plans["sm-prod"], "aws:sagemaker/endpoint:Endpoint", "ranker-endpoint").options.get("protect") is True
    config = one(plans["sm-prod"], "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ranker-config")
    assert not config.options.get("protect"), "each version replaces the configuration; protect would block rollouts"
    assert not one(plans["sm-dev"], "aws:sagemaker/endpoint:Endpoint", "ranker-endpoint").options.get("protect")


def test_preview_says_where_weights_and_images_come_from(plans):
    plan = plans["sm-dev"]
    models = {m["model"]: m for m in preview_json([plan])["stacks"][0]["models"]}
    llama = models["llama"]
    assert llama["method"] == "hub-download"
    assert "HF_MODEL_ID=meta-llama/Llama-3.1-8B-Instruct" in llama["how"]
    assert llama["secrets"] == [{"env": "HF_TOKEN", "secret": "hf-token", "reference": f"aws_secrets_manager {HF_ARN}"}]
    assert any(n.startswith("egress: HTTPS to huggingface.co") for n in llama["notes"])
    assert any("no Hub token" in n for n in models["mistral"]["notes"])
    assert models["ranker"]["image"] == {"source": "ghcr.io/acme/ranker-server:2.1.0", "pull_through": {
        "rule_prefix": "sm-dev/github", "upstream_registry_url": "ghcr.io", "credential": GHCR_ARN, "credential_by_name": False,
        "pulled_as": "<account>.dkr.ecr.us-east-1.amazonaws.com/sm-dev/github/acme/ranker-server:2.1.0"}}


def test_policies_pass_on_the_sagemaker_stacks(plans):
    report = run_checks(list(plans.values()), ROOT / "policies" / "config")
    assert not [v for v in report.violations if v.rule in ("MF-IAM-001", "MF-IAM-002")], report.violations


def test_a_planted_secret_appears_in_no_output(plans):
    from io import StringIO

    from rich.console import Console

    for name, plan in plans.items():
        console = Console(file=StringIO(), width=200)
        console.print(preview_tree(plan))
        outputs = {"preview json": json.dumps(preview_json([plan])), "captured plan": json.dumps(plan.as_dict()),
                   "text": console.file.getvalue(),
                   "check": json.dumps(run_checks([plan], ROOT / "policies" / "config").as_dict(), default=str)}
        for where, text in outputs.items():
            assert PLANTED not in text, f"{name}: the planted secret leaked into the {where}"


def run_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelfleet.cli", *args, "--project-dir", str(project)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


BAD = {
    "triton-hub": ({"t": SPECS["mistral"].replace("name: mistral", "name: t").replace("runtime: tgi", "runtime: triton")},
                   "", "model.uri", "cannot download from the Hugging Face Hub"),
    "harbor": ({"h": SPECS["ranker"].replace("name: ranker", "name: h").replace("ghcr.io/acme", "harbor.example.com/acme")},
               "", "serving.image", "modelfleet build"),
    "custom-hub": ({"u": SPECS["ranker"].replace("name: ranker", "name: u").replace(
        "s3://acme-models/ranker/3/", "hf://acme/ranker")}, "", "model.uri", "only vllm, tgi load a Hub model"),
    "hub-custom-image": ({"c": SPECS["mistral"].replace("name: mistral", "name: c").replace(
        "runtime: tgi", 'runtime: tgi, image: "ghcr.io/acme/tgi:3"')}, "", "serving.image", "remove serving.image"),
}


def test_a_registry_credential_the_stack_does_not_name_is_the_conventional_secret(tmp_path: Path) -> None:
    """A ghcr.io image on a SageMaker stack with no modelfleet:pull_through previews: the rule takes the
    credential from the secret named ecr-pullthroughcache/github, looked up at deploy time, and preview
    says that `pulumi up` stops if it does not exist and how to create it. A Docker Hub official image
    the same way, under library/."""
    bare = STACK.replace(f'  modelfleet:pull_through: {{{{ghcr.io: {{{{credential: "{GHCR_ARN}"}}}}}}}}\n', "")
    assert "pull_through" not in bare
    specs = {"ranker": SPECS["ranker"], "hub": SPECS["ranker"].replace("name: ranker", "name: hub").replace(
        "ghcr.io/acme/ranker-server:2.1.0", "nginx:1.27")}
    project = write_project(tmp_path, {"sm": bare.format(environment="dev", extra="")}, specs)
    result = run_cli(project, "preview", "--stack", "sm", "-f", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    [stack] = json.loads(result.stdout)["stacks"]
    rules = {r["inputs"]["upstreamRegistryUrl"]: r["inputs"] for r in stack["resources"]
             if r["type"] == "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"}
    assert rules["ghcr.io"]["credentialArn"].startswith(
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/github-")
    assert rules["registry-1.docker.io"]["credentialArn"].startswith(
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-")
    warnings = {d["model"]: d["message"] for d in stack["diagnostics"] if d["field"] == "serving.image"}
    assert "reads the Secrets Manager secret named ecr-pullthroughcache/github" in warnings["ranker"]
    assert "stops if it does not exist" in warnings["ranker"] and "username" in warnings["ranker"]
    models = {m["model"]: m for m in stack["models"]}
    assert models["ranker"]["image"]["pull_through"]["credential"] == "ecr-pullthroughcache/github"
    assert models["ranker"]["image"]["pull_through"]["credential_by_name"] is True
    assert models["hub"]["image"]["pull_through"]["pulled_as"].endswith("/sm/docker-hub/library/nginx:1.27")


@pytest.mark.parametrize("case", sorted(BAD))
def test_what_cannot_reach_sagemaker_is_refused_where_it_is_written(tmp_path: Path, case: str) -> None:
    specs, extra, field, words = BAD[case]
    project = write_project(tmp_path, {"sm": STACK.format(environment="dev", extra=extra)}, specs)
    result = run_cli(project, "preview", "--stack", "sm")
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert field in out and words in out and "Traceback" not in out, out
    model = next(iter(specs))
    assert re.search(rf"model_specs/{model}\.yaml:\d+: {re.escape(field)}: {model} on stack 'sm':", out), \
        "preview locates the error like validate: spec file, line, field, model and stack"
    validated = run_cli(project, "validate")
    out = validated.stdout + validated.stderr
    assert validated.returncode == 2 and re.search(rf"model_specs/{next(iter(specs))}\.yaml:\d+: {re.escape(field)}:", out), out


@pytest.mark.parametrize(("setting", "words"), [
    ('{harbor.example.com: {}}', "ECR has no pull-through cache for registry 'harbor.example.com'"),
    ('{ghcr.io: {credential: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ml/ghcr-AbCdEf"}}', "ecr-pullthroughcache/"),
    ('{ghcr.io: {credential: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/g-AbCdEf"}}', "eu-west-1"),
    ('{quay.io: {credential: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/q-AbCdEf"}}', "needs no credential"),
])
def test_pull_through_settings_are_validated_at_their_line(tmp_path: Path, setting: str, words: str) -> None:
    stack = STACK.format(environment="dev", extra="").replace(
        f'  modelfleet:pull_through: {{ghcr.io: {{credential: "{GHCR_ARN}"}}}}\n', f"  modelfleet:pull_through: {setting}\n")
    project = write_project(tmp_path, {"sm": stack}, {"mistral": SPECS["mistral"]})
    result = run_cli(project, "validate")
    out = result.stdout + result.stderr
    assert result.returncode == 2 and words in out and "Traceback" not in out, out
    assert "Pulumi.sm.yaml:7" in out, out


def test_explain_reads_a_pull_through_setting_keyed_by_a_registry_host() -> None:
    from modelfleet.explain import explain

    doc = explain("modelfleet:pull_through.ghcr.io.credential")
    assert "ecr-pullthroughcache/" in doc.description and doc.only_on


def test_planned_resources_are_requests_aws_accepts(plans, monkeypatch) -> None:
    """The role, its policy, the Hub model and the cache rule, sent as the API calls the provider makes:
    IAM and SageMaker against moto, ECR's CreatePullThroughCacheRule (moto has none) through botocore's Stubber,
    which validates the request against the ECR service model."""
    import boto3
    from botocore.stub import Stubber
    from moto import mock_aws

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    plan = plans["sm-dev"]
    role, policy = one(plan, "aws:iam/role:Role", "llama-role"), one(plan, "aws:iam/rolePolicy:RolePolicy", "llama-role-policy")
    container = one(plan, "aws:sagemaker/model:Model", "llama-model").inputs["primaryContainer"]
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        arn = iam.create_role(RoleName="llama", AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"])["Role"]["Arn"]
        iam.put_role_policy(RoleName="llama", PolicyName="llama", PolicyDocument=policy.inputs["policy"])
        sm = boto3.client("sagemaker", region_name="us-east-1")
        env = {k: ("deploy-time value" if v == SECRET_PLACEHOLDER else v) for k, v in container["environment"].items()}
        sm.create_model(ModelName="llama", ExecutionRoleArn=arn, PrimaryContainer={"Image": container["image"], "Environment": env})
        described = sm.describe_model(ModelName="llama")["PrimaryContainer"]
        assert described["Environment"]["HF_MODEL_ID"] == "meta-llama/Llama-3.1-8B-Instruct"
        assert "ModelDataUrl" not in described and "ModelDataSource" not in described
    rule = one(plan, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "pull-through-sm-dev-github").inputs
    ecr = boto3.client("ecr", region_name="us-east-1")
    with Stubber(ecr) as stub:
        stub.add_response("create_pull_through_cache_rule", {"ecrRepositoryPrefix": "sm-dev/github", "upstreamRegistryUrl": "ghcr.io",
                                                             "credentialArn": GHCR_ARN},
                          {"ecrRepositoryPrefix": "sm-dev/github", "upstreamRegistryUrl": "ghcr.io", "credentialArn": GHCR_ARN})
        ecr.create_pull_through_cache_rule(**rule)
        stub.assert_no_pending_responses()


def test_a_pull_through_credential_may_be_a_logical_secret(tmp_path: Path) -> None:
    from modelfleet.aws_images import cached_image
    from modelfleet.environment import load_stack_file

    stack = STACK.format(environment="dev", extra="").replace(
        f'  modelfleet:pull_through: {{ghcr.io: {{credential: "{GHCR_ARN}"}}}}\n',
        '  modelfleet:pull_through: {ghcr.io: ghcr-token}\n').replace(
        "{hf-token:", f'{{ghcr-token: {{aws_secrets_manager: "{GHCR_ARN}"}}, hf-token:')
    path = tmp_path / "Pulumi.sm.yaml"
    path.write_text(stack)
    cached = cached_image("ghcr.io/acme/ranker-server:2.1.0", load_stack_file(path))
    assert cached is not None and cached.credential_arn == GHCR_ARN


DOCKER = {"docker.io": type("E", (), {"credential": GHCR_ARN.replace("ghcr", "hub"), "prefix": None})()}


@pytest.mark.parametrize(("image", "settings", "uri", "url"), [
    ("nginx:1.27", DOCKER, "docker-hub/library/nginx:1.27", "registry-1.docker.io"),
    ("docker.io/vllm/vllm-openai:v0.6.3", DOCKER, "docker-hub/vllm/vllm-openai:v0.6.3", "registry-1.docker.io"),
    ("quay.io/org/server@sha256:" + "a" * 64, {}, "quay/org/server@sha256:" + "a" * 64, "quay.io"),
    ("registry.k8s.io/pause:3.10", {}, "kubernetes/pause:3.10", "registry.k8s.io"),
    ("public.ecr.aws/nginx/nginx:1", {}, "ecr-public/nginx/nginx:1", "public.ecr.aws"),
    ("acmeml.azurecr.io/serving/ranker:2", {"acmeml.azurecr.io": DOCKER["docker.io"]}, "acr-acmeml/serving/ranker:2",
     "acmeml.azurecr.io"),
])
def test_cache_paths_per_upstream_registry(image: str, settings: dict, uri: str, url: str) -> None:
    from modelfleet.pull_through import resolve

    cached, problem = resolve(image, settings, "sm")
    assert problem is None and cached is not None
    assert cached.uri("111122223333", "eu-west-1") == f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/sm/{uri}"
    assert cached.upstream_url == url


def test_default_prefixes_fit_ecr_limits_for_long_stack_names() -> None:
    from modelfleet.pull_through import facts, resolve

    cached, _ = resolve("acmemodelregistry.azurecr.io/x:1", {"acmemodelregistry.azurecr.io": DOCKER["docker.io"]},
                        "Production_EU-West.SageMaker-Stack")
    assert cached is not None
    lo, hi = facts()["prefix_length"]
    assert lo <= len(cached.prefix) <= hi and re.match(facts()["prefix_pattern"], cached.prefix), cached.prefix
    assert cached.prefix.endswith("/acr-acmemodelregistry")


def test_a_hub_model_on_a_production_stack_previews_with_its_egress_stated(tmp_path: Path) -> None:
    stack = STACK.format(environment="prod", extra="  modelfleet:subnet_ids: [subnet-a, subnet-b]\n"
                                                   "  modelfleet:security_group_ids: [sg-a]\n")
    spec = SPECS["mistral"].replace("resources:", "autoscaling: {min_replicas: 2, max_replicas: 2}\nresources:")
    project = write_project(tmp_path, {"sm": stack}, {"mistral": spec})
    result = run_cli(project, "preview", "--stack", "sm", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    [entry] = json.loads(result.stdout)["stacks"]
    [warning] = [d for d in entry["diagnostics"] if d["field"] == "model.uri"]
    assert warning["level"] == "warning" and "NAT" in warning["message"] and "copy the weights to s3://" in warning["message"]


def test_network_isolation_policy_lets_hub_downloads_through_where_configured(plans) -> None:
    from policies.rules import RULES_BY_ID
    from policies.rules.sagemaker import model_network_isolation

    rule = RULES_BY_ID["MF-SM-002"]
    hub = one(plans["sm-vpc"], "aws:sagemaker/model:Model", "llama-model").inputs
    defaults = rule.defaults()
    assert model_network_isolation(rule.resource_types[0], hub, {**defaults, "environment": "prod"}) == []
    strict = {**defaults, "environment": "prod", "hub_download_environments": ["dev", "staging"]}
    [message] = model_network_isolation(rule.resource_types[0], hub, strict)
    assert "Hugging Face Hub" in message and "copy the weights to S3" in message
    report = run_checks([plans["sm-vpc"]], ROOT / "policies" / "config")
    assert not [v for v in report.violations if v.rule == "MF-SM-002"], report.violations
