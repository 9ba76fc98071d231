"""The emulator's Events API (`POST /v2/events`, `/v2/bulkevents`) and its profile read
(`GET /_emulator/profiles/{mpid}`), in-process: Basic auth, the documented shapes and the
256 KB limit, events stored per user, CA values computed from seeds + events."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from reconciler.emulator import EmulatorConfig, create_app
from reconciler.emulator.events import derived_mpid
from tests.support.emulator import AUDIENCE, in_process

ORIGINALS = Path(__file__).parent / "originals"

PATH = "/platform/v2/workspaces/1234/calculatedattributes"
BASIC = {"Authorization": "Basic " + base64.b64encode(b"emulator:emulator").decode()}
JAN = 1704067200000  # 2024-01-01T00:00:00Z
DAY = 86_400_000


def _search(when: object, term: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_name": "Search",
        "custom_event_type": "search",
        "custom_attributes": {"Term": term},
    }
    if when is not None:
        data["timestamp_unixtime_ms"] = when
    return {"event_type": "custom_event", "data": data}


def _definition(calculation: str, attribute: str | None = "Term") -> dict[str, Any]:
    return {
        "recipe_type": "event",
        "datapoint": {
            "type": "event",
            "event_name": "Search",
            "event_type": "custom_event",
            "custom_event_type": "search",
            "attribute_name": attribute,
        },
        "conditions": [],
        "calculation_type": calculation,
        "time_period": {"type": "since", "date": "2023-01-01T00:00:00"},
        "seeding": {"cutoff_date": "2023-06-01T00:00:00"},
    }


def _searches_seed(count: int, **who: object) -> dict[str, Any]:
    """A seed of `count` for the count CA "Searches", for the user `who` names (`mpid=`,
    `identities=`), as the seeding page's body holds it."""
    entry: dict[str, Any] = {"attribute_name": "Searches", "calculation_type": "count"}
    entry |= {"cutoff_date": "2023-06-01", "seed": {"value": count}}
    return {"environment": "development", **who, "calculated_attributes": {"workspace": [entry]}}


class Emulator:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def create(
        self,
        name: str,
        definition: dict[str, Any],
        *,
        activate: bool = True,
        workspace_id: int = 1234,
    ) -> None:
        path = PATH.replace("1234", str(workspace_id))
        token = await self.http.post(
            "/oauth/token",
            json={
                "client_id": "emulator",
                "client_secret": "emulator",
                "audience": AUDIENCE,
                "grant_type": "client_credentials",
            },
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = {"name": name, "draft_definition": definition}
        created = await self.http.post(path, json=body, headers=headers)
        assert created.status_code == 201, created.text
        if activate:
            done = await self.http.post(f"{path}/{created.json()}/activation", headers=headers)
            assert done.status_code == 204

    async def post(self, path: str, body: object, **headers: str) -> httpx.Response:
        return await self.http.post(path, json=body, headers=headers or BASIC)

    async def profile(self, mpid: int, **params: str) -> dict[str, Any]:
        response = await self.http.get(f"/_emulator/profiles/{mpid}", params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with in_process(create_app(EmulatorConfig(workspace_id=1234))) as http:
        yield Emulator(http)


AS_OF = {"as_of": "2024-03-01T00:00:00Z"}


async def test_events_become_profile_values_of_active_cas(emulator: Emulator) -> None:
    await emulator.create("Last Term", _definition("last_occurrence"))
    await emulator.create("Searches", _definition("count", None))
    await emulator.create("Draft", _definition("count", None), activate=False)
    batch = {"mpid": 42, "environment": "development", "events": [_search(JAN, "hats")]}
    assert (await emulator.post("/v2/events", batch)).status_code == 202
    later = {"mpid": 42, "events": [_search(JAN + DAY, "shoes")]}
    assert (await emulator.post("/v2/bulkevents", [later, later])).status_code == 202
    profile = await emulator.profile(42, **AS_OF)
    assert profile["calculated_attributes"] == {"Last Term": "shoes", "Searches": "3"}
    assert profile["events"] == 3
    assert profile["as_of"] == "2024-03-01T00:00:00.000Z"
    before = await emulator.profile(42, as_of=str(JAN + 1))
    assert before["calculated_attributes"] == {"Last Term": "hats", "Searches": "1"}


async def test_seeds_combine_with_events(emulator: Emulator) -> None:
    await emulator.create("Searches", _definition("count", None))
    seed = _searches_seed(10, mpid=42)
    assert (await emulator.post("/v2/calculatedattributes", seed)).status_code == 202
    await emulator.post("/v2/events", {"mpid": 42, "events": [_search(JAN, "x")]})
    assert (await emulator.profile(42, **AS_OF))["calculated_attributes"] == {"Searches": "11"}
    assert (await emulator.profile(7, **AS_OF))["calculated_attributes"] == {"Searches": "0"}


async def test_users_known_by_identities(emulator: Emulator) -> None:
    await emulator.create("Searches", _definition("count", None))
    email = {"email": "a@example.com"}
    await emulator.post("/v2/events", {"user_identities": email, "events": [_search(JAN, "x")]})
    mpid = derived_mpid(email)
    assert (await emulator.profile(mpid, **AS_OF))["calculated_attributes"] == {"Searches": "1"}
    # A batch naming the mpid and a new identity links them; later batches follow.
    both = {"mpid": 5, "user_identities": {"customer_id": "c5"}, "events": []}
    await emulator.post("/v2/events", both)
    by_id = {"user_identities": {"customer_id": "c5"}, "events": [_search(JAN, "y")]}
    await emulator.post("/v2/events", by_id)
    assert (await emulator.profile(5, **AS_OF))["calculated_attributes"] == {"Searches": "1"}


async def test_identities_sent_beside_an_mpid_seed_no_one_else(emulator: Emulator) -> None:
    """The seeding page: "If `mpid` is set, then the `identities` will be ignored". Seeds
    sent so are the mpid's alone, not those of another user whose batches name the same
    identity; and an identity no user could have (a list) breaks no profile read."""
    await emulator.create("Searches", _definition("count", None))

    email = {"email": "a@example.com"}
    first = _searches_seed(10, mpid=1, identities=email)
    assert (await emulator.post("/v2/calculatedattributes", first)).status_code == 202
    odd = _searches_seed(5, mpid=3, identities={"email": ["a@example.com"]})
    assert (await emulator.post("/v2/calculatedattributes", odd)).status_code == 202
    batch = {"mpid": 2, "user_identities": email, "events": [_search(JAN, "x")]}
    assert (await emulator.post("/v2/events", batch)).status_code == 202
    assert (await emulator.profile(2, **AS_OF))["calculated_attributes"] == {"Searches": "1"}
    assert (await emulator.profile(1, **AS_OF))["calculated_attributes"] == {"Searches": "10"}


async def test_a_batch_may_name_its_user_by_a_device_identity_alone(emulator: Emulator) -> None:
    """The reference's `mpid` is "calculated based on user and device identities in the
    batch", and every batch property is optional: `device_info` alone names the user, and
    seeds sent with that identity (the seeding page's name for it) are that user's."""
    await emulator.create("Searches", _definition("count", None))
    gaid = "82416a37-84d7-417f-84f3-a5b5c6a9c570"
    batch = {"device_info": {"android_advertising_id": gaid}, "events": [_search(JAN, "x")]}
    assert (await emulator.post("/v2/events", batch)).status_code == 202, "refused"
    seed = _searches_seed(10, identities={"google_advertising_id": gaid})
    assert (await emulator.post("/v2/calculatedattributes", seed)).status_code == 202
    mpid = derived_mpid({"google_advertising_id": gaid})
    assert (await emulator.profile(mpid, **AS_OF))["calculated_attributes"] == {"Searches": "11"}


async def test_the_master_sample_is_taken_with_its_device_identities(emulator: Emulator) -> None:
    """The JSON reference's master sample (`originals/events_master_sample.json`): accepted,
    its user named by its user identities, and its device's IDFA known as theirs too."""
    sample = orjson.loads((ORIGINALS / "events_master_sample.json").read_bytes())
    sessions = {
        "recipe_type": "event",
        "datapoint": {"type": "event", "event_type": "session_start"},
        "calculation_type": "count",
        "time_period": {"type": "since", "date": "2015-01-01T00:00:00"},
        "seeding": {"cutoff_date": "2015-01-02T00:00:00"},
    }
    await emulator.create("Sessions", sessions)
    assert (await emulator.post("/v2/events", sample)).status_code == 202
    seed = {
        "environment": "production",
        "identities": {"ios_advertising_id": sample["device_info"]["ios_advertising_id"]},
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "Sessions",
                    "calculation_type": "count",
                    "cutoff_date": "2015-01-02",
                    "seed": {"value": 4},
                }
            ]
        },
    }
    assert (await emulator.post("/v2/calculatedattributes", seed)).status_code == 202
    profile = await emulator.profile(derived_mpid(sample["user_identities"]))
    assert profile["events"] == len(sample["events"]) == 4
    assert profile["calculated_attributes"] == {"Sessions": "5"}


async def test_an_event_without_timestamp_gets_the_receive_time(emulator: Emulator) -> None:
    await emulator.create("Last", _definition("last_occurrence_timestamp", None))
    await emulator.post("/v2/events", {"mpid": 1, "events": [_search(None, "x")]})
    profile = await emulator.profile(1)
    assert profile["calculated_attributes"]["Last"] != "-"
    assert profile["calculated_attributes"]["Last"][:4] == profile["as_of"][:4]


async def test_a_batch_sent_again_with_its_source_request_id_is_stored_once(
    emulator: Emulator,
) -> None:
    """The JSON reference: `source_request_id` "is used to deduplicate inbound requests"."""
    await emulator.create("Searches", _definition("count", attribute=None))
    batch = {"environment": "production", "mpid": 42, "events": [_search(JAN, "shoes")]}
    again = {**batch, "source_request_id": "7fa67be4-0b3a-4c1e-9a53-2d4c1f9e8b10"}
    for body in (again, again, [again, {**again}]):
        path = "/v2/bulkevents" if isinstance(body, list) else "/v2/events"
        assert (await emulator.post(path, body)).status_code == 202
    assert (await emulator.post("/v2/events", batch)).status_code == 202  # no id: kept
    profile = await emulator.profile(42, **AS_OF)
    assert profile["events"] == 2
    assert profile["calculated_attributes"] == {"Searches": "2"}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v2/events", [], "A batch must be a JSON object"),
        ("/v2/bulkevents", {"events": []}, "The request body must be an array."),
        ("/v2/events", {"events": []}, "mpid, user_identities or a device identity"),
        # Sent empty or null (as the master sample does): no device named.
        (
            "/v2/events",
            {"device_info": {"android_advertising_id": "", "android_uuid": None}},
            "mpid, user_identities or a device identity",
        ),
        ("/v2/events", {"mpid": 1, "device_info": []}, "device_info: must be a JSON object"),
        (
            "/v2/events",
            {"mpid": 1, "events": [{"event_type": "click", "data": {}}]},
            "events[0].event_type: must be one of",
        ),
        (
            "/v2/events",
            {"mpid": 1, "events": [{"event_type": "custom_event", "data": {}}]},
            "events[0].data.event_name: required for a custom_event",
        ),
        # Int64 in the reference: stored, such an event was counted by no CA.
        *(
            (
                "/v2/events",
                {"mpid": 1, "events": [_search(when, "x")]},
                "events[0].data.timestamp_unixtime_ms: must be epoch milliseconds",
            )
            for when in ("2024-01-10T00:00:00Z", JAN + 0.5, "1.7e12", True)
        ),
        ("/v2/events", {"mpid": "x"}, "mpid: must be a 64-bit integer"),
        ("/v2/events", {"mpid": 1, "environment": "staging"}, "environment: must be"),
        ("/v2/events", {"user_identities": {"mail": "a"}}, "user_identities: must map"),
        ("/v2/bulkevents", [{"mpid": 1}, {"events": []}], "[1] mpid, user_identities or"),
    ],
)
async def test_invalid_batches_are_refused_whole(
    emulator: Emulator, path: str, body: object, message: str
) -> None:
    await emulator.create("Searches", _definition("count", None))
    response = await emulator.post(path, body)
    assert response.status_code == 400
    messages = [error["message"] for error in response.json()["errors"]]
    assert any(text.startswith(message) for text in messages), messages
    assert (await emulator.profile(1, **AS_OF))["events"] == 0


async def test_auth_and_size_limits(emulator: Emulator) -> None:
    batch = {"mpid": 1, "events": [_search(JAN, "x")]}
    assert (await emulator.http.post("/v2/events", json=batch)).status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"emulator:nope").decode()}
    assert (await emulator.post("/v2/events", batch, **wrong)).status_code == 403
    big = {"mpid": 1, "events": [_search(JAN, "x" * 1000)] * 300}
    response = await emulator.post("/v2/events", big)
    assert response.status_code == 413


async def test_reset_forgets_events(emulator: Emulator) -> None:
    await emulator.post("/v2/events", {"mpid": 1, "events": [_search(JAN, "x")]})
    assert (await emulator.profile(1, **AS_OF))["events"] == 1
    assert (await emulator.http.post("/_emulator/reset")).status_code == 204
    assert (await emulator.profile(1, **AS_OF))["events"] == 0


async def test_profile_needs_a_workspace_when_several_have_active_cas() -> None:
    async with in_process(create_app(EmulatorConfig())) as http:
        emulator = Emulator(http)
        await emulator.create("A", _definition("count", None))
        await emulator.create("B", _definition("count", None), workspace_id=99)
        response = await http.get("/_emulator/profiles/1")
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"].startswith("Several workspaces")
        chosen = await emulator.profile(1, workspace_id="99", **AS_OF)
        assert chosen["calculated_attributes"] == {"B": "0"}


@pytest.mark.parametrize("as_of", ["soon", "253402300800000"])
async def test_profile_refuses_an_unreadable_as_of(emulator: Emulator, as_of: str) -> None:
    # The year 10000 has no ISO 8601 date-time to answer with: a 500 before.
    response = await emulator.http.get("/_emulator/profiles/1", params={"as_of": as_of})
    assert response.status_code == 400


async def test_names_longer_than_256_characters_are_truncated(emulator: Emulator) -> None:
    """The default service limits: event name length 256 characters, "For S2S data, names
    exceeding the limit will be truncated"; event attribute name length 256, "S2S will
    truncate the attribute name". A CA naming the cut-short forms counts the event."""
    name, attribute = "E" * 300, "A" * 300
    definition = _definition("last_occurrence", attribute[:256])
    definition["datapoint"]["event_name"] = name[:256]
    await emulator.create("Last", definition)
    event = _search(JAN, "x")
    event["data"].update(event_name=name, custom_attributes={attribute: "long"})
    assert (await emulator.post("/v2/events", {"mpid": 5, "events": [event]})).status_code == 202
    assert (await emulator.profile(5, **AS_OF))["calculated_attributes"] == {"Last": "long"}
