"""The checked-in JSON Schema is current, and the preview of one example stack matches its golden file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from modelfleet.cli import app
from modelfleet.spec import json_schema

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "preview_lab-dev.json"


def test_schema_json_is_fresh() -> None:
    checked_in = json.loads((ROOT / "model_specs" / "schema.json").read_text())
    assert checked_in == json_schema(), "model_specs/schema.json is stale: run `modelfleet schema`"


def test_every_bundled_spec_validates_against_the_schema() -> None:
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "model_specs" / "schema.json").read_text())
    for path in sorted((ROOT / "model_specs").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_preview_json_matches_golden() -> None:
    result = CliRunner().invoke(app, ["preview", "--stack", "lab-dev", "--format", "json", "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    actual = json.loads(result.output)
    if os.environ.get("MODELFLEET_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert actual == expected, "preview of lab-dev changed: review, then MODELFLEET_UPDATE_GOLDEN=1 pytest tests/test_schema_and_golden.py"


def test_preview_all_bundled_stacks_exit_zero() -> None:
    result = CliRunner().invoke(app, ["preview", "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
