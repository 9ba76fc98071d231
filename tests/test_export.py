"""Export (export.py): live CAs to manifest documents that read back as the same meaning,
with safe file names and notes about what a user should know."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.export import (
    MAX_STEM,
    RESERVED,
    UNSEEN,
    ca_document,
    definition_document,
    export,
    file_stem,
    file_stems,
    same_file,
)
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


#: CA name -> file stem. Latin letters fold to ASCII, those NFKD leaves whole by the
#: table; letters of other scripts stay (composed), digits of any script are ASCII digits,
#: what nobody sees is left out, anything else separates words.
STEMS = {
    "Café spend": "cafe-spend",
    "Ümsatz": "umsatz",
    "Straße": "strasse",
    "STRASSE": "strasse",
    "Ærø Øre": "aero-ore",
    "Łódź": "lodz",
    "Þórður": "thordur",
    "İstanbul": "istanbul",
    "Diyarbakır": "diyarbakir",
    "ﬁnance Ⅻ ½": "finance-xii-1-2",
    "Ünïcødé 日本語 🎉 name": "unicode-日本語-name",
    "Москва": "москва",
    "Май": "май",
    "ΛΌΓΟΣ": "λόγος",
    "매출 합계": "매출-합계",
    "がぎ": "がぎ",
    "ｶﾞｲﾄﾞ": "ガイド",
    "हिन्दी": "हिन्दी",
    "٣ items": "3-items",
    "zero\u200bwidth": "zerowidth",
    "葛\U000e0100城": "葛城",
    "\u3164": "ca",
    "a☕b": "a-b",
}


def test_a_file_stem_folds_latin_letters_and_keeps_those_of_other_scripts() -> None:
    """Non-ASCII letters were dropped: `Ünïcødé 日本語 🎉 name` was `unicde-name`,
    `Straße` `strae`, `Москва` and `売上` both `ca`."""
    assert {name: file_stem(name) for name in STEMS} == STEMS
    for stem in STEMS.values():
        assert unicodedata.is_normalized("NFC", stem)


def test_a_long_stem_is_cut_at_a_character_within_its_bytes() -> None:
    assert file_stem("売" * 100) == "売" * (MAX_STEM // 3)
    assert file_stem("é" * 100) == "e" * MAX_STEM
    assert len(file_stem("Москва " * 30).encode()) <= MAX_STEM


def stems_of(*names: str) -> list[str]:
    cas = [live(name, index) for index, name in enumerate(names, start=1)]
    stems = file_stems(cas)
    return [stems[ca.id] for ca in cas]


def test_stems_one_file_system_takes_for_one_file_get_the_id() -> None:
    """Case and Unicode normalisation, which macOS and Windows ignore in file names: `ΣΊΣΥΦΟΣ`
    and `Σίσυφος` are `σίσυφος` both; `Ǆ` and `ǆ` fold to `dz`."""
    assert stems_of("Москва", "МОСКВА") == ["москва-1", "москва"]
    assert stems_of("ΣΊΣΥΦΟΣ", "Σίσυφος") == ["σίσυφος", "σίσυφος-2"]
    assert stems_of("Ǆ", "dz", "ǆ") == ["dz-1", "dz", "dz-3"]
    assert same_file("ꭰ") == same_file("Ꭰ")  # Cherokee: its capitals are the case folding


#: The device names Windows reserves (Microsoft's "Naming Files, Paths, and Namespaces"),
#: in a file's base name, before its first dot, once the dots and spaces Windows strips
#: from its end are gone; in ASCII case-insensitively, and COM/LPT with a superscript ¹²³.
WINDOWS_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789\xb9\xb2\xb3"),
}


def windows_reserved(file: str) -> bool:
    base = file.rstrip(". ").split(".")[0].rstrip(" ")
    return "".join(char.upper() if char.isascii() else char for char in base) in WINDOWS_DEVICES


def test_names_that_fold_to_a_windows_device_name_get_the_id() -> None:
    """Fullwidth letters, superscript digits, letters NFKD spells with capitals (`ℂ`), a
    zero-width space or an accent: a name that folds to `con` or `com1` gets its id,
    lowercase; so do COM0 and LPT0, in Microsoft's list. `CONIN$` folds to `conin`, which
    is no device."""
    names = [
        "ＣＯＮ",
        "COM¹",
        "lpt³",
        "ℂON",
        "ｎｕｌ",
        "N\u200bUL",
        "Ãux",
        "COM0",
        "LPT⁰",
        "CONIN$",
    ]
    stems = stems_of(*names)
    assert stems == [
        "con-1",
        "com1-2",
        "lpt3-3",
        "con-4",
        "nul-5",
        "nul-6",
        "aux-7",
        "com0-8",
        "lpt0-9",
        "conin",
    ]
    assert not any(windows_reserved(f"{stem}.yaml") for stem in stems)
    assert file_stem("Brand™ 𝐒𝐩𝐞𝐧𝐝") == "brandtm-spend"


#: Names that fold to one stem, or to a stem another name folds to with an id.
CLASHING = ["Straße", "strasse", "STRASSE", "Москва", "МОСКВА", "москва 2", "Café", "cafe", "日本"]
#: Names that fold to a name Windows reserves, or to capitals.
DEVICES = ["ＣＯＮ", "COM¹", "ℂON", "com0", "LPT⁰", "Nul.", "aux ", "ℂafé", "™"]


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(st.sampled_from(CLASHING + DEVICES), st.text(min_size=1, max_size=12)),
        min_size=1,
        max_size=10,
        unique=True,
    )
)
def test_every_ca_gets_a_file_of_its_own_named_from_its_letters(names: list[str]) -> None:
    """Distinct whatever the names, where case and normalisation count (Linux) and where
    they do not (macOS, Windows); each stem a short, composed run of letters, digits and
    dashes, and not a name Windows reserves. A name holding a letter or a digit anybody
    sees never falls back to `ca` (as every Cyrillic, Greek or CJK name did), unless it
    spells `ca` itself."""
    stems = stems_of(*names)
    assert len({same_file(stem) for stem in stems}) == len(names)
    for name, stem in zip(names, stems, strict=True):
        assert len(stem.encode()) <= MAX_STEM + 24
        assert unicodedata.is_normalized("NFC", stem)
        assert stem not in RESERVED
        assert not windows_reserved(f"{stem}.yaml")
        assert stem.lower() == stem
        assert stem.strip("-") == stem != ""
        assert all(
            char == "-" or char.isalnum() or unicodedata.category(char)[0] == "M" for char in stem
        )
        seen = [char for char in name if char.isalnum() and not UNSEEN.match(char)]
        spelt = [char for char in unicodedata.normalize("NFKD", name.lower()) if char.isalnum()]
        if seen and spelt != ["c", "a"]:
            assert file_stem(name) != "ca", name


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
