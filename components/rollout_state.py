"""A model's rollout state on the stack, as a resource the policy pack can read.

`RolloutState(name, RolloutStateArgs, opts)` registers the type `modelfleet:rollout:RolloutState`
with no children and no cloud API behind it: it costs nothing and creates nothing. It exists so
the rollout facts — which live in Git (the spec's `version`, the stack's `modelfleet:stable`,
the commit that set the version) — are part of the plan, where rules see them both in
`modelfleet check` and in `pulumi preview --policy-pack policies` (stack policies receive every
resource's outputs, so the same facts are registered as inputs and as outputs).

Properties (wire names): `model`, `stack`, `phase` (first_deploy | steady | in_progress | aborted,
`modelfleet.rollout.Phase`), `strategy`, `version` (the spec's), `stableVersion`, `canaryPercent`,
`bakeMinutes`, `rollbackOn`, `startedAt` (UTC, when a rollout is in progress and Git tells it)
and `startedAtNote` (how it was found, or why it is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from modelfleet.rollout import STATE_TYPE, RolloutPlan
from modelfleet.rollout_clock import Started


@dataclass(frozen=True)
class RolloutStateArgs:
    """`plan`: the model's rollout on the stack; `started`: when its version was set (None outside a rollout)."""

    plan: RolloutPlan
    started: Started | None = None

    def properties(self) -> dict[str, Any]:
        plan, started = self.plan, self.started
        return {
            "model": plan.model, "stack": plan.stack, "phase": plan.phase, "strategy": plan.strategy,
            "version": plan.version, "stableVersion": plan.stable_version,
            "canaryPercent": plan.canary_percent if plan.strategy == "canary" else None,
            "bakeMinutes": plan.bake_minutes, "rollbackOn": list(plan.rollback_on),
            "startedAt": started.at if started else None,
            "startedAtNote": started.note if started else "no rollout in progress",
        }


class RolloutState(pulumi.ComponentResource):
    def __init__(self, name: str, args: RolloutStateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props = args.properties()
        super().__init__(STATE_TYPE, name, props, opts)
        self.register_outputs(props)
