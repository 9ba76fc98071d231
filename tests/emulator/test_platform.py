"""Platform API behaviour over real HTTP: activation, drafts, audit fields, calculation
progress, workspaces, and what the emulator accepts and normalises on input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.emulator.api import Api, ca_body, definition
from tests.support.emulator import EmulatorServer


def test_activation_moves_the_draft_into_the_active_definition(
    api: Api, emulator: EmulatorServer
) -> None:
    ca_id = api.create_ok(ca_body())
    created = api.get(ca_id).json()
    assert created["activated_on"] is None
    assert api.activation(ca_id).json()["is_active"] is False

    emulator.advance_clock(1)
    assert api.activate(ca_id).status_code == 204
    active = api.get(ca_id).json()
    assert active["draft_definition"] is None
    assert active["active_definition"] == created["draft_definition"]
    assert active["activated_on"] is not None
    assert active["activated_by"] == "emulator"
    assert active["last_modified_on"] > created["last_modified_on"]
    assert active["created_on"] == created["created_on"]
    status = api.activation(ca_id).json()
    assert status["is_active"] is True
    assert status["activated_on"] == active["activated_on"]


def test_every_write_moves_last_modified(api: Api, emulator: EmulatorServer) -> None:
    ca_id = api.create_ok(ca_body())
    seen = [api.get(ca_id).json()["last_modified_on"]]
    writes: list[Callable[[], httpx.Response]] = [
        lambda: api.update(ca_id, ca_body(calculation_type="count")),
        lambda: api.activate(ca_id),
        lambda: api.update(ca_id, ca_body(calculation_type="max")),
        lambda: api.discard_draft(ca_id),
    ]
    for write in writes:
        emulator.advance_clock(2)
        assert write().status_code == 204
        seen.append(api.get(ca_id).json()["last_modified_on"])
    assert seen == sorted(set(seen))


def test_discarding_a_draft_keeps_the_active_definition(api: Api) -> None:
    ca_id = api.create_ok(ca_body())
    api.activate(ca_id)
    api.update(ca_id, ca_body(calculation_type="count"))
    assert api.get(ca_id).json()["draft_definition"]["calculation_type"] == "count"
    assert api.discard_draft(ca_id).status_code == 204
    got = api.get(ca_id).json()
    assert got["draft_definition"] is None
    assert got["active_definition"]["calculation_type"] == "sum"
    assert api.discard_draft(ca_id).status_code == 204  # nothing left to discard: still 204


def test_delete_removes_the_ca(api: Api) -> None:
    ca_id = api.create_ok(ca_body())
    api.activate(ca_id)
    assert api.delete(ca_id).status_code == 204
    assert api.get(ca_id).status_code == 404
    assert api.list().json() == []
    assert api.delete(ca_id).status_code == 404
    assert api.create(ca_body()).status_code == 201  # the name is free again


def test_calculation_progress_follows_the_clock(api: Api, emulator: EmulatorServer) -> None:
    # Long enough that the real time a slow machine takes between requests (< 10 s) cannot
    # move the percentage: the emulator clock is what moves it.
    emulator.settings(calculation_seconds=1000)
    ca_id = api.create_ok(ca_body())
    before = api.calculation(ca_id).json()
    assert before["revision_id"] == 0
    assert before["is_calculated"] is False
    assert before["calculation_percent_complete"] == 0
    assert before["estimated_completion_time"] is None

    api.activate(ca_id)
    emulator.advance_clock(500)
    half = api.calculation(ca_id).json()
    assert half["revision_id"] == 1
    assert half["calculation_percent_complete"] == 50
    assert half["is_calculated"] is False
    assert half["estimated_completion_time"].endswith("Z")

    emulator.advance_clock(600)
    done = api.calculation(ca_id).json()
    assert done["calculation_percent_complete"] == 100
    assert done["is_calculated"] is True

    api.update(ca_id, ca_body(calculation_type="count"))
    assert api.calculation(ca_id).json()["is_calculated"] is True  # drafts do not recalculate
    api.activate(ca_id)
    again = api.calculation(ca_id).json()
    assert again["revision_id"] == 2
    assert again["is_calculated"] is False


def test_zero_calculation_seconds_calculates_at_once(api: Api, emulator: EmulatorServer) -> None:
    emulator.settings(calculation_seconds=0)
    ca_id = api.create_ok(ca_body())
    api.activate(ca_id)
    assert api.calculation(ca_id).json()["is_calculated"] is True


def test_list_filters_by_exact_name_and_workspaces_are_isolated(
    api: Api, emulator: EmulatorServer
) -> None:
    api.create_ok(ca_body("LTV"))
    api.create_ok(ca_body("LTV 2"))
    assert [ca["name"] for ca in api.list().json()] == ["LTV", "LTV 2"]
    assert [ca["name"] for ca in api.list("LTV").json()] == ["LTV"]
    assert api.list("ltv").json() == []

    other = Api(emulator, workspace=99)
    try:
        assert other.list().json() == []
        assert other.create(ca_body("LTV")).status_code == 201  # names are per workspace
        own_id = api.list("LTV").json()[0]["id"]
        assert other.get(own_id).status_code == 404
    finally:
        other.close()


def test_input_spellings_are_accepted_and_normalised(api: Api) -> None:
    point = definition()["datapoint"]
    body: dict[str, Any] = {
        "name": "Biggest",
        "unknown_top_level": True,
        "draft_definition": {
            **definition(),
            "datapoint": None,
            "data_point": {**point, "extra": 1},
            "calculation_type": "maximum",
            "time_period": {"type": "since", "date": "2019-10-01T02:00:00+02:00"},
            "seeding": {"cutoff_date": "2019-10-02"},
            "conditions": [
                {
                    "type": "string",
                    "operator": "in_list",
                    "attribute_name": "Colour",
                    "value": "ignored for in_list",
                    "values": ["red", "blue"],
                }
            ],
        },
    }
    ca_id = api.create_ok(body)
    draft = api.get(ca_id).json()["draft_definition"]
    assert draft["data_point"] == point
    assert draft["calculation_type"] == "max"
    assert draft["time_period"] == {
        "type": "since",
        "date": "2019-10-01T00:00:00",
        "within": None,
        "within_unit": None,
    }
    assert draft["seeding"] == {"cutoff_date": "2019-10-02T00:00:00"}
    assert draft["conditions"] == [
        {
            "type": "string",
            "operator": "in_list",
            "attribute_name": "Colour",
            "value": None,
            "values": ["red", "blue"],
            "min_value": None,
            "max_value": None,
        }
    ]
    listed = api.list().json()[0]["draft_definition"]
    assert "datapoint" in listed
    assert "data_point" not in listed


def test_within_period_and_default_category(api: Api) -> None:
    point = {
        "type": "event",
        "event_name": "Search",
        "event_type": "custom_event",
        "custom_event_type": "search",
        "attribute_name": "Term",
    }
    body = ca_body(
        datapoint=point,
        calculation_type="most_frequent",
        conditions=None,
        time_period={"type": "within", "within": 2, "within_unit": "weeks"},
        seeding=None,
    )
    ca_id = api.create_ok(body)
    draft = api.get(ca_id).json()["draft_definition"]
    assert draft["time_period"] == {
        "type": "within",
        "date": None,
        "within": 2,
        "within_unit": "weeks",
    }
    assert draft["data_point"]["attribute_category"] == "event_attribute"
    assert draft["data_point"]["use_product_quantity"] is False


def test_a_date_out_of_range_in_utc_is_an_invalid_time_period_not_a_crash(api: Api) -> None:
    for date in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"):
        body = {
            "name": "Far",
            "draft_definition": definition(time_period={"type": "since", "date": date}),
        }
        answer = api.create(body)
        assert answer.status_code == 400, (date, answer.text)


def test_update_without_description_keeps_it(api: Api) -> None:
    ca_id = api.create_ok({**ca_body(), "description": "kept"})
    body = ca_body()
    del body["description"]
    assert api.update(ca_id, body).status_code == 204
    assert api.get(ca_id).json()["description"] == "kept"


def test_undocumented_required_fields_are_refused(api: Api) -> None:
    point = definition()["datapoint"]
    cases = [
        (ca_body(datapoint=None), "Invalid data point specification"),
        (ca_body(datapoint={**point, "type": "audience"}), "Invalid data point type"),
        (ca_body(datapoint={**point, "event_type": "purchase"}), "Invalid data point event type"),
        (
            ca_body(datapoint={**point, "type": "event_attribute", "attribute_name": None}),
            "Invalid data point attribute name",
        ),
        (
            ca_body(datapoint={**point, "attribute_category": "x"}),
            "Invalid data point attribute category",
        ),
        (
            ca_body(datapoint={**point, "use_product_quantity": "yes"}),
            "Invalid data point use product quantity",
        ),
        (ca_body(datapoint={**point, "event_name": 5}), "Invalid data point event name"),
        (ca_body(seeding={"cutoff": "2020-01-01"}), "Invalid seeding specification"),
        ({**ca_body(), "description": 5}, "Field 'description' must be a string."),
        (["not", "an", "object"], "The request body must be a JSON object."),
    ]
    for body, message in cases:
        response = api.create(body)
        assert response.status_code == 400, body
        assert response.json()["errors"] == [{"code": "VALIDATION_ERROR", "message": message}]


def test_condition_values_must_be_strings(api: Api) -> None:
    number = {"type": "number", "operator": "equals", "attribute_name": "Step", "value": 22}
    boolean = {"type": "boolean", "operator": "equals", "attribute_name": "Paid", "value": True}
    listed = {"type": "number", "operator": "in_list", "attribute_name": "Step", "values": [1]}
    response = api.create(ca_body(conditions=[number, boolean, listed]))
    assert [e["message"] for e in response.json()["errors"]] == [
        "Invalid numeric condition value",
        "Invalid boolean condition value",
        "Invalid numeric in-list condition values",
    ]
