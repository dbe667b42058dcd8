"""Policy pack entry point run by the Pulumi CLI (`pulumi preview --policy-pack policies`).

Thin on purpose: constructing `PolicyPack` starts a gRPC server that never returns, so
nothing imports this module; tests drive `policies.pack.build_policies` instead.
"""

import importlib
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))
build_policies = importlib.import_module(f"{_HERE.name}.pack").build_policies

PolicyPack(
    name="modelfleet",
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
)
