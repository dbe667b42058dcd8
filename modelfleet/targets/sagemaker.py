"""SageMaker real-time endpoints: one endpoint (one production variant) per model.

Contract:
- `place` picks the cheapest `sagemaker` catalog offer in the stack's region (always
  on-demand), resolves the serving image (`modelfleet.aws_images`) and names that fit
  SageMaker's 63-character `^[a-zA-Z0-9](-*[a-zA-Z0-9])*` rule.
- What SageMaker cannot honour is stated in `UNSUPPORTED` and reported per model: an error
  where a promise would be broken (non-S3 model data, unauthenticated access; for scale-to-zero and
  queue-depth scaling see `sagemaker_capacity`), a warning where a documented fallback applies (spot, public,
  bake time above SageMaker's one-hour step limit).
- Monitoring: with `monitoring.enabled: false` no CloudWatch alarm exists, so the blue/green
  update has no automatic rollback (warning; the MF-SM-004 policy also flags it in staging/prod)
  and no capture is configured (warning when the spec still samples). `check_stack` adds the
  stack-level alert-destination check (`modelfleet.alert_destinations`).
"""

from __future__ import annotations

from typing import Any

from modelfleet.aws_images import container_environment, sagemaker_image
from modelfleet.environment import AnyStack, SageMakerStack
from modelfleet.naming import fit
from modelfleet.placed import Placement, placement_for
from modelfleet.plan import Diagnostic
from modelfleet.rollout import RolloutPlan
from modelfleet.spec import ModelSpec
from modelfleet.targets import Target
from modelfleet.targets.aws_offers import choose_offer
from modelfleet.targets.sagemaker_capacity import capacity_diagnostics, capacity_mode, capacity_names

SAGEMAKER_NAME_LIMIT = 63
SAGEMAKER_NAME_INVALID = r"[^a-z0-9-]"
VARIANT = "AllTraffic"
MAX_WAIT_SECONDS = 3600  # BlueGreenUpdatePolicy WaitIntervalInSeconds upper bound
# "the canary size should be less than or equal to 50% of the new fleet's capacity"
# (SageMaker developer guide, Deployment guardrails: Use canary traffic shifting)
MAX_CANARY_PERCENT = 50
LINEAR_STEP_PERCENT = 25  # components.aws.sagemaker_config: rolling → LINEAR steps of this size
# Instance families with local NVMe instance storage: CreateEndpointConfig rejects a KmsKeyId for
# them (the instance store is encrypted by the hardware at rest).
LOCAL_NVME_FAMILIES = frozenset({"c5d", "m5d", "r5d", "g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en"})


def accepts_volume_kms_key(instance_type: str) -> bool:
    """False for instance types whose storage is local NVMe (`ml.g5.xlarge` → family g5)."""
    family = instance_type.removeprefix("ml.").split(".")[0]
    return family not in LOCAL_NVME_FAMILIES


def _component_rollout(plan: RolloutPlan, spec: ModelSpec, component: str, alarms: list[str], bake: int) -> dict[str, Any]:
    """A scale-to-zero model's new version is a rolling update of its inference component's copies
    (components.aws.sagemaker_capacity.component_deployment_config: batches of the canary share, all
    at once for blue_green, else 25 %), not an endpoint blue/green update."""
    batch = {"canary": plan.canary_percent, "blue_green": 100}.get(plan.strategy, LINEAR_STEP_PERCENT)
    steps = [{"new_percent": min(pct, 100), "bake_minutes": bake} for pct in range(batch, 100 + batch, batch)]
    return {
        "traffic_steps": steps,
        "rollback": {"automatic": bool(alarms),
                     "by": f"SageMaker's rolling update of inference component {component} rolls back on its CloudWatch alarms "
                           f"for {', '.join(alarms)} during every bake: every copy back to the stable model" if alarms else
                           "nothing: no rollback_on alarm (monitoring disabled or rollback_on empty)"},
        "promote": f"records {plan.version}: SageMaker already replaced every copy of {component} after the last batch",
        "abort": f"inference component {component} is pointed back at the SageMaker Model of {plan.stable_version} (kept, "
                 "found by its tags): a rolling update back to the stable version",
        "second_slot": f"new copies start batch by batch beside the old ones: extra instances only while the update runs "
                       f"(about {bake * len(steps)} minutes of bakes plus copy start-up)",
        "second_slot_minutes": bake * len(steps),
    }


def endpoint_name(spec_name: str, stack: str) -> str:
    """Stable per (model, stack) so dev and prod stacks in one account never collide."""
    return fit(f"{spec_name}-{stack}", SAGEMAKER_NAME_LIMIT, invalid=SAGEMAKER_NAME_INVALID)


class SageMakerTarget(Target):
    NAME = "sagemaker"
    UNSUPPORTED = {
        "spot": "SageMaker real-time endpoints bill on-demand only; spot capacity is for training jobs",
        "auth_none": "SageMaker endpoints are invoked through the SageMaker Runtime API, which always requires "
                     "AWS SigV4-signed requests from an IAM principal with sagemaker:InvokeEndpoint",
    }

    def place(self, spec: ModelSpec, stack: AnyStack) -> Placement:
        assert isinstance(stack, SageMakerStack)
        diagnostics: list[Diagnostic] = []

        def add(level: str, field: str, message: str) -> None:
            diagnostics.append(Diagnostic(level, spec.name, field, message))  # type: ignore[arg-type]

        a, r = spec.autoscaling, spec.rollout
        # scale-to-zero → inference components; queue_depth → an asynchronous endpoint (sagemaker_capacity)
        mode = capacity_mode(spec)
        diagnostics.extend(capacity_diagnostics(spec, mode))
        if spec.network.auth == "none":
            add("error", "network.auth", f"network.auth is none, but {self.UNSUPPORTED['auth_none']}. "
                "To fix: set network.auth: token (callers sign with IAM credentials), or put an "
                "authenticating front end (API Gateway) before the endpoint on another stack")
        if spec.network.public:
            add("warning", "network.public",
                "SageMaker has no public URL: callers on the internet reach the endpoint through the public "
                "SageMaker Runtime API with SigV4-signed requests, and only IAM principals allowed "
                "sagemaker:InvokeEndpoint get through. The stack's subnets (if any) only carry the model container's "
                "own traffic")
        if spec.spot:
            add("warning", "spot", f"{self.UNSUPPORTED['spot']}: the endpoint is priced and run on-demand")
        if r.strategy == "canary" and r.percent > MAX_CANARY_PERCENT:
            add("error", "rollout.canary_percent",
                f"SageMaker sends a canary at most {MAX_CANARY_PERCENT} % of the new fleet's capacity; {r.percent} % is more. "
                f"To fix: set canary_percent ≤ {MAX_CANARY_PERCENT}, or strategy blue_green (all at once after the bake)")
        if r.strategy != "rolling" and r.bake_minutes * 60 > MAX_WAIT_SECONDS:
            add("warning", "rollout.bake_minutes",
                f"SageMaker waits at most {MAX_WAIT_SECONDS // 60} minutes between traffic-shifting steps: the "
                f"{r.bake_minutes}-minute bake is shortened to {MAX_WAIT_SECONDS // 60} minutes")

        diagnostics.extend(self._monitoring(spec))

        offer, problems = choose_offer(spec, stack, "sagemaker", spot=False)
        diagnostics.extend(problems)
        if offer is not None and stack.kms_key_arn and not accepts_volume_kms_key(offer.instance_type):
            add("warning", "modelfleet:kms_key_arn",
                f"{offer.instance_type} keeps the model on local NVMe storage, which AWS encrypts with a hardware key; "
                "SageMaker accepts no KMS key for such instances, so the stack's key encrypts data capture and asynchronous results only")
        gpus = spec.resources.accelerator.count if spec.resources.accelerator else 0
        image = ""
        if offer is not None:
            image, image_problems = sagemaker_image(spec, stack, offer.instance_type)
            diagnostics.extend(image_problems)
            diagnostics.extend(container_environment(spec, offer.gpu_count if gpus else 0)[1])

        name = spec.name
        endpoint = endpoint_name(spec.name, stack.stack)
        region = stack.region or "us-east-1"
        names = {
            "endpoint": endpoint,
            "variant": VARIANT,
            "url": f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{endpoint}/invocations",
            "log_group": f"/aws/sagemaker/Endpoints/{endpoint}",
            **capacity_names(spec, mode, endpoint),
        }
        return placement_for(spec, stack, self.NAME, name=name, namespace="",
                             accelerator=offer.accelerator if offer and gpus else None, gpus_per_replica=gpus,
                             min_replicas=a.floor if mode != "instances" else max(a.floor, 1), image=image, offer=offer, names=names, diagnostics=diagnostics)

    @staticmethod
    def _monitoring(spec: ModelSpec) -> list[Diagnostic]:
        m, r = spec.monitoring, spec.rollout
        out = []
        if not m.enabled:
            if r.rollback_on:
                out.append(Diagnostic("warning", spec.name, "monitoring.enabled",
                                      f"monitoring is disabled, so no CloudWatch alarms exist and the {r.strategy} update "
                                      f"has no automatic rollback on {', '.join(r.rollback_on)}. To fix: remove "
                                      "monitoring.enabled: false (the same alarms then page and roll back), or set "
                                      "rollout.rollback_on: [] to state that no rollback is wanted"))
            if m.data_capture.sample_percent > 0:
                out.append(Diagnostic("warning", spec.name, "monitoring.data_capture.sample_percent",
                                      "monitoring is disabled, so no data capture is configured. To fix: set "
                                      "sample_percent: 0, or enable monitoring"))
        elif 0 < m.data_capture.sample_percent and not float(m.data_capture.sample_percent).is_integer():
            out.append(Diagnostic("warning", spec.name, "monitoring.data_capture.sample_percent",
                                  f"SageMaker samples whole percents: {m.data_capture.sample_percent:g} % becomes "
                                  f"{max(1, round(m.data_capture.sample_percent))} %"))
        return out

    def check_stack(self, stack: AnyStack, placements: list[Placement]) -> list[Diagnostic]:
        assert isinstance(stack, SageMakerStack)
        out: list[Diagnostic] = []
        if stack.security_group_ids and not stack.subnet_ids:
            out.append(Diagnostic("error", "", "modelfleet:subnet_ids",
                                  "security_group_ids without subnet_ids: a SageMaker VPC config needs both. "
                                  "To fix: add the private subnets, or drop security_group_ids"))
        if stack.subnet_ids and not stack.security_group_ids:
            out.append(Diagnostic("error", "", "modelfleet:security_group_ids",
                                  "subnet_ids without security_group_ids: a SageMaker VPC config needs both. "
                                  "To fix: add a security group that allows the container's egress to S3/ECR endpoints"))
        return out

    def rollout_wiring(self, plan: RolloutPlan, spec: ModelSpec, stack: AnyStack) -> dict[str, Any]:
        """SageMaker shifts traffic and rolls back by itself during the update (native blue/green)."""
        bake = min(plan.bake_minutes * 60, MAX_WAIT_SECONDS) // 60
        if plan.strategy == "canary":
            steps = [{"new_percent": plan.canary_percent, "bake_minutes": bake}, {"new_percent": 100, "bake_minutes": bake}]
        elif plan.strategy == "blue_green":
            steps = [{"new_percent": 100, "bake_minutes": bake}]
        else:
            steps = [{"new_percent": pct, "bake_minutes": bake} for pct in range(LINEAR_STEP_PERCENT, 101, LINEAR_STEP_PERCENT)]
        alarms = list(plan.rollback_on) if spec.monitoring.enabled else []
        endpoint = endpoint_name(spec.name, stack.stack)
        wiring: dict[str, Any] = {
            "traffic_steps": steps,
            "rollback": {"automatic": bool(alarms),
                         "by": f"SageMaker auto-rollback on its CloudWatch alarms for {', '.join(alarms)} during every bake: all traffic "
                               "back to the stable (blue) fleet" if alarms else
                               "nothing: no rollback_on alarm (monitoring disabled or rollback_on empty)"},
            "promote": f"records {plan.version}: SageMaker already moved all traffic to it after the last bake and "
                       "terminated the stable fleet",
            "abort": f"endpoint {endpoint} is pointed back at the endpoint configuration of {plan.stable_version} (kept, "
                     "found by its tags): a blue/green update back to the stable version",
            "second_slot": f"the new (green) fleet at full size only while SageMaker shifts traffic: about "
                           f"{bake * (len(steps) + 1)} minutes of bakes plus instance start-up",
            # for cost: the second slot is transient (bakes + the termination wait), not a monthly figure
            "second_slot_minutes": bake * (len(steps) + 1),
        }
        if capacity_mode(spec) == "components":
            wiring.update(_component_rollout(plan, spec, endpoint, alarms, bake))
        if plan.phase == "aborted":
            wiring["traffic_steps"] = []
        elif plan.strategy == "blue_green":
            wiring["traffic"] = {plan.stable_version: 0, plan.version: 100}  # SageMaker switches at once, then bakes
        return wiring
