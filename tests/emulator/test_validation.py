"""One test per message of the Platform API page's "Validation Error Responses" tables,
on create and on update, over real HTTP: status 400 (422 for business rules) and the body
`{"errors": [{"code": "VALIDATION_ERROR", "message": <documented message>}]}`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.emulator.api import Api, ca_body, definition, messages
from tests.support.emulator import EmulatorServer

Body = dict[str, Any]


def condition(kind: str, operator: str, **values: Any) -> dict[str, Any]:
    return {"type": kind, "operator": operator, "attribute_name": "Checkout Step", **values}


def with_condition(kind: str, operator: str, **values: Any) -> Body:
    return ca_body(conditions=[condition(kind, operator, **values)])


def without(key: str) -> Body:
    body = ca_body()
    del body[key]
    return body


def data_point(**changes: Any) -> Body:
    point = {**definition()["datapoint"], **changes}
    return ca_body(datapoint=point)


def time_period(**period: Any) -> Body:
    return ca_body(time_period=period, seeding=None)


# (documented message, a body that breaks only that rule)
CASES: list[tuple[str, Callable[[], Body]]] = [
    ("Field 'name' is required.", lambda: without("name")),
    ("Field 'draft_definition' is required.", lambda: without("draft_definition")),
    ("Field 'time_period.type' = 'all' is not supported.", lambda: time_period(type="all")),
    ("Invalid recipe type", lambda: ca_body(recipe_type="audience")),
    ("Invalid calculation type", lambda: ca_body(calculation_type="median")),
    ("Invalid time period specification", lambda: ca_body(time_period=None)),
    ("Invalid time period specification", lambda: time_period(type="since", date="soon")),
    ("Invalid 'type' time period specification", lambda: time_period(type="rolling")),
    (
        "Invalid 'within' time period specification",
        lambda: time_period(type="within", within=0, within_unit="days"),
    ),
    (
        "Invalid 'within_unit' time period specification",
        lambda: time_period(type="within", within=3, within_unit="months"),
    ),
    (
        "Invalid data point custom event name",
        lambda: data_point(event_type="custom_event", event_name=None, custom_event_type=None),
    ),
    (
        "Invalid data point custom event type",
        lambda: data_point(event_type="screen_view", custom_event_type="navigation"),
    ),
    ("Invalid condition definition", lambda: ca_body(conditions=["Checkout Step = 22"])),
    ("Invalid condition definition type", lambda: with_condition("integer", "equals", value="1")),
    ("Invalid string condition operator", lambda: with_condition("string", "greater_than")),
    (
        "Condition attribute name must be specified",
        lambda: ca_body(conditions=[{"type": "string", "operator": "exists"}]),
    ),
    ("In-list condition values must be specified", lambda: with_condition("string", "in_list")),
    ("String condition value must be specified", lambda: with_condition("string", "equals")),
    ("Invalid numeric condition operator", lambda: with_condition("number", "contains", value="1")),
    (
        "Invalid numeric in-list condition values",
        lambda: with_condition("number", "in_list", values=["1", "two"]),
    ),
    (
        "Invalid numeric condition minimum value",
        lambda: with_condition("number", "between", max_value="5"),
    ),
    (
        "Invalid numeric condition maximum value",
        lambda: with_condition("number", "between", min_value="1", max_value="x"),
    ),
    ("Invalid numeric condition value", lambda: with_condition("number", "equals", value="abc")),
    ("Invalid boolean condition operator", lambda: with_condition("boolean", "less_than")),
    ("Invalid boolean condition value", lambda: with_condition("boolean", "equals", value="yes")),
    ("Invalid date condition operator", lambda: with_condition("date", "contains", value="x")),
    (
        "Invalid date condition minimum value",
        lambda: with_condition("date", "between_dates", min_value="x", max_value="2020-01-01"),
    ),
    (
        "Invalid date condition maximum value",
        lambda: with_condition("date", "between_dates", min_value="2020-01-01"),
    ),
    ("Invalid date condition value", lambda: with_condition("date", "before", value="yesterday")),
    (
        "Condition value must be empty",
        lambda: with_condition("number", "between", value="3", min_value="1", max_value="5"),
    ),
    (
        "Condition values must be empty",
        lambda: with_condition("string", "equals", value="a", values=["a"]),
    ),
    (
        "Condition minimum value must be empty",
        lambda: with_condition("number", "equals", value="1", min_value="0"),
    ),
    (
        "Condition maximum value must be empty",
        lambda: with_condition("number", "equals", value="1", max_value="9"),
    ),
]


@pytest.mark.parametrize("method", ["create", "update"])
@pytest.mark.parametrize(("message", "make_body"), CASES)
def test_documented_message(
    api: Api, method: str, message: str, make_body: Callable[[], Body]
) -> None:
    if method == "create":
        response = api.create(make_body())
    else:
        ca_id = api.create_ok(ca_body())
        response = api.update(ca_id, make_body())
    assert response.status_code == 400, response.text
    assert response.json() == {"errors": [{"code": "VALIDATION_ERROR", "message": message}]}


@pytest.mark.parametrize("method", ["create", "update"])
def test_name_must_be_unique(api: Api, method: str) -> None:
    api.create_ok(ca_body("LTV"))
    if method == "create":
        response = api.create(ca_body("LTV"))
    else:
        response = api.update(api.create_ok(ca_body("Other")), ca_body("LTV"))
    assert response.status_code == 400
    assert messages(response) == ["Field 'name' must be unique."]


def test_date_in_list_is_refused_by_the_type_map(api: Api) -> None:
    # The table lists "Invalid datetime in-list condition values", but the operator × type
    # map says date has no in_list: the map wins, so the operator is what is reported.
    response = api.create(with_condition("date", "in_list", values=["2020-01-01"]))
    assert messages(response) == ["Invalid date condition operator"]


def test_retention_date_message(api: Api, emulator: EmulatorServer) -> None:
    emulator.settings(retention_days=30)
    response = api.create(time_period(type="since", date="2019-10-01"))
    assert response.status_code == 400
    [message] = messages(response)
    prefix = "'time_period.date' must be on or after the earliest date available of "
    assert message.startswith(prefix)
    earliest = date.fromisoformat(message[len(prefix) :])
    assert abs((date.today() - earliest).days - 30) <= 1  # the runner's and server's "today"
    recent = (date.today() - timedelta(days=5)).isoformat()
    assert api.create(time_period(type="since", date=recent)).status_code == 201


def test_retention_within_message(api: Api, emulator: EmulatorServer) -> None:
    emulator.settings(retention_days=30)
    response = api.create(time_period(type="within", within=5, within_unit="weeks"))
    assert messages(response) == [
        "The within time period cannot exceed your configured retention period of 30 days "
        "for Calculated Attributes"
    ]
    ok = time_period(type="within", within=30, within_unit="days")
    assert api.create(ok).status_code == 201


def test_name_cannot_change_after_activation(api: Api) -> None:
    ca_id = api.create_ok(ca_body("LTV"))
    assert api.update(ca_id, ca_body("Lifetime value")).status_code == 204  # not yet active
    assert api.activate(ca_id).status_code == 204
    response = api.update(ca_id, ca_body("LTV"))
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "code": "VALIDATION_ERROR",
                "message": "Calculated attribute name cannot be changed once the calculated "
                "attribute has been activated.",
            }
        ]
    }
    described = {**ca_body("Lifetime value"), "description": "new words"}
    assert api.update(ca_id, described).status_code == 204


def test_active_limit(api: Api, emulator: EmulatorServer) -> None:
    emulator.settings(max_active=2)
    ids = [api.create_ok(ca_body(f"ca{n}")) for n in range(3)]
    assert api.activate(ids[0]).status_code == 204
    assert api.activate(ids[1]).status_code == 204
    response = api.activate(ids[2])
    assert response.status_code == 422
    assert messages(response) == [
        "You have reached the account limit on active calculated attributes."
    ]
    # Re-activating an active CA with a new draft does not count twice.
    api.update(ids[0], ca_body("ca0", calculation_type="count"))
    assert api.activate(ids[0]).status_code == 204


def test_activation_needs_a_draft(api: Api) -> None:
    ca_id = api.create_ok(ca_body())
    assert api.activate(ca_id).status_code == 204
    response = api.activate(ca_id)
    assert response.status_code == 422
    assert messages(response) == ["No draft definition was found to activate."]


def test_all_errors_of_a_request_are_reported(api: Api) -> None:
    body = {
        "description": "no name",
        "draft_definition": definition(
            recipe_type="audience",
            calculation_type="median",
            time_period={"type": "within", "within": -1, "within_unit": "years"},
            conditions=[
                condition("number", "equals", value="x"),
                condition("boolean", "equals", value="maybe"),
            ],
        ),
    }
    assert messages(api.create(body)) == [
        "Field 'name' is required.",
        "Invalid recipe type",
        "Invalid numeric condition value",
        "Invalid boolean condition value",
        "Invalid calculation type",
        "Invalid 'within' time period specification",
        "Invalid 'within_unit' time period specification",
    ]


@pytest.mark.parametrize(
    ("kind", "operator", "values"),
    [
        ("string", "exists", {}),
        ("number", "not_exists", {}),
        ("boolean", "empty", {}),
        ("date", "exists", {}),
        ("string", "in_list", {"values": ["a", "b"]}),
        ("number", "in_list", {"values": ["1", "2.5"]}),
        ("string", "contains", {"value": "a"}),
        ("string", "not_contains", {"value": "a"}),
        ("string", "pattern", {"value": "^a.*"}),
        ("string", "equals", {"value": "a"}),
        ("number", "equals", {"value": "-1.5e3"}),
        ("boolean", "equals", {"value": "true"}),
        ("date", "equals", {"value": "2020-01-30"}),
        ("string", "not_equals", {"value": "a"}),
        ("number", "not_equals", {"value": "1"}),
        ("number", "greater_than", {"value": "1"}),
        ("number", "greater_or_equal", {"value": "1"}),
        ("number", "less_than", {"value": "1"}),
        ("number", "less_than_or_equal", {"value": "1"}),
        ("date", "before", {"value": "2020-01-30T17:37:41.608Z"}),
        ("date", "after", {"value": "2020-01-30T00:00:00"}),
        ("number", "between", {"min_value": "1", "max_value": "5"}),
        ("date", "between_dates", {"min_value": "2020-01-01", "max_value": "2020-02-01"}),
    ],
)
def test_every_supported_operator_is_accepted(
    api: Api, kind: str, operator: str, values: dict[str, Any]
) -> None:
    response = api.create(with_condition(kind, operator, **values))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("status", [400, 409, 422])
def test_business_rules_answer_the_status_the_settings_choose(
    api: Api, emulator: EmulatorServer, status: int
) -> None:
    """The docs give no status for the business rules: every reading can be chosen."""
    emulator.settings(business_rule_status=status, max_active=1)
    first = api.create_ok(ca_body("A"))
    taken = api.create(ca_body("A"))
    assert (taken.status_code, messages(taken)) == (status, ["Field 'name' must be unique."])
    assert api.activate(first).status_code == 204
    no_draft = api.activate(first)
    assert (no_draft.status_code, messages(no_draft)) == (
        status,
        ["No draft definition was found to activate."],
    )
    renamed = api.update(first, ca_body("B"))
    assert renamed.status_code == status
    second = api.create_ok(ca_body("B"))
    over = api.activate(second)
    assert (over.status_code, messages(over)) == (
        status,
        ["You have reached the account limit on active calculated attributes."],
    )
