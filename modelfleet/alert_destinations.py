"""Where a stack's alerts can go (`modelfleet:alerts`, DESIGN §4), and what a platform cannot capture.

Contract (pure, no Pulumi; reads the stack file only to point at the offending line):
- `check_destination(stack) -> list[Diagnostic]` — each platform has one destination kind:

  | target          | destination              | other kinds                                         |
  |-----------------|--------------------------|-----------------------------------------------------|
  | sagemaker       | `sns_topic_arn`          | error (also: topic in another region than the stack)|
  | azureml         | `action_group_id`        | error                                               |
  | onprem          | `alertmanager_receiver`  | error                                               |
  | eks             | `alertmanager_receiver`  | `sns_topic_arn`: warning, `action_group_id`: error  |
  | aks             | `alertmanager_receiver`  | `action_group_id`: warning, `sns_topic_arn`: error  |

  No destination at all is allowed everywhere (alerts exist but notify no one; the
  MF-OBS-002 policy flags that in production). On EKS/AKS the cluster's own cloud
  destination is a warning, not an error: Kubernetes alerts are PrometheusRules routed by
  Alertmanager, which modelfleet does not configure, so the topic / action group is not
  wired — the fix is an Alertmanager receiver that forwards there (`sns_configs`, webhook).
- `destination_problems(stack) -> list[Problem]` — the errors above as located `Problem`s
  (file, line, field, value, allowed, fix), for `SpecError` reporting in `validate`.
- `check_capture(stack, placements) -> list[Diagnostic]` — Kubernetes stacks provision no
  request/response capture: a warning per model whose spec samples, naming what to use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from modelfleet.environment import NAMESPACE, AnyStack, target_of
from modelfleet.errors import Problem, SpecError
from modelfleet.plan import Diagnostic
from modelfleet.yamlmarks import load_yaml, read_source

if TYPE_CHECKING:
    from modelfleet.placed import Placement

KINDS = ("sns_topic_arn", "action_group_id", "alertmanager_receiver")
# target → the destination kind its alerts use
NATIVE = {"sagemaker": "sns_topic_arn", "azureml": "action_group_id", "onprem": "alertmanager_receiver",
          "eks": "alertmanager_receiver", "aks": "alertmanager_receiver"}
# Kubernetes targets on a cloud: that cloud's destination is a warning (forward via Alertmanager)
FORWARDABLE = {"eks": "sns_topic_arn", "aks": "action_group_id"}
ALERTS_KEY = f"{NAMESPACE}:alerts"
_WHO = {"sagemaker": "SageMaker CloudWatch alarms notify an SNS topic",
        "azureml": "Azure ML metric alerts notify an Azure Monitor action group",
        "onprem": "on-prem PrometheusRules are routed by Alertmanager",
        "eks": "EKS PrometheusRules are routed by Alertmanager",
        "aks": "AKS PrometheusRules are routed by Alertmanager"}
_FORWARD_HOW = {"sns_topic_arn": "an Alertmanager receiver with sns_configs publishing to that topic "
                                 "(Alertmanager needs sns:Publish, e.g. through EKS Pod Identity)",
                "action_group_id": "an Alertmanager webhook receiver for the action group, or Azure Monitor "
                                   "managed Prometheus alert rules"}


@dataclass(frozen=True)
class _Finding:
    level: Literal["error", "warning"]
    kind: str
    value: str
    message: str
    fix: str


def _findings(stack: AnyStack) -> list[_Finding]:
    target = target_of(stack)
    native = NATIVE[target]
    given = {kind: getattr(stack.alerts, kind) for kind in KINDS if getattr(stack.alerts, kind)}
    out: list[_Finding] = []
    for kind, value in given.items():
        if kind == native:
            continue
        if FORWARDABLE.get(target) == kind:
            unused = "is not used" if native in given else "is not wired"
            out.append(_Finding("warning", kind, value,
                                f"{kind} {unused} on {target} stacks: {_WHO[target]}, which modelfleet does not "
                                "configure; alerts reach the receiver named by alertmanager_receiver only",
                                f"set alertmanager_receiver to {_FORWARD_HOW[kind]}"))
            continue
        out.append(_Finding("error", kind, value,
                            f"{kind} is the wrong alert destination for {target} stacks: {_WHO[target]}",
                            f"replace it with {native} under {ALERTS_KEY}, or remove it"))
    topic = stack.alerts.sns_topic_arn
    if target == "sagemaker" and topic and stack.region:
        topic_region = topic.split(":")[3] if topic.count(":") >= 5 else ""
        if topic_region and topic_region != stack.region:
            out.append(_Finding("error", "sns_topic_arn", topic,
                                f"the SNS topic is in {topic_region} but the stack's alarms are in {stack.region}; "
                                "CloudWatch alarm actions publish only to topics in the alarm's region",
                                f"use a topic in {stack.region} (subscribe it to the on-call topic if needed)"))
    return out


def _line(stack: AnyStack, kind: str) -> int | None:
    """Line of `modelfleet:alerts.<kind>` in the stack file, when the file is readable."""
    try:
        _, marks = load_yaml(read_source(Path(stack.file)), stack.file)
    except SpecError:
        return None
    return marks.locate(("config", ALERTS_KEY, kind))[0]


def _allowed(stack: AnyStack) -> str:
    target = target_of(stack)
    return f"{NATIVE[target]} (or no destination) on {target} stacks"


def check_destination(stack: AnyStack) -> list[Diagnostic]:
    """Diagnostics (stack-level: model "") for the stack's `modelfleet:alerts`."""
    out = []
    for f in _findings(stack):
        line = _line(stack, f.kind)
        where = f"{stack.file}:{line}" if line else stack.file
        out.append(Diagnostic(f.level, "", f"{ALERTS_KEY}.{f.kind}",
                              f"{where}: {f.message} (got {f.value!r}). Allowed: {_allowed(stack)}. To fix: {f.fix}"))
    return out


def destination_problems(stack: AnyStack) -> list[Problem]:
    """The breaking findings as located Problems (raise `SpecError(problems)` → exit 2)."""
    return [Problem(stack.file, f.message, line=_line(stack, f.kind), field=f"config.{ALERTS_KEY}.{f.kind}",
                    value=f.value, allowed=_allowed(stack), fix=f.fix)
            for f in _findings(stack) if f.level == "error"]


def check_capture(stack: AnyStack, placements: list[Placement]) -> list[Diagnostic]:
    """Kubernetes stacks capture requests only through KServe's payload logger, sent to the stack's
    `modelfleet:capture_url`; KServe logs every request, so a sample below 100 % is a warning
    (the sink samples). A model that samples on a stack without a logger gets a warning, not an
    error: the same spec must stay deployable on every platform, and capture is an analysis
    aid, not part of serving — the warning says nothing is captured there and how to fix it."""
    if target_of(stack) not in ("onprem", "eks", "aks"):
        return []
    engine = getattr(stack, "serving", "deployment")
    sink = getattr(stack, "capture_url", None)
    out = []
    for p in placements:
        percent = p.spec.monitoring.data_capture.sample_percent
        if not p.spec.monitoring.enabled or percent <= 0:
            continue
        if engine == "kserve" and sink:
            if percent < 100:
                out.append(Diagnostic("warning", p.model, "monitoring.data_capture.sample_percent",
                                      f"KServe's payload logger sends every request and response to {sink}; sampling "
                                      f"{percent:g} % happens in that sink (documented fallback)"))
            continue
        why = ("plain Deployments have no payload logger" if engine != "kserve"
               else "the stack names no sink for KServe's payload logger")
        out.append(Diagnostic("warning", p.model, "monitoring.data_capture.sample_percent",
                              f"sample_percent is {percent:g} on stack {stack.stack!r} ({stack.file}), but {why}, so nothing "
                              f"is captured here. Allowed: 0 on this stack, or capture through serving: kserve with "
                              f"modelfleet:capture_url. To fix: set monitoring.data_capture.sample_percent: 0 under "
                              f"environments.{stack.environment} in the spec, or add modelfleet:capture_url (kserve stacks)"))
    return out
