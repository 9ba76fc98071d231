"""Export (export.py): live CAs to manifest documents that read back as the same meaning,
with safe file names and notes about what a user should know."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.export import ca_document, definition_document, export, file_stem
from reconciler.models import CalculatedAttribute, Definition, LiveCA
from tests.strategies import api_shaped, definitions
from tests.support.workspace import PURCHASES, SESSIONS, api_definition

Json = dict[str, Any]


def live(name: str = "LTV", ca_id: int = 7, **definitions_: Json | None) -> LiveCA:
    return LiveCA.model_validate({"id": ca_id, "name": name, **definitions_})


def test_file_stems() -> None:
    assert file_stem("Average Order Value") == "average-order-value"
    assert file_stem("../../etc/passwd") == "etc-passwd"
    assert file_stem("☕") == "ca"
    assert file_stem("Café") == "cafe"
    assert len(file_stem("x" * 500)) == 80


@settings(max_examples=150)
@given(definitions(), st.integers(0, 2**32))
def test_an_exported_definition_reads_back_as_the_same_meaning(data: Json, seed: int) -> None:
    found = live(active_definition=api_shaped(data, seed))
    assert found.active is not None
    document = definition_document(found.active)
    assert Definition.model_validate(document, context={"defer_rules": True}).canonical == (
        found.active
    )


def test_defaults_are_left_out_and_dates_read_as_dates() -> None:
    found = live(active_definition=api_definition(PURCHASES))
    assert found.active is not None
    document = definition_document(found.active)
    assert "type" not in document["datapoint"]
    assert "attribute_category" not in document["datapoint"]
    assert str(document["time_period"]["date"]) == "2024-01-01"
    assert document["conditions"][0]["value"] == 22  # a number condition, written as one


def test_a_decimal_number_operand_is_written_as_a_number_where_it_reads_back_exactly() -> None:
    """`value: 10.5` came out as `value: '10.5'`: an export over the user's manifests
    showed a diff they did not make. Only a number YAML would read back as another text
    (`0.30000000000000001` reads as 0.3; `0.00001` is written `1e-05`) stays quoted."""
    values = ("10.5", "-0.75", "1234567.125", "0.30000000000000001", "0.00001")
    conditions = [
        {"type": "number", "operator": "greater_than", "attribute_name": value, "value": value}
        for value in values
    ]
    found = live(active_definition=api_definition({**SESSIONS, "conditions": conditions}))
    assert found.active is not None
    document = definition_document(found.active)
    assert {item["attribute_name"]: item["value"] for item in document["conditions"]} == {
        "10.5": 10.5,
        "-0.75": -0.75,
        "1234567.125": 1234567.125,
        "0.30000000000000001": "0.30000000000000001",
        "0.00001": "0.00001",
    }
    assert Definition.model_validate(document, context={"defer_rules": True}).canonical == (
        found.active
    )


def test_a_ca_never_activated_is_exported_inactive() -> None:
    entry, notes = ca_document(live(draft_definition=api_definition(SESSIONS)))
    assert entry is not None
    assert entry["active"] is False
    assert notes == []


def test_a_stray_draft_is_noted_and_the_active_definition_exported() -> None:
    entry, notes = ca_document(
        live(active_definition=api_definition(SESSIONS), draft_definition=api_definition(PURCHASES))
    )
    assert entry is not None
    assert "active" not in entry
    assert entry["definition"]["calculation_type"] == "count"
    assert notes == [
        '"LTV" has an unactivated draft; its active definition was exported (plan will offer '
        "to discard the draft)"
    ]


def test_a_ca_without_a_definition_is_left_out_with_a_note() -> None:
    result = export([live()])
    assert result.files == {}
    assert result.notes == ['"LTV" (id 7) has no definition; not exported']


#: What a note on a refused field says after the plan's message, by what the user can do.
FIX = "; exported as it is, but plan refuses that file: fix it by hand"
RENAME = (
    "; exported as it is, but plan refuses that file: rename the CA in mParticle (possible "
    "until it is activated), or remove the file to leave the CA unmanaged"
)
#: The plan's message for a time period of type `all` (only the UI makes one).
ALL = (
    "Field 'time_period.type' = 'all' is not supported: use `since` with a `date`, or "
    "`within` with `within` and `within_unit`"
)


def test_a_definition_the_manifest_rules_refuse_is_noted_at_its_file_and_field() -> None:
    """The note named the CA only ("LTV" holds a definition the manifest rules refuse
    (definition.time_period: ...)), not the file the export's plan refuses, nor the field
    (the rule's owner, not the field it is about): it is placed at the field, in the
    plan's words, which the command gives a line."""
    broken = {**api_definition(SESSIONS), "time_period": {"type": "all"}}
    result = export([live(active_definition=broken)])
    assert result.notes == []
    assert [(note.file, note.in_file, note.message) for note in result.located] == [
        (
            "ltv.yaml",
            ("calculated_attributes", 0, "definition", "time_period", "type"),
            f'{ALL} (CA "LTV"){FIX}',
        )
    ]


def test_a_name_the_manifest_rules_refuse_is_noted_at_its_file_and_field() -> None:
    """A live name the rules refuse was noted as "holds a definition the manifest rules
    refuse (name: Value error, ...)", "fix it by hand": no manifest can fix a name
    (renamed_from obeys the same rules), and none can once the CA is active. Then it named
    the CA, not the file: the note is placed at the name."""
    result = export([live("   ", active_definition=api_definition(SESSIONS))])
    assert result.notes == []
    assert [(note.file, note.in_file, note.message) for note in result.located] == [
        ("ca.yaml", ("calculated_attributes", 0, "name"), f'must not be empty (CA "   "){RENAME}')
    ]


def test_a_refused_name_does_not_hide_a_refused_definition() -> None:
    """The note gave the first error only: the name's, and the plan then refused the file
    for its definition too. Each refused field has its own note, as the plan reports each."""
    broken = {**api_definition(SESSIONS), "time_period": {"type": "all"}}
    result = export([live("  ", active_definition=broken)])
    assert [(note.path, note.message) for note in result.located] == [
        (("name",), f'must not be empty (CA "  "){RENAME}'),
        (("definition", "time_period", "type"), f'{ALL} (CA "  "){FIX}'),
    ]


def test_a_name_with_a_tab_or_an_invisible_character_is_exported_without_a_note() -> None:
    """mParticle takes such names: the manifest rules warn of them, so plan reads the file."""
    for name in ("tab\tname", "zero\u200bwidth", "two\nlines"):
        entry, notes = ca_document(live(name, active_definition=api_definition(SESSIONS)))
        assert entry is not None
        assert entry["name"] == name
        assert notes == []


def test_colliding_and_reserved_names_get_the_id() -> None:
    cas = [
        live("A b", 1, active_definition=api_definition(SESSIONS)),
        live("a-B", 2, active_definition=api_definition(SESSIONS)),
        live("CON", 3, active_definition=api_definition(SESSIONS)),
    ]
    files = export(cas).files
    assert sorted(files) == ["a-b-2.yaml", "a-b.yaml", "con-3.yaml"]
    assert files["a-b-2.yaml"]["calculated_attributes"][0]["name"] == "a-B"
    for document in files.values():
        CalculatedAttribute.model_validate(document["calculated_attributes"][0])


def test_a_time_period_the_retention_no_longer_covers_is_noted_at_its_file_and_field() -> None:
    """The note named the CA, not the file the export's plan refuses: it is now placed at
    the field (file in the export, path in its CA), which the command gives a line."""
    old = {**SESSIONS, "time_period": {"type": "since", "date": "2024-01-01"}}
    long = {**SESSIONS, "time_period": {"type": "within", "within": 9, "within_unit": "weeks"}}
    cas = [
        live("Old", 1, active_definition=api_definition(old)),
        live("Long", 2, draft_definition=api_definition(long)),
        live("Sessions", 3, active_definition=api_definition(SESSIONS)),
    ]
    result = export(cas, retention=(30, date(2024, 4, 1)))
    assert result.notes == []
    assert [(note.file, note.in_file) for note in result.located] == [
        ("long.yaml", ("calculated_attributes", 0, "definition", "time_period", "within")),
        ("old.yaml", ("calculated_attributes", 0, "definition", "time_period", "date")),
    ]
    assert result.located[0].message.startswith("9 weeks (63 days) is longer than the ")
    assert result.located[1].message.startswith("2024-01-01 is before 2024-03-02, the ")
    for note, name in zip(result.located, ("Long", "Old"), strict=True):
        assert note.message.endswith(
            f'(CA "{name}"); exported as it is, but plan refuses that file until the time '
            "period is changed (which recalculates the CA)"
        )
