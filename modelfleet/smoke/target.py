"""What `modelfleet smoke` asks one model: its protocol, port, readiness path and sample request.

Contract:
- `protocol_data()` → the bundled `data/smoke_protocols.yaml` (request paths and bodies per
  protocol, each with its upstream source).
- `smoke_target(spec_path, spec, server_name, engine)` → `SmokeTarget`. `engine` is
  "deployment" or "kserve" (how a Kubernetes stack serves it) and picks the protocol
  (`protocol_for[engine][runtime]`); port and readiness path come from the runtime profile
  (`modelfleet.runtimes.profile_for`);
  the spec's `smoke` section gives the request path, method, expected status, model name and
  the sample body (`body_file`, relative to the spec file, parsed as JSON).
- A `body_file` that does not exist or is not JSON raises `SmokeInputError` (exit 2) naming the
  spec file, the field, the value and how to fix it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from modelfleet.errors import ModelfleetError
from modelfleet.spec import ModelSpec


class SmokeInputError(ModelfleetError):
    """The smoke test was asked for something that cannot be (unknown model, bad sample file): exit 2."""


class SmokeEnvironmentError(ModelfleetError):
    """No credentials, no kubeconfig context, a missing package: exit 3."""

    exit_code = 3


@lru_cache(maxsize=1)
def protocol_data() -> dict[str, Any]:
    text = resources.files("modelfleet.data").joinpath("smoke_protocols.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def fact(protocol: str, key: str, **values: str) -> Any:
    """One request fact of a protocol (its `value`), with `{model}`-style placeholders filled."""
    value = protocol_data()["protocols"][protocol][key]["value"]
    return value.format(**values) if isinstance(value, str) else value


@dataclass(frozen=True)
class SmokeTarget:
    model: str            # the spec name
    server_model: str     # the name the server knows the model by
    runtime: str
    protocol: str
    port: int
    readiness_path: str
    auth: str             # token | none (spec.network.auth)
    path: str | None      # spec.smoke.path
    method: str
    expect_status: int
    sample: Any = None    # parsed spec.smoke.body_file
    has_sample: bool = False


def _runtime_facts(spec: ModelSpec, engine: str) -> tuple[int, str]:
    """Port and readiness path of the server, from the runtime profile (spec overrides applied)."""
    from modelfleet.runtimes import profile_for

    profile = profile_for(spec, engine)
    return int(profile.port), str(profile.readiness_path)


def load_sample(spec_path: Path, spec: ModelSpec) -> tuple[Any, bool]:
    body_file = spec.smoke.body_file
    if body_file is None:
        return None, False
    path = (spec_path.parent / body_file).resolve()
    where = f"{spec_path}: smoke.body_file: {body_file!r}"
    try:
        return json.loads(path.read_text(encoding="utf-8")), True
    except FileNotFoundError as e:
        raise SmokeInputError(f"{where}: no such file ({path}). Allowed: a JSON file relative to the spec file. "
                              "To fix: create it with one sample request, or correct the path") from e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise SmokeInputError(f"{where}: not JSON ({e}). Allowed: a JSON document (the request body). "
                              "To fix: write the sample request as JSON") from e


def smoke_target(spec_path: Path, spec: ModelSpec, server_name: str, engine: str) -> SmokeTarget:
    protocol = protocol_data()["protocol_for"]["kserve" if engine == "kserve" else "deployment"][spec.serving.runtime]
    port, readiness = _runtime_facts(spec, engine)
    sample, has_sample = load_sample(spec_path, spec)
    return SmokeTarget(model=spec.name, server_model=spec.smoke.model_name or server_name, runtime=spec.serving.runtime,
                       protocol=protocol, port=port, readiness_path=readiness, auth=spec.network.auth,
                       path=spec.smoke.path, method=spec.smoke.method, expect_status=spec.smoke.expect_status,
                       sample=sample, has_sample=has_sample)
