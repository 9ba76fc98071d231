"""`GET /_emulator/log`: every API request in arrival order, with its status, the CA a
Platform API call concerned and what a seeding request carried."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from tests.emulator.api import Api, ca_body
from tests.support.emulator import EmulatorServer

BASE = "/platform/v2/workspaces/{workspace_id}/calculatedattributes"
SEEDED = {
    "calculation_type": "sum",
    "datapoint": {"type": "event", "event_type": "custom_event", "event_name": "Buy",
                  "custom_event_type": "transaction", "attribute_name": "Amount"},
    "time_period": {"type": "since", "date": "2024-01-01"},
    "seeding": {"cutoff_date": "2024-02-01"},
    "recipe_type": "event",
}  # fmt: skip


def seed_user(mpid: int, name: str = "LTV") -> dict[str, Any]:
    return {
        "environment": "development",
        "mpid": mpid,
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": name,
                    "calculation_type": "sum",
                    "cutoff_date": "2024-02-01",
                    "seed": {"value": 1},
                }
            ]
        },
    }


def test_the_log_keeps_the_order_the_status_and_what_each_request_concerned(
    api: Api, emulator: EmulatorServer
) -> None:
    start = len(emulator.log())  # the token request of the fixture's client
    ca_id = api.create_ok({"name": "LTV", "draft_definition": SEEDED})
    assert api.seed_bulk([seed_user(1), seed_user(2)]).status_code == 202
    assert api.seed_bulk([seed_user(3, "Nope")]).status_code == 400
    assert api.activate(ca_id).status_code == 204
    assert api.get(123456).status_code == 404
    entries = emulator.log()[start:]
    assert [(e["method"], e["route"], e["status"]) for e in entries] == [
        ("POST", BASE, 201),
        ("POST", "/v2/bulkcalculatedattributes", 202),
        ("POST", "/v2/bulkcalculatedattributes", 400),
        ("POST", BASE + "/{id}/activation", 204),
        ("GET", BASE + "/{id}", 404),
    ]
    assert entries[0]["ca"] == {"id": ca_id, "name": "LTV"}
    assert entries[1]["seeds"] == {"users": 2, "cas": ["LTV"], "mpids": [1, 2]}
    assert entries[2]["seeds"] == {"users": 1, "cas": ["Nope"], "mpids": [3]}
    assert entries[3]["ca"] == {"id": ca_id, "name": "LTV"}
    assert entries[4]["ca"] == {"id": 123456, "name": None}
    numbers = [e["n"] for e in entries]
    assert numbers == sorted(numbers)
    assert emulator.log(since=numbers[3]) == entries[3:]
    emulator.reset()
    assert emulator.log() == []


def test_a_fault_is_logged_with_whether_the_request_took_effect(
    api: Api, emulator: EmulatorServer
) -> None:
    emulator.settings(fault_rate=1.0)
    for number in range(12):
        with contextlib.suppress(httpx.TransportError):  # a dropped connection
            api.create(ca_body(f"X{number}"))
    emulator.settings(fault_rate=0)
    faulted = [e for e in emulator.log() if e["route"] == BASE and e["method"] == "POST"]
    assert len(faulted) == 12
    status = {
        "too_many_requests": 429,
        "service_unavailable": 503,
        "server_error": 500,
        "commit_then_500": 500,
        "dropped_connection": 200,  # the head went out; the body never came
    }
    assert all(e["status"] == status[e["fault"]] for e in faulted), faulted
    created = {ca["name"] for ca in api.list().json()}
    assert created == {e["ca"]["name"] for e in faulted if e["committed"]}
