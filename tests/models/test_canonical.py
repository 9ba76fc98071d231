"""Semantic equality (SPEC §4.2): every spelling the API or a manifest may use means the same."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.models import CalculatedAttribute, Definition, LiveCA, LiveDefinition
from tests.strategies import api_shaped, definitions, meaning_changes

LTV: dict[str, Any] = {
    "calculation_type": "sum",
    "datapoint": {
        "type": "event",
        "event_name": "Purchase",
        "event_type": "commerce_event",
        "custom_event_type": "purchase",
        "attribute_name": "Total Amount",
        "attribute_category": "product_attribute",
        "use_product_quantity": True,
    },
    "conditions": [
        {"type": "number", "operator": "equals", "attribute_name": "Checkout Step", "value": "22"}
    ],
    "time_period": {"type": "since", "date": "2019-10-01"},
    "seeding": {"cutoff_date": "2019-10-02"},
}

# The docs' own list example for the same CA (braces restored).
LTV_FROM_API: dict[str, Any] = {
    "recipe_type": "event",
    "datapoint": {
        "type": "event",
        "event_name": "Purchase",
        "attribute_name": "Total Amount",
        "event_type": "commerce_event",
        "custom_event_type": "purchase",
        "attribute_category": "product_attribute",
        "use_product_quantity": True,
    },
    "conditions": [
        {
            "type": "number",
            "operator": "equals",
            "attribute_name": "Checkout Step",
            "value": "22",
            "values": None,
            "min_value": None,
            "max_value": None,
        }
    ],
    "calculation_type": "sum",
    "time_period": {
        "type": "since",
        "date": "2019-10-01T00:00:00",
        "within": None,
        "within_unit": None,
    },
    "seeding": {"cutoff_date": "2019-10-02T00:00:00"},
}


def desired(data: dict[str, Any]) -> Definition:
    return Definition.model_validate(data)


def live(data: dict[str, Any]) -> LiveDefinition:
    return LiveDefinition.read(data)


def test_docs_example_equals_its_manifest() -> None:
    assert desired(LTV).canonical == live(LTV_FROM_API).canonical


def test_data_point_spelling_is_the_same_field() -> None:
    renamed = {**LTV_FROM_API, "data_point": LTV_FROM_API["datapoint"]}
    del renamed["datapoint"]
    assert live(renamed).canonical == desired(LTV).canonical
    manifest = {**LTV, "data_point": LTV["datapoint"]}
    del manifest["datapoint"]
    assert desired(manifest).canonical == desired(LTV).canonical


@pytest.mark.parametrize(
    "spelling",
    ["2019-10-01", "2019-10-01T00:00:00", "2019-10-01T00:00:00.000Z", "2019-10-01T02:00:00+02:00"],
)
def test_dates_compare_as_instants(spelling: str) -> None:
    other = {**LTV_FROM_API, "time_period": {"type": "since", "date": spelling}}
    assert live(other).canonical == desired(LTV).canonical


def test_a_different_instant_is_different() -> None:
    other = {**LTV_FROM_API, "time_period": {"type": "since", "date": "2019-10-01T00:00:01"}}
    assert live(other).canonical != desired(LTV).canonical


@pytest.mark.parametrize("empty", [None, [], "missing"])
def test_no_conditions_spellings(empty: object) -> None:
    base = {k: v for k, v in LTV.items() if k != "conditions"}
    other = dict(base) if empty == "missing" else {**base, "conditions": empty}
    assert desired(other).canonical == desired(base).canonical
    assert live(other).canonical == desired(base).canonical


def test_condition_and_in_list_order_do_not_matter() -> None:
    first = {
        "type": "string",
        "operator": "in_list",
        "attribute_name": "Currency",
        "values": ["USD", "EUR"],
    }
    second = {"type": "number", "operator": "greater_than", "attribute_name": "Total", "value": 0}
    one = desired({**LTV, "conditions": [first, second]})
    other = live({**LTV_FROM_API, "conditions": [second, {**first, "values": ["EUR", "USD"]}]})
    assert one.canonical == other.canonical


@pytest.mark.parametrize("number", [22, "22", 22.0, "22.0", "2.2e1", " 22 "])
def test_numbers_compare_by_value(number: object) -> None:
    condition = {"type": "number", "operator": "equals", "attribute_name": "Checkout Step"}
    assert (
        live({**LTV_FROM_API, "conditions": [{**condition, "value": number}]}).canonical
        == desired(LTV).canonical
    )


def test_a_string_condition_keeps_its_text() -> None:
    condition = {"type": "string", "operator": "equals", "attribute_name": "Code"}
    one = desired({**LTV, "conditions": [{**condition, "value": "007"}]})
    other = desired({**LTV, "conditions": [{**condition, "value": "7"}]})
    assert one.canonical != other.canonical


def test_server_defaults_equal_their_absence() -> None:
    bare = {
        "calculation_type": "count",
        "datapoint": {"event_type": "session_start"},
        "time_period": {"type": "within", "within": 7, "within_unit": "days"},
    }
    explicit = {
        "recipe_type": "event",
        "data_point": {
            "type": "event",
            "event_name": None,
            "event_type": "session_start",
            "custom_event_type": None,
            "attribute_name": None,
            "attribute_category": "product_attribute",
            "use_product_quantity": True,
        },
        "conditions": None,
        "calculation_type": "count",
        "time_period": {"type": "within", "date": None, "within": 7, "within_unit": "days"},
        "seeding": None,
    }
    assert desired(bare).canonical == live(explicit).canonical


def test_attribute_category_defaults_to_event_attribute() -> None:
    datapoint = {"event_type": "custom_event", "event_name": "Buy", "attribute_name": "Amount"}
    base: dict[str, Any] = {
        "calculation_type": "sum",
        "datapoint": datapoint,
        "time_period": {"type": "within", "within": 7, "within_unit": "days"},
    }
    explicit = {**base, "datapoint": {**datapoint, "attribute_category": "event_attribute"}}
    product = {**base, "datapoint": {**datapoint, "attribute_category": "product_attribute"}}
    assert desired(base).canonical == desired(explicit).canonical
    assert desired(base).canonical != desired(product).canonical


def test_min_and_minimum_are_one_calculation_type() -> None:
    data = {**LTV_FROM_API, "calculation_type": "minimum"}
    assert live(data).canonical == desired({**LTV, "calculation_type": "min"}).canonical


def test_missing_description_equals_empty() -> None:
    ca = CalculatedAttribute.model_validate({"name": "LTV", "definition": LTV})
    found = LiveCA.model_validate({"id": 1, "name": "LTV", "description": None})
    assert (ca.description or "") == found.description_text == ""


def test_a_draft_equal_to_the_active_definition_is_no_draft() -> None:
    found = LiveCA.model_validate(
        {
            "id": 1,
            "name": "LTV",
            "active_definition": LTV_FROM_API,
            "draft_definition": {
                **LTV_FROM_API,
                "time_period": {"type": "since", "date": "2019-10-01"},
            },
        }
    )
    assert found.active == desired(LTV).canonical
    assert found.draft is None


def test_live_data_the_docs_call_unknown_is_tolerated() -> None:
    # The single GET example of the docs: placeholder enums, `all` period, unknown fields.
    found = LiveCA.model_validate(
        {
            "id": 0,
            "name": "string",
            "active_definition": {
                "recipe_type": "event",
                "data_point": {
                    "type": "event",
                    "event_type": "unknown",
                    "custom_event_type": "unknown",
                },
                "conditions": [
                    {
                        "type": "string",
                        "operator": "exists",
                        "attribute_name": "s",
                        "value": "string",
                        "values": ["a"],
                        "min_value": "x",
                        "max_value": "y",
                    }
                ],
                "calculation_type": "count",
                "time_period": {
                    "type": "all",
                    "date": "2020-01-30",
                    "within": 0,
                    "within_unit": "days",
                },
            },
            "audience_count": 0,
            "extra": {"nested": True},
        }
    )
    assert found.active is not None
    assert found.active["time_period"] is not None
    assert found.active["time_period"]["type"] == "all"
    assert found.active["conditions"][0]["value"] is None  # exists takes no operand


def test_fingerprint_changes_with_meaning_only() -> None:
    one = LiveCA.model_validate(
        {
            "id": 1,
            "name": "LTV",
            "active_definition": LTV_FROM_API,
            "last_modified_on": "2020-01-01",
        }
    )
    same = LiveCA.model_validate(
        {
            "id": 1,
            "name": "LTV",
            "description": "",
            "active_definition": {**LTV_FROM_API, "conditions": LTV_FROM_API["conditions"]},
            "last_modified_on": "2024-01-01",
        }
    )
    renamed = LiveCA.model_validate({"id": 1, "name": "LTV2", "active_definition": LTV_FROM_API})
    used = LiveCA.model_validate(
        {"id": 1, "name": "LTV", "active_definition": LTV_FROM_API, "audience_count": 3}
    )
    assert one.fingerprint == same.fingerprint
    assert len({one.fingerprint, renamed.fingerprint, used.fingerprint}) == 3


@settings(max_examples=300)
@given(definitions(), st.integers(0, 2**32))
def test_api_shaped_json_equals_its_definition(data: dict[str, Any], seed: int) -> None:
    assert live(api_shaped(data, seed)).canonical == desired(data).canonical


@settings(max_examples=300)
@given(st.data())
def test_different_definitions_are_never_equal(draw: st.DataObject) -> None:
    data = draw.draw(definitions())
    changed = draw.draw(meaning_changes(data))
    assert desired(changed).canonical != desired(data).canonical
    seed = draw.draw(st.integers(0, 2**32))
    assert live(api_shaped(changed, seed)).canonical != desired(data).canonical


@given(definitions())
def test_canonical_form_is_a_fixed_point(data: dict[str, Any]) -> None:
    # Sending the canonical form and reading it back must not change its meaning.
    first = desired(data).canonical
    as_json: dict[str, Any] = dict(first)
    assert live(as_json).canonical == first
    assert desired(as_json).canonical == first
