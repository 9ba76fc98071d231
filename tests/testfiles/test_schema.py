"""The committed JSON Schema of test files matches the models, and catches mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from reconciler.testfiles import schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "schemas" / schema.NAME).read_text(encoding="utf-8")
    assert committed == schema.generate(), (
        f"schemas/{schema.NAME} is stale: run `python -m reconciler.testfiles.schema`"
    )


def test_schema_flags_a_misspelt_event_field_and_allows_anchors() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(schema.generate()))
    event = {"event_type": "custom_event", "data": {"timestamp_unixtime_ms": 1, "evnt_name": 1}}
    bad = {"as_of": "2024-01-01T00:00:00Z", "users": {"a": {"events": [event]}}, "expect": {}}
    assert any("evnt_name" in error.message for error in validator.iter_errors(bad))
    good = {"as_of": "2024-01-01T00:00:00Z", "users": {}, "expect": {}, "x-shared": [1]}
    assert list(validator.iter_errors(good)) == []
