"""`reconciler export` writes text that YAML 1.1 readers read as text too: the reconciler
reads YAML 1.2, where `yes`, `on` and `1:20` are text, but PyYAML (yamllint, pre-commit
hooks, a data team's own scripts) reads YAML 1.1, where they are a boolean and a number."""

from __future__ import annotations

import json
import operator
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.manifest.document import parse_yaml
from reconciler.manifest.writing import dump
from tests.commands.test_export import text_document
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import SESSIONS, RawApi, env_for

#: Text that YAML 1.1 reads, unquoted, as a boolean, a null, a number or a date, each with
#: what PyYAML reads it as (`y` and `n` are booleans by the YAML 1.1 spec, as go-yaml v2
#: reads them; PyYAML alone takes them for text, so they are quoted too).
YAML_1_1: dict[str, Any] = {
    "yes": True,
    "Yes": True,
    "on": True,
    "ON": True,
    "NO": False,
    "off": False,
    "Off": False,
    "y": "y",
    "Y": "Y",
    "n": "n",
    "~": None,
    "null": None,
    "1_000": 1000,
    "017": 15,
    "1:20": 80,
    "-1:20": -80,
    "1:20.5": 80.5,
    "190:20:30": 685230,
    ".inf": float("inf"),
    "1.5": 1.5,
    "2026-01-01": date(2026, 1, 1),
    "0x1F": 31,
    "0b101": 5,
}
#: Text YAML 1.2 reads as a number, but YAML 1.1 as text: quoted already, for the reconciler.
YAML_1_2_ONLY = ("0o17", "1e5", "-.5")


#: Text that only starts like such a value, and stays plain (a `?` too, out of flow mappings).
PLAIN = ("yes please", "on call", "y2k", "1:2:3:x", "null island", "12:60", "why?")


def test_text_a_yaml_1_1_reader_would_retype_is_quoted_and_no_other() -> None:
    """Export wrote `name: yes` and `name: 1:20` plain: the reconciler reads text, as
    written, but yamllint and a PyYAML script read `True` and `80`. Each word of the table
    is what PyYAML makes of it written plain, and is quoted."""
    for text, meaning in YAML_1_1.items():
        assert yaml.safe_load(f"name: {text}\n")["name"] == meaning, text
    for text in (*YAML_1_1, *YAML_1_2_ONLY):
        written = dump({"name": text, "values": [text]})
        assert written == f"name: '{text}'\nvalues:\n  - '{text}'\n"
        data = {"name": text, "values": [text]}
        assert yaml.safe_load(written) == parse_yaml(written, "x.yaml").data == data
    for text in PLAIN:
        assert dump({"name": text}) == f"name: {text}\n"


#: Any text, YAML 1.1's words, and those words with what may make them text or another number.
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=16)
WORDS = st.sampled_from([*YAML_1_1, *YAML_1_2_ONLY, "=", "<<", "12:60", "0:0", "+1:00"])
TEXTS = st.one_of(
    TEXT,
    WORDS,
    st.builds(operator.add, WORDS, st.sampled_from(["", " ", "x", ":", "0", "_0", ".5"])),
)


@settings(max_examples=300, deadline=None)
@example(name="yes", description="~", value="1:20", other="y", attribute="off", event="why?")
@given(name=TEXTS, description=TEXTS, value=TEXTS, other=TEXTS, attribute=TEXTS, event=TEXTS)
def test_every_exported_text_reads_the_same_to_pyyaml_as_to_the_reconciler(
    name: str, description: str, value: str, other: str, attribute: str, event: str
) -> None:
    """A CA document as export writes it, its text in block context (name, description, a
    list of values) and in flow mappings (conditions, datapoint), read by PyYAML's
    `safe_load` (YAML 1.1) and by the manifest reader (YAML 1.2): the same data. PyYAML's
    own scanner ends a plain scalar at a `?` in a flow mapping: `{event_name: why?}` was
    a file it could not read."""
    document = text_document(
        name,
        description,
        value,
        other,
        attribute,
        event,
        listed="in_list",
        period={"type": "within", "within": 30, "within_unit": "days"},
    )
    written = dump(document)
    assert parse_yaml(written, "x.yaml").data == document
    assert yaml.safe_load(written) == document


def test_an_export_of_cas_named_as_yaml_1_1_values_reads_the_same_to_pyyaml_and_plans_empty(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """CAs whose names, descriptions, event names, attribute names and condition values are
    `yes`, `off`, `1:20`... export to files (and a reconciler.yaml whose scope names them)
    that PyYAML reads as the reconciler does; and the export then plans empty."""
    words = [*YAML_1_1, *YAML_1_2_ONLY]
    for index, word in enumerate(words):
        other = words[(index + 1) % len(words)]
        condition = {"type": "string", "attribute_name": word}
        definition = {
            **SESSIONS,
            "datapoint": {
                "event_type": "custom_event",
                "custom_event_type": "other",
                "event_name": word,
            },
            "conditions": [
                {**condition, "operator": "equals", "value": other},
                {**condition, "operator": "in_list", "values": [word, other]},
            ],
        }
        raw.activate(raw.create(word, definition, description=other))
    source = tmp_path / "source"
    source.mkdir()
    (source / "reconciler.yaml").write_text(json.dumps({"workspace_id": 1234, "scope": words}))
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", source, "--out", out, env=env)
    assert result.exit_code == 0, result.output
    written = sorted(out.glob("*.yaml"))
    assert len(written) == len(words) + 1  # + reconciler.yaml
    names = []
    for path in written:
        text = path.read_text(encoding="utf-8")
        read = parse_yaml(text, path.name).data
        assert yaml.safe_load(text) == read, text
        names += [item["name"] for item in read.get("calculated_attributes", [])]
    assert sorted(names) == sorted(words)
    settings_text = (out / "reconciler.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(settings_text)["scope"] == words
    planned = run_cli("plan", out, "--detailed-exitcode", env=env)
    assert planned.exit_code == 0, planned.output
