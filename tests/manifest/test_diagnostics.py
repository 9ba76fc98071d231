"""Pydantic's errors worded for people (manifest/diagnostics.py): each becomes a data path
and a message, with a suggestion where a word is misspelt."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from reconciler.manifest.diagnostics import explain, model_at, suggest
from reconciler.models import CalculatedAttribute, Condition, Datapoint, Definition
from reconciler.models.vocabulary import CALCULATION_TYPES, NEEDS_ATTRIBUTE

CA: dict[str, Any] = {
    "name": "LTV",
    "definition": {
        "calculation_type": "count",
        "datapoint": {"event_type": "session_start"},
        "time_period": {"type": "within", "within": 7, "within_unit": "days"},
    },
}


def explained(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, bool]]:
    with pytest.raises(ValidationError) as caught:
        CalculatedAttribute.model_validate(data, context={"defer_rules": True})
    return explain(caught.value, CalculatedAttribute, data)


def with_definition(**changes: Any) -> dict[str, Any]:
    return {**CA, "definition": {**CA["definition"], **changes}}


def test_suggestions_for_misspelt_words() -> None:
    assert suggest("calcualtion_type", ["calculation_type", "conditions"]) == "calculation_type"
    assert suggest("Event-Type", ["event_type"]) == "event_type"
    assert suggest("zzz", ["calculation_type"]) is None


def test_the_model_under_a_path_follows_aliases_and_lists() -> None:
    assert model_at(CalculatedAttribute, ("definition",)) is Definition
    assert model_at(CalculatedAttribute, ("definition", "data_point")) is Datapoint
    assert model_at(CalculatedAttribute, ("definition", "conditions", 2)) is Condition
    assert model_at(CalculatedAttribute, ("definition", "nothing")) is None


def test_an_unknown_key_suggests_the_field_and_hides_its_missing_twin() -> None:
    definition = dict(CA["definition"])
    definition["calcualtion_type"] = definition.pop("calculation_type")
    found = explained({**CA, "definition": definition})
    assert found == [
        (
            ("definition", "calcualtion_type"),
            "unknown field `calcualtion_type`; did you mean `calculation_type`?",
            True,
        )
    ]


def test_both_spellings_of_one_field_are_named() -> None:
    found = explained(with_definition(data_point={"event_type": "session_start"}))
    assert [(path, message) for path, message, _ in found] == [
        (("definition", "data_point"), "`data_point` and `datapoint` are the same field; keep one")
    ]


def test_a_misspelt_choice_gets_a_suggestion_and_others_the_choices() -> None:
    (found,) = explained(with_definition(calculation_type="cuont"))
    assert found == (
        ("definition", "calculation_type"),
        "'cuont' is not valid; did you mean `count`?",
        False,
    )
    (listed,) = explained(with_definition(time_period={"type": "whenever"}))
    assert listed[0] == ("definition", "time_period", "type")
    assert listed[1].startswith("'whenever' is not valid; use one of: since, within, all")


def test_a_number_where_text_belongs_says_to_quote_it() -> None:
    (found,) = explained({**CA, "description": 12})
    assert found[1] == (
        "expected text, got 12 (YAML read it as a number or boolean: put it in quotes)"
    )


def test_a_missing_field_is_named() -> None:
    definition = {k: v for k, v in CA["definition"].items() if k != "time_period"}
    (found,) = explained({**CA, "definition": definition})
    assert found == (
        ("definition", "time_period"),
        "required field `time_period` is missing",
        False,
    )


@pytest.mark.parametrize("calculation_type", CALCULATION_TYPES)
def test_a_missing_datapoint_shows_the_shape_to_write(calculation_type: str) -> None:
    """A missing data point got only "required field `datapoint` is missing", nothing of
    what one holds. The hint shows one, with the attribute the calculation type needs;
    filled in, it is valid and breaks no rule (so the hint cannot drift from the model)."""
    definition = with_definition(calculation_type=calculation_type)["definition"]
    del definition["datapoint"]
    (found,) = explained({**CA, "definition": definition})
    path, message, _ = found
    assert path == ("definition", "datapoint")
    shown = re.search(r"write the event it reads: `datapoint: (\{[^`]*\})`", message)
    assert shown, message
    assert "commerce_event with a `custom_event_type`" in message
    filled = re.sub(r"<[^>]*>", "Purchase", shown.group(1))
    ca = {**CA, "definition": {**definition, "datapoint": YAML(typ="safe").load(filled)}}
    assert CalculatedAttribute.model_validate(ca, context={"defer_rules": True}).problems() == []
    aggregates = calculation_type in NEEDS_ATTRIBUTE
    assert ("attribute_name" in filled) is aggregates
    assert (f"calculation_type `{calculation_type}` aggregates" in message) is aggregates


_WEEK = {"type": "within", "within_unit": "days"}
_CONDITION = {"type": "string", "operator": "in_list", "attribute_name": "c"}

#: (mistake, the CA, the path, the message): a value of the wrong type says what to write
#: when the mistake is a common one, and only then.
WRONG_TYPES = [
    (
        "a quoted whole number",
        with_definition(time_period={**_WEEK, "within": "30"}),
        ("definition", "time_period", "within"),
        "expected a whole number, got '30' (the quotes make it text: write 30 without them)",
    ),
    (
        "a quoted fraction where a whole number goes",
        with_definition(time_period={**_WEEK, "within": "7.5"}),
        ("definition", "time_period", "within"),
        "expected a whole number, got '7.5'",
    ),
    (
        "a quoted boolean",
        {**CA, "active": "false"},
        ("active",),
        "expected true or false, got 'false' (the quotes make it text: write false without them)",
    ),
    (
        "a YAML 1.1 boolean",
        {**CA, "protect": "yes"},
        ("protect",),
        "expected true or false, got 'yes'",
    ),
    (
        "one item where a list goes",
        with_definition(conditions=[{**_CONDITION, "values": "web"}]),
        ("definition", "conditions", 0, "values"),
        "expected a list, got 'web' (a single item is a list too: write [web])",
    ),
    (
        "a mapping where a list goes",
        with_definition(conditions={**_CONDITION, "values": ["web"]}),
        ("definition", "conditions"),
        "expected a list, got a mapping (write each entry as an item of a list, starting with "
        "`- `)",
    ),
    (
        "a list of one mapping where a mapping goes",
        with_definition(datapoint=[{"event_type": "session_start"}]),
        ("definition", "datapoint"),
        "expected a mapping, got a list (remove the `-` (or the [ ]) before its keys)",
    ),
    (
        "a number where text goes",
        {**CA, "description": 5},
        ("description",),
        "expected text, got 5 (YAML read it as a number or boolean: put it in quotes)",
    ),
]


@pytest.mark.parametrize(
    ("data", "path", "message"), [row[1:] for row in WRONG_TYPES], ids=[r[0] for r in WRONG_TYPES]
)
def test_a_wrong_type_says_what_to_write(
    data: dict[str, Any], path: tuple[str | int, ...], message: str
) -> None:
    assert (path, message, False) in explained(data)
