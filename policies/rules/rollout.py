"""Rollout rules: a production rollout can be rolled back, and a second slot lives no longer than
its rollout needs it.

The facts come from the plan: each model's `modelfleet:rollout:RolloutState` (phase, versions,
bake time, rollback conditions, when the rollout started — see components/rollout_state.py) and
the serving resources that make up a slot. A slot is seen as:

* a serving resource of the model with a version marker — the `modelfleet:version` tag (an Azure
  ML deployment, a SageMaker endpoint) or the `app.kubernetes.io/version` label (a Deployment,
  StatefulSet or InferenceService); two distinct versions are two slots;
* a KServe InferenceService with `spec.predictor.canaryTrafficPercent` set: KServe keeps the
  previous revision running beside the new one (kserve v0.15.2 InferenceService CRD,
  tests/fixtures/crds/kserve-v0.15.2-inferenceservices.yaml);
* an Argo Rollout holding a blue/green preview: `spec.strategy.blueGreen.autoPromotionEnabled`
  false and `previewReplicaCount` unset (preview at full size) or above 0 (argo-rollouts v1.9.1
  Rollout CRD, tests/fixtures/crds/argo-rollouts-v1.9.1-rollouts.yaml). An Argo canary weighted by
  replica ratio splits the existing replicas between versions instead of adding a second set,
  so it is not a doubled capacity (MF-ROL-003 only).

A SageMaker blue/green update runs its second fleet only while SageMaker shifts traffic, then
terminates the old one by itself; the plan holds one endpoint, so it is never reported here.

`MF-ROL-003` compares the rollout's start with `now` (param; empty = the clock when the rule
runs). A rollout whose start is unknown (spec outside Git, change not committed, shallow clone)
is skipped; `modelfleet check` prints why next to the rollout.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import _util as u
from ._rule import Rule, environments_param

IN_PROGRESS = ("in_progress", "aborted")
ONE_SLOT = ("first_deploy", "steady")
SLOT_TYPES = (*u.K8S_POD_WORKLOADS, u.ISVC, u.AML_DEPLOYMENT, u.SM_ENDPOINT)
CANARY_FIELD = "spec.predictor.canaryTrafficPercent"


def states(resources: list[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """(resource name, props) of every RolloutState that names its model."""
    return [(str(r.get("name")), u.as_map(r.get("props"))) for r in resources
            if r.get("type") == u.ROLLOUT_STATE and u.get(r.get("props"), "model")]


def holds_preview(props: Any) -> bool:
    """An Argo blue/green Rollout keeping the new version's preview pods next to the active ones."""
    blue_green = u.get(props, "spec.strategy.blueGreen")
    if not u.is_map(blue_green) or blue_green.get("autoPromotionEnabled") is not False:
        return False
    preview = u.num(blue_green.get("previewReplicaCount"))
    return preview is None or preview > 0


def slots(resources: list[Mapping[str, Any]], model: str) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """({version: [resource names]}, [InferenceServices holding a canary revision], [Argo Rollouts
    holding a blue/green preview]) of the model."""
    versions: dict[str, list[str]] = {}
    canaries: list[str] = []
    previews: list[str] = []
    for r in resources:
        props, kind = r.get("props"), r.get("type")
        if kind not in (*SLOT_TYPES, u.ARGO_ROLLOUT) or u.model_of(props) != model:
            continue
        version = u.version_of(props)
        if version and kind in SLOT_TYPES:
            versions.setdefault(version, []).append(str(r.get("name")))
        if kind == u.ISVC and u.get(props, CANARY_FIELD) is not None:
            canaries.append(str(r.get("name")))
        if kind == u.ARGO_ROLLOUT and holds_preview(props):
            previews.append(str(r.get("name")))
    return versions, canaries, previews


def _where(state: Mapping[str, Any]) -> str:
    return f"{state.get('model')} on stack {state.get('stack') or '?'}"


def rollback_conditions(resources: list[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not u.in_environments(config, ["prod"]):
        return []
    found = []
    for name, state in states(resources):
        if u.as_list(state.get("rollbackOn")):
            continue
        if state.get("phase") in IN_PROGRESS:
            what = f"the rollout {state.get('stableVersion')} → {state.get('version')} has nothing that rolls it back"
        else:
            what = "its next version change will roll out with nothing that rolls it back"
        found.append((name, f"{_where(state)}: rollout.rollback_on is empty, so {what} in {u.environment(config)}. "
                            "To fix: set rollout.rollback_on (error_rate, latency_p99) in the model spec"))
    return found


def left_behind(resources: list[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for _, state in states(resources):
        if state.get("phase") not in ONE_SLOT:
            continue
        model, version = str(state.get("model")), str(state.get("version"))
        why = (f"{version} is the stable version (modelfleet:stable)" if state.get("phase") == "steady"
               else "it has no stable version yet (first deploy), so only one slot runs")
        versions, canaries, _ = slots(resources, model)
        for other, names in sorted(versions.items()):
            if other == version:
                continue
            found += [(name, f"{_where(state)}: {why}, but this resource still runs version {other}: a second slot "
                             "left behind keeps paying for a version nothing should serve. To fix: drop the "
                             f"{other} slot from the program (after `modelfleet promote` the stack registers only {version}); "
                             f"if {other} should serve, restore it in the spec or record it with `modelfleet abort`")
                      for name in names]
        found += [(name, f"{_where(state)}: {why}, but {CANARY_FIELD} is still set, so KServe keeps a second "
                         "revision and splits traffic to it. To fix: remove canaryTrafficPercent (promote removes it "
                         "on the next deploy)") for name in canaries]
    return found


def _parse(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _duration(minutes: float) -> str:
    hours, mins = divmod(int(minutes), 60)
    days, hours = divmod(hours, 24)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "min")) if n) or "0 min"


def overdue(resources: list[Mapping[str, Any]], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    given = str(u.param(config, "now", "") or "").strip()
    now = _parse(given) if given else datetime.now(UTC)
    if now is None:
        return [(name, f"MF-ROL-003.now {given!r} is not an ISO 8601 time, so how long the rollout of {_where(state)} "
                       "has run cannot be told. To fix: set it like 2026-12-01T09:30:00Z, or leave it empty for the clock")
                for name, state in states(resources) if state.get("phase") in IN_PROGRESS]
    found = []
    for name, state in states(resources):
        started = _parse(state.get("startedAt")) if state.get("startedAt") else None
        bake = u.num(state.get("bakeMinutes"))
        if state.get("phase") not in IN_PROGRESS or started is None or bake is None:
            continue
        model = str(state.get("model"))
        versions, canaries, previews = slots(resources, model)
        if len(versions) < 2 and not canaries and not previews:
            continue  # one slot in the plan: nothing doubles
        elapsed = (now - started).total_seconds() / 60
        if elapsed <= bake:
            continue
        stack, new, stable = state.get("stack"), state.get("version"), state.get("stableVersion")
        if state.get("phase") == "aborted":
            fix = (f"change version in the spec to roll out a fix, or restore {stable} there, so the {new} slot is "
                   f"removed (or `modelfleet promote {model} --stack {stack}` to accept {new})")
        else:
            fix = (f"`modelfleet promote {model} --stack {stack}` if {new} is healthy, or `modelfleet abort {model} "
                   f"--stack {stack}` and then change the spec's version")
        found.append((name, f"{_where(state)}: {stable} and {new} have both been running since {state.get('startedAt')} "
                            f"({_duration(elapsed)}), longer than the bake time of {u.fmt(bake)} min: the second slot "
                            f"doubles the model's capacity until the rollout is promoted or aborted. To fix: {fix}"))
    return found


def _r(rule_id: str, level: Any, desc: str, why: str, fn: Any, params: Mapping[str, Any] | None = None) -> Rule:
    return Rule(rule_id, "rollout", level, desc, why, (), "stack", fn, (), params or {})


RULES = [
    _r("MF-ROL-001", "advisory", "Production rollouts name the conditions that roll them back",
       "A canary or blue/green rollout without rollback_on keeps serving a bad version until someone notices.",
       rollback_conditions, environments_param(["prod"])),
    _r("MF-ROL-002", "mandatory", "No second slot is left behind after a rollout ends",
       "After promote one version serves; an old deployment or canary revision that stays keeps costing a full slot.",
       left_behind),
    _r("MF-ROL-003", "advisory", "A rollout does not double capacity for longer than its bake time",
       "A second slot is there to bake the new version; once the bake is over, promote or abort ends the extra cost.",
       overdue, {"now": {"type": "string", "default": "",
                         "description": "Evaluate at this UTC time (ISO 8601) for reproducible reports; empty = the clock."}}),
]
