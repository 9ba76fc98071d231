"""The committed JSON Schemas match the models, and the example manifests satisfy them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from reconciler.manifest import schema
from reconciler.manifest.document import read_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current() -> None:
    for name, text in schema.generate().items():
        committed = (ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert committed == text, (
            f"schemas/{name} is stale: run `python -m reconciler.manifest.schema`"
        )


def _plain(value: object) -> object:
    """YAML dates as the editor sees them: strings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def test_example_manifests_satisfy_the_schema_they_name() -> None:
    expected = {"reconciler.yaml": "settings.schema.json"}
    for path in sorted((ROOT / "manifests").glob("*.yaml")):
        first_line = path.read_text().splitlines()[0]
        prefix = "# yaml-language-server: $schema=../schemas/"
        assert first_line.startswith(prefix), path
        named = first_line.removeprefix(prefix).strip()
        kind = "test.schema.json" if path.name.endswith(".test.yaml") else "manifest.schema.json"
        assert named == expected.get(path.name, kind), path
        data = _plain(read_yaml(path, path.name).data)
        jsonschema.validate(data, json.loads((ROOT / "schemas" / named).read_text()))


def test_schema_rejects_an_unknown_key() -> None:
    manifest_schema = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
    bad = {"calculated_attributes": [{"name": "x", "definiton": {}}]}
    validator = jsonschema.Draft202012Validator(manifest_schema)
    assert any("definiton" in error.message for error in validator.iter_errors(bad))


def test_schema_allows_top_level_anchor_keys_as_the_loader_does() -> None:
    """README's `x-rolling-week: &week ...` example: the loader ignores `x-` keys, so the
    editor must not flag them."""
    manifest_schema = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(manifest_schema)
    week = {"type": "within", "within": 7, "within_unit": "days"}
    definition = {
        "calculation_type": "count",
        "datapoint": {"event_type": "session_start"},
        "time_period": week,
    }
    good = {
        "x-rolling-week": week,
        "calculated_attributes": [{"name": "S", "definition": definition}],
    }
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({"rolling-week": week})) != []
