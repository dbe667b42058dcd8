"""Cloud names two stacks would both claim.

SageMaker endpoint, endpoint-config, model and alarm names are unique per account and
region; Azure ML online endpoint names per region (the scoring URI is
`<name>.<region>.inference.ml.azure.com`). Names derive from model and stack names, so two
different stacks can produce one name (`x-prod` + model `m` and `prod` + model `m-x` both
give SageMaker endpoint `m-x-prod`): the second `pulumi up` would fail, or worse, adopt the
first stack's endpoint and alarms. Stacks are assumed to share an account: the file says
nothing else.

Contract: `collision_problems(placements)` → one located `Problem` per stack whose generated
name another stack already uses in the same target and region.
"""

from __future__ import annotations

from pathlib import Path

from modelfleet.environment import target_of
from modelfleet.errors import Problem, SpecError
from modelfleet.placed import StackPlacement
from modelfleet.yamlmarks import load_yaml, read_source

# per target: the Placement.names entries that must be unique per account and region
UNIQUE_NAMES = {"sagemaker": ("endpoint",), "azureml": ("endpoint",)}


def _line(file: str) -> int | None:
    try:
        _, marks = load_yaml(read_source(Path(file)), file)
    except SpecError:
        return None
    return marks.locate(("config", "modelfleet:models"))[0] or marks.locate(("config", "modelfleet:platform"))[0]


def collision_problems(placements: list[StackPlacement]) -> list[Problem]:
    owners: dict[tuple[str, str, str], tuple[str, str]] = {}
    problems: list[Problem] = []
    for sp in sorted(placements, key=lambda s: s.stack.stack):
        target = target_of(sp.stack)
        for p in sp.placements:
            for role in UNIQUE_NAMES.get(target, ()):
                name = p.names.get(role)
                if not name:
                    continue
                key = (target, sp.stack.region or "", name)
                first = owners.setdefault(key, (sp.stack.stack, p.model))
                if first[0] != sp.stack.stack:
                    problems.append(Problem(
                        sp.stack.file, f"model {p.model!r} on stack {sp.stack.stack!r} gets {target} {role} name {name!r}, which "
                        f"model {first[1]!r} on stack {first[0]!r} already gets in {sp.stack.region or 'the same region'}",
                        line=_line(sp.stack.file), field="config.modelfleet:models", value=name,
                        allowed=f"{target} {role} names unique per account and region",
                        fix="rename one of the two stacks or models, or leave the model out of one stack's modelfleet:models"))
    return problems
