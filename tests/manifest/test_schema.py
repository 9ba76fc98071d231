"""The committed JSON Schemas match the models, and the example manifests satisfy them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from reconciler.errors import ManifestError
from reconciler.evaluator.values import LAST_MILLIS
from reconciler.manifest import schema
from reconciler.manifest.document import read_yaml
from reconciler.manifest.files import parse_file
from reconciler.manifest.settings_file import load_settings
from reconciler.models import CalculatedAttribute
from reconciler.testfiles.model import SuiteFile

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current() -> None:
    for name, text in schema.generate().items():
        committed = (ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert committed == text, (
            f"schemas/{name} is stale: run `python -m reconciler.manifest.schema`"
        )


@pytest.mark.parametrize(
    ("module", "written"),
    [
        ("reconciler.manifest.schema", {"manifest.schema.json", "settings.schema.json"}),
        ("reconciler.testfiles.schema", {"test.schema.json"}),
    ],
)
def test_an_installed_package_writes_the_schemas_in_the_current_directory(
    tmp_path: Path, module: str, written: set[str]
) -> None:
    """Installed (no checkout around the package), `python -m` writes `./schemas/`, not a
    `schemas/` folder in site-packages that no package owns (and that a read-only install
    refuses with a traceback)."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        ROOT / "reconciler", site / "reconciler", ignore=shutil.ignore_patterns("__pycache__")
    )
    work = tmp_path / "repo"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    subprocess.run([sys.executable, "-m", module], cwd=work, env=env, check=True)
    assert {path.name for path in (work / "schemas").iterdir()} == written
    assert not (site / "schemas").exists()


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


#: Date spellings a person writes: the editor's schema and the validator must agree on each.
DATES = [
    "2019-10-01",
    "2019-10-01T10:30:00",  # the API's spelling, as `export` writes it
    "2019-10-01T10:30",
    "2019-10-01 10:30:00",
    "2019-10-01T10:30:00Z",
    "2019-10-01T10:30:00+02:00",
    "2019-10-01T10:30:00-0500",
    "2019-10-01T10:30:00.000",
    "10/01/2019",
    "20191001",
    "2019-13-01",
    "2019-10-01T10",
    "2019-10-01T25:00:00",
    "2019-10-01T10:30:00.5",
    "2019-10-01T10:30:00+02",
    "yesterday",
]


def _takes(model: type[BaseModel], data: object) -> bool:
    """Whether the model (its rules too) takes `data`."""
    try:
        model.model_validate(data)
    except ValidationError:
        return False
    return True


def _editor_validator(name: str) -> jsonschema.Draft202012Validator:
    """As an editor checks: formats too (yaml-language-server checks `date-time` as RFC 3339)."""
    loaded = json.loads((ROOT / "schemas" / name).read_text())
    return jsonschema.Draft202012Validator(loaded, format_checker=_RFC3339)


_RFC3339 = jsonschema.FormatChecker()


@_RFC3339.checks("date-time")
def _date_time(text: object) -> bool:
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)"
    return not isinstance(text, str) or re.fullmatch(pattern, text) is not None


@_RFC3339.checks("date")
def _date(text: object) -> bool:
    return not isinstance(text, str) or re.fullmatch(r"\d{4}-\d\d-\d\d", text) is not None


def test_schema_and_validator_agree_on_dates() -> None:
    validator = _editor_validator("manifest.schema.json")
    for text in DATES:
        definition = {
            "calculation_type": "count",
            "datapoint": {"event_type": "session_start"},
            "time_period": {"type": "since", "date": text},
            "seeding": {"cutoff_date": text},
        }
        data = {"calculated_attributes": [{"name": "X", "definition": definition}]}
        by_schema = not list(validator.iter_errors(data))
        by_validator = _takes(CalculatedAttribute, data["calculated_attributes"][0])
        assert by_schema == by_validator, (text, by_schema, by_validator)


def test_test_schema_and_loader_agree_on_as_of() -> None:
    validator = _editor_validator("test.schema.json")
    for text in DATES:
        data = {"as_of": text, "users": {}, "expect": {}}
        by_schema = not list(validator.iter_errors(data))
        by_loader = _takes(SuiteFile, data)
        assert by_schema == by_loader, (text, by_schema, by_loader)


def test_schema_takes_either_spelling_of_datapoint_as_the_validator_does() -> None:
    validator = jsonschema.Draft202012Validator(
        json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
    )
    point = {"event_type": "session_start"}
    period = {"type": "within", "within": 7, "within_unit": "days"}
    spellings = [
        {"datapoint": point},
        {"data_point": point},
        {},
        {"datapoint": point, "data_point": point},
    ]
    for spelling in spellings:
        definition = {"calculation_type": "count", "time_period": period, **spelling}
        data = {"calculated_attributes": [{"name": "X", "definition": definition}]}
        by_schema = not list(validator.iter_errors(data))
        by_validator = _takes(CalculatedAttribute, data["calculated_attributes"][0])
        assert by_schema == by_validator, (spelling, by_schema, by_validator)


def _file_of(definition: Mapping[str, object], **ca: object) -> dict[str, object]:
    return {"calculated_attributes": [{"name": "X", **ca, "definition": definition}]}


_POINT = {"event_type": "session_start"}
_WEEK = {"type": "within", "within": 7, "within_unit": "days"}
_GOOD: dict[str, object] = {"calculation_type": "count", "datapoint": _POINT, "time_period": _WEEK}
_CONDITION = {"type": "string", "operator": "in_list", "attribute_name": "Channel"}


#: Manifest files (as data) on which an editor's schema and `validate` must agree: the
#: rules of one field, and what the loader takes of a whole file.
FILES: list[tuple[str, object]] = [
    ("a good CA", _file_of(_GOOD)),
    ("within 0", _file_of({**_GOOD, "time_period": {**_WEEK, "within": 0}})),
    ("within 2**31", _file_of({**_GOOD, "time_period": {**_WEEK, "within": 2**31}})),
    ("within 2**31-1", _file_of({**_GOOD, "time_period": {**_WEEK, "within": 2**31 - 1}})),
    ("time period all", _file_of({**_GOOD, "time_period": {"type": "all"}})),
    ("a blank name", {"calculated_attributes": [{"name": " ", "definition": _GOOD}]}),
    ("a blank renamed_from", _file_of(_GOOD, renamed_from="")),
    (
        "a blank event name",
        _file_of({**_GOOD, "datapoint": {"event_type": "custom_event", "event_name": " "}}),
    ),
    (
        "a custom event type nobody has",
        _file_of(
            {**_GOOD, "datapoint": {"event_type": "commerce_event", "custom_event_type": "x"}}
        ),
    ),
    (
        "a commerce event type",
        _file_of(
            {
                **_GOOD,
                "datapoint": {"event_type": "commerce_event", "custom_event_type": "purchase"},
            }
        ),
    ),
    ("an empty in_list", _file_of({**_GOOD, "conditions": [{**_CONDITION, "values": []}]})),
    ("an in_list", _file_of({**_GOOD, "conditions": [{**_CONDITION, "values": ["web"]}]})),
    (
        "an in_list with an empty item",
        _file_of({**_GOOD, "conditions": [{**_CONDITION, "values": ["web", ""]}]}),
    ),
    (
        "an in_list with a blank item",
        _file_of({**_GOOD, "conditions": [{**_CONDITION, "values": [" "]}]}),
    ),
    ("no environment", _file_of(_GOOD, environments=[])),
    ("a bare calculated_attributes:", {"calculated_attributes": None}),
    ("an empty file", None),
]


def test_schema_and_validate_agree_on_each_fields_own_rules() -> None:
    """What the editor flags, `validate` refuses, and the reverse. (Rules that tie fields
    together are `validate`'s alone: README says so.)"""
    validator = jsonschema.Draft202012Validator(
        json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
    )
    for case, data in FILES:
        by_schema = not list(validator.iter_errors(data))
        result, _ = parse_file(json.dumps(data).encode(), "cas.yaml")
        by_validate = not [issue for issue in result.issues if issue.severity == "error"]
        assert by_schema == by_validate, (case, by_schema, by_validate)


def test_schema_and_validate_agree_on_the_scope(tmp_path: Path) -> None:
    validator = jsonschema.Draft202012Validator(
        json.loads((ROOT / "schemas" / "settings.schema.json").read_text())
    )
    scopes: list[object] = [["Growth *"], [], [" "], ["LTV", ""]]
    for scope in scopes:
        data = {"workspace_id": 1, "environments": {"prod": {"scope": scope}}}
        by_schema = not list(validator.iter_errors(data))
        (tmp_path / "reconciler.yaml").write_text(json.dumps(data))
        try:
            load_settings(tmp_path)
            by_validate = True
        except ManifestError:
            by_validate = False
        assert by_schema == by_validate, (scope, by_schema, by_validate)


def test_test_schema_and_loader_agree_on_an_event_time_past_the_year_9999() -> None:
    """Epoch microseconds written as milliseconds: the loader refuses them, so the editor
    flags them too."""
    validator = _editor_validator("test.schema.json")
    for millis in (LAST_MILLIS, LAST_MILLIS + 1):
        event = {"event_type": "session_start", "data": {"timestamp_unixtime_ms": millis}}
        data = {"as_of": "2024-03-01", "users": {"u": {"events": [event]}}, "expect": {}}
        by_schema = not list(validator.iter_errors(data))
        assert by_schema == _takes(SuiteFile, data), millis


def test_modeline_names_the_nearest_schemas_folder_within_the_repository(tmp_path: Path) -> None:
    """What `reconciler export` writes in a file's second line: the path, from the file's
    folder, of this package's schema in the nearest `schemas/` (the folder itself, or one
    above it, up to the Git work tree's top), or nothing."""
    top = tmp_path / "outside" / "repo"
    (top / ".git").mkdir(parents=True)
    schema.write(tmp_path / "outside" / "schemas")  # above the work tree: not looked at
    assert schema.modeline(top / "manifests", "manifest.schema.json") == ""
    schema.write(top / "schemas")
    line = "# yaml-language-server: $schema={}\n"
    cases = {
        top / "manifests": "../schemas/manifest.schema.json",
        top / "a" / "b" / "not-yet-made": "../../../schemas/manifest.schema.json",
        top / "a" / ".." / "manifests": "../schemas/manifest.schema.json",
        top: "schemas/manifest.schema.json",
    }
    for folder, path in cases.items():
        assert schema.modeline(folder, "manifest.schema.json") == line.format(path)
    assert schema.modeline(top / "manifests", "settings.schema.json") == line.format(
        "../schemas/settings.schema.json"
    )
    # A nearer `schemas/` wins, if it holds this package's schema of that name.
    nearer = top / "team" / "schemas"
    nearer.mkdir(parents=True)
    for foreign in ('{"$id": "https://example.com/manifest.schema.json"}', "[]", "{", ""):
        (nearer / "manifest.schema.json").write_text(foreign)
        assert schema.modeline(top / "team" / "x", "manifest.schema.json") == line.format(
            "../../schemas/manifest.schema.json"
        )
    schema.write(nearer)
    assert schema.modeline(top / "team" / "x", "manifest.schema.json") == line.format(
        "../schemas/manifest.schema.json"
    )
    assert schema.modeline(top / "manifests", "no.schema.json") == ""
