"""The usage file behind `cost --usage FILE`: average replicas per model per environment.

Format (YAML): `{<environment>: {<model>: <average replicas>}}`, e.g.

    prod:
      llama3-8b-chat: 3.5
      resnet50-vision: 2

Contract: `load_usage(path, models, environments)` validates every key against the known
models (spec names) and environments (those of the stacks and specs) and raises one
`SpecError` (exit 2) listing each problem with file, line, field, value and the fix.
`Usage.averages_for(environment)` gives the model → average map the engine uses; models
the file does not name keep expected = min, and averages are clamped to the replica bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from modelfleet.errors import Problem, SpecError
from modelfleet.yamlmarks import load_yaml, read_source


@dataclass(frozen=True)
class Usage:
    file: str
    averages: dict[str, dict[str, Decimal]]

    def averages_for(self, environment: str) -> dict[str, Decimal]:
        return dict(self.averages.get(environment, {}))


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def parse_usage(text: str, file: str, models: set[str], environments: set[str]) -> Usage:
    data, marks = load_yaml(text, file)
    if not isinstance(data, dict):
        raise SpecError([Problem(file, "a usage file maps environments to {model: average replicas}", line=1,
                                 fix="write e.g. `prod: {llama3-8b-chat: 2.5}`")])
    problems: list[Problem] = []
    averages: dict[str, dict[str, Decimal]] = {}
    for env, per_model in data.items():
        line = marks.locate((env,))[0]
        if str(env) not in environments:
            problems.append(Problem(file, "unknown environment", line=line, field=str(env), value=env,
                                    allowed=", ".join(sorted(environments)) or "none",
                                    fix="use an environment of a stack in stacks/ (modelfleet:environment)"))
            continue
        if not isinstance(per_model, dict):
            problems.append(Problem(file, "expected a mapping of model → average replicas", line=line, field=str(env),
                                    fix=f"write `{env}: {{<model>: <average replicas>}}`"))
            continue
        averages[str(env)] = {}
        for model, value in per_model.items():
            where = marks.locate((env, model))[0]
            if str(model) not in models:
                problems.append(Problem(file, "unknown model", line=where, field=f"{env}.{model}", value=model,
                                        allowed=", ".join(sorted(models)) or "none",
                                        fix="use the `name` of a spec in model_specs/"))
                continue
            number = _number(value)
            if number is None:
                problems.append(Problem(file, "average replicas must be a number ≥ 0", line=where, field=f"{env}.{model}",
                                        value=value, fix="write the average replica count over a month, e.g. 2.5"))
                continue
            averages[str(env)][str(model)] = number
    if problems:
        raise SpecError(problems)
    return Usage(file=file, averages=averages)


def load_usage(path: Path, models: set[str], environments: set[str]) -> Usage:
    return parse_usage(read_source(path), str(path), models, environments)
