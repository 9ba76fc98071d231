"""A loaded CA's entry read again (`manifest.entries`): each field is placed where the
whole file writes it, whether the entry was parsed from its own lines or the whole file
was (an entry that uses an anchor written elsewhere, a flow list, a file changed since)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import manifest
from reconciler.errors import DataPath, Issue, format_path
from reconciler.manifest.document import read_yaml
from reconciler.manifest.entries import CAS_KEY, Entries, field_issue

SETTINGS = "workspace_id: 1\nenvironments: {dev: {}, staging: {}, prod: {}}\n"
SESSIONS = "{calculation_type: count, datapoint: {event_type: session_start}, time_period: *week}"
#: Block entries around what could be read as their end: a comment and blank lines at the
#: list's indentation, a block scalar, an anchor used from another entry, flow mappings
#: written on one line and over two.
BLOCK = """\
# CAs of every shape
x-week: &week {type: within, within: 7, within_unit: days}
calculated_attributes:
- name: Plain
  environments: [dev, staging]
# a comment at the list's indentation, inside the entry

  active: false
  overrides:
    staging:
      active: true
  definition: &sessions
    calculation_type: count
    datapoint:
      event_type: session_start
    time_period:
      type: within
      within: 30
      within_unit: days
- name: Described
  description: |
    Two lines
    of text
  overrides: {staging: {active: false}}
  definition:
    {calculation_type: count, datapoint: {event_type: screen_view}, time_period: {type: within,
      within: 9, within_unit: days}}
- name: Copied
  definition: *sessions
- name: Weekly
  environments:
  - staging
  definition: {calculation_type: count, datapoint: {event_type: session_end}, time_period: *week}
- {name: Flow, environments: [prod], definition: {calculation_type: count, datapoint:
    {event_type: first_run}, time_period: {type: within, within: 3, within_unit: days}}}
"""
#: The same in a list indented under its key, with Windows line ends.
INDENTED = (
    BLOCK.replace("\n- ", "\n  - ")
    .replace("\n  ", "\n    ")
    .replace("\n    - name", "\n  - name")
    .replace("\n    - {name", "\n  - {name")
    .replace("\n# a comment", "\n  # a comment")
    .replace("\n", "\r\n")
)
#: Two CAs on the line of their key.
ONE_LINE = (
    "x-week: &week {type: within, within: 7, within_unit: days}\n"
    f"{CAS_KEY}: [{{name: A, environments: [dev], definition: {SESSIONS}}}, "
    f"{{name: B, active: false, definition: {SESSIONS}}}]\n"
)
FIELDS: list[tuple[str | None, DataPath]] = [
    (None, ("name",)),
    (None, ("environments",)),
    ("staging", ("active",)),
    ("staging", ("definition", "time_period", "within")),
    ("prod", ("definition", "datapoint", "event_type")),
]


def expected(path: Path, name: str, environment: str | None, field: DataPath) -> Issue:
    """Where the whole file, parsed as the loader parses it, writes the field."""
    document = read_yaml(path, str(path))
    items = document.data[CAS_KEY]
    index = next(n for n, item in enumerate(items) if item["name"] == name)
    override = items[index].get("overrides", {}).get(environment or "", {})
    written = environment is not None and field[0] in override
    origin: DataPath = ("overrides", environment) if written and environment else ()
    where = document.position((CAS_KEY, index, *origin, *field), key=True)
    assert where is not None
    return Issue(str(path), where.line, where.column, format_path((*origin, *field)), "")


@pytest.mark.parametrize("text", [BLOCK, INDENTED, ONE_LINE], ids=["block", "indented", "line"])
def test_each_field_is_placed_where_the_whole_file_writes_it(tmp_path: Path, text: str) -> None:
    (tmp_path / "reconciler.yaml").write_text(SETTINGS)
    path = tmp_path / "cas.yaml"
    path.write_bytes(text.encode())
    loaded = manifest.load(tmp_path)
    assert loaded.cas
    shared = Entries()  # one file's entries placed together, as a plan places them
    for desired in loaded.cas:
        for environment, field in FIELDS:
            want = expected(path, desired.name, environment, field)
            for entries in (Entries(), shared):
                found = field_issue(desired, environment, field, "", entries)
                assert found == want, (desired.name, field)


def test_an_entry_the_file_no_longer_holds_is_placed_as_it_was_loaded(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(SETTINGS)
    path = tmp_path / "cas.yaml"
    path.write_text(BLOCK)
    plain = next(d for d in manifest.load(tmp_path).cas if d.name == "Plain")
    path.write_text(BLOCK.replace("- name: Plain", "\n- name: Plain"))  # one line down
    found = field_issue(plain, None, ("environments",), "moved", Entries())
    assert found == Issue(str(path), plain.line, plain.column, "environments", "moved")
