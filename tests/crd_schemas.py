"""Validate custom resources against the `openAPIV3Schema` of their upstream CRDs (tests/fixtures/crds).

`validator_for(api_version, kind)` gives a jsonschema validator built from the CRD version's
schema, made as strict as the API server's structural-schema pruning: an object schema that
lists `properties` (or none and no `additionalProperties`) refuses unknown fields unless it
sets `x-kubernetes-preserve-unknown-fields`; `x-kubernetes-int-or-string` accepts an integer or
a string; `nullable` admits null. `metadata` is the API server's own and is checked for the
fields objects carry here (name, namespace, labels, annotations). CEL rules
(`x-kubernetes-validations`) are not evaluated.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRD_DIR = Path(__file__).resolve().parent / "fixtures" / "crds"
METADATA = {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
    "name": {"type": "string"}, "namespace": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}


def _strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) if k in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not") else v
           for k, v in schema.items()}
    if "properties" in out:
        out["properties"] = {name: _strict(sub) for name, sub in schema["properties"].items()}
    if schema.get("x-kubernetes-int-or-string"):
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    if schema.get("type") == "object" and not preserve and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=1)
def crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → strict schema, for every served version of every bundled CRD."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            schema["properties"]["metadata"] = METADATA
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
            found[(f"{group}/{version['name']}", kind)] = schema
    return found


def validator_for(api_version: str, kind: str) -> jsonschema.Draft7Validator | None:
    schema = crds().get((api_version, kind))
    return jsonschema.Draft7Validator(schema) if schema is not None else None


def problems(doc: dict[str, Any]) -> list[str] | None:
    """Schema errors of one custom resource (path: message), [] when valid, None without a bundled CRD."""
    validator = validator_for(doc.get("apiVersion", ""), doc.get("kind", ""))
    if validator is None:
        return None
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
