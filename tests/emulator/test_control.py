"""The `/_emulator/` test endpoints themselves: settings, clock, audience counts, seeds
paging and reset, including the answers to bad input."""

from __future__ import annotations

import httpx
import pytest

from tests.emulator.api import Api, ca_body
from tests.support.emulator import EmulatorServer


def test_settings_change_and_reset(api: Api, emulator: EmulatorServer) -> None:
    defaults = emulator.settings()
    assert defaults == {
        "max_active": 100,
        "retention_days": None,
        "calculation_seconds": 30,
        "fault_rate": 0,
        "latency_ms": 0,
        "rate_limit": None,
        "propagation_delay": 0,
        "business_rule_status": None,
        "propagation_status": 400,
    }
    changed = emulator.settings(
        max_active=1, retention_days=7, rate_limit=1000, business_rule_status=409
    )
    assert changed["max_active"] == 1
    assert changed["retention_days"] == 7
    assert changed["business_rule_status"] == 409
    emulator.settings(retention_days=None)
    assert emulator.settings()["retention_days"] is None
    emulator.reset()
    assert emulator.settings() == defaults


@pytest.mark.parametrize(
    "body",
    [
        {"max_active": "many"},
        {"max_active": 1.5},
        {"fault_rate": 2},
        {"latency_ms": -1},
        {"rate_limit": 0},
        {"max_active": True},
        {"business_rule_status": 500},
        {"business_rule_status": True},
        {"propagation_status": 422},
        {"propagation_delay": -1},
        {"verbose": True},
        ["max_active", 1],
    ],
)
def test_bad_settings_are_refused(emulator: EmulatorServer, body: object) -> None:
    response = httpx.put(emulator.url + "/_emulator/settings", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "BAD_REQUEST"


def test_clock_and_bad_bodies(api: Api, emulator: EmulatorServer) -> None:
    http = api.http
    assert http.post("/_emulator/clock", json={"advance_seconds": 90}).json() == {
        "offset_seconds": 90
    }
    assert http.get("/_emulator/clock").json() == {"offset_seconds": 90}
    assert http.post("/_emulator/clock", json={"advance_seconds": -1}).status_code == 400
    assert http.post("/_emulator/clock", content=b"nope").status_code == 400
    ca_id = api.create_ok(ca_body())
    path = f"/_emulator/calculatedattributes/{ca_id}/audience_count"
    for bad in ({}, {"audience_count": "3"}, {"audience_count": True}, {"audience_count": 2**63}):
        assert http.put(path, json=bad).status_code == 400
    assert http.put(path, content=b"nope").status_code == 400
    assert http.put(path, json={"audience_count": 3}).status_code == 204
    assert api.get(ca_id).json()["audience_count"] == 3
    assert http.get("/_emulator/seeds", params={"limit": "x"}).status_code == 400
    emulator.reset()
    assert http.get("/_emulator/clock").json() == {"offset_seconds": 0}
    assert api.list().json() == []


def test_an_audience_count_may_be_negative_or_left_out_of_the_answers(
    api: Api, emulator: EmulatorServer
) -> None:
    """What some APIs send for "unknown" (-1), or no count at all: mParticle's docs show one
    on every CA, so only this control makes either, for the CAs it names, in every answer
    (the list and the single GET), until the count is set again or the CA deleted."""
    unknown, absent, counted = (api.create_ok(ca_body(f"CA {n}")) for n in range(3))
    emulator.set_audience_count(unknown, -1)
    emulator.set_audience_count(absent, None)
    emulator.set_audience_count(counted, 2)
    listed = {item["id"]: item for item in api.list().json()}
    for answers in (listed, {ca_id: api.get(ca_id).json() for ca_id in listed}):
        assert answers[unknown]["audience_count"] == -1
        assert "audience_count" not in answers[absent]
        assert answers[counted]["audience_count"] == 2
    emulator.set_audience_count(absent, 0)
    assert api.get(absent).json()["audience_count"] == 0
    emulator.set_audience_count(absent, None)
    assert api.delete(absent).status_code == 204
    emulator.reset()
    assert api.list().json() == []
