"""The Events API: `POST /v2/events` (one batch) and `POST /v2/bulkevents` (an array of
batches), Basic auth with the workspace key and secret, requests under 256 kB. Accepted
events are stored per user (mpid), for the profile read to compute CA values from.

Written from the Events API JSON reference and the default service limits page.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator.responses import empty_response, error_response, s2s_items
from reconciler.emulator.seeding import IDENTITY_TYPES, throttle, throttled, with_usage
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.store import stored_json
from reconciler.emulator.values import as_integer
from reconciler.evaluator import event_time
from reconciler.evaluator.events import truncated

#: The `event_type` values of the JSON reference.
EVENT_TYPES = frozenset(
    {
        "custom_event",
        "commerce_event",
        "session_start",
        "session_end",
        "screen_view",
        "uninstall",
        "crash_report",
        "opt_out",
        "push_registration",
        "application_state_transition",
        "push_message",
        "network_performance",
        "breadcrumb",
    }
)
ENVIRONMENTS = frozenset({"production", "development"})
#: The device identities a batch's `device_info` holds, under the names the seeding page
#: gives the same identities (the reference's `mpid` is "calculated based on user and
#: device identities in the batch"): a batch may name its user by its device alone.
DEVICE_INFO_IDENTITIES = {
    "android_uuid": "android_id",
    "android_advertising_id": "google_advertising_id",
    "ios_advertising_id": "ios_advertising_id",
    "ios_idfv": "ios_vendor_id",
    "roku_advertising_id": "roku_advertising_id",
    "roku_publisher_id": "roku_publisher_id",
    "microsoft_advertising_id": "microsoft_advertising_id",
    "microsoft_publisher_id": "microsoft_publisher_id",
    "fire_advertising_id": "fire_advertising_id",
}
_INT64 = 2**63
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mpid INTEGER NOT NULL,
    environment TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_mpid ON events (mpid);
CREATE TABLE IF NOT EXISTS event_identities (
    identity TEXT PRIMARY KEY,
    mpid INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_requests (
    source_request_id TEXT PRIMARY KEY
) WITHOUT ROWID;
"""


def derived_mpid(identities: dict[str, str]) -> int:
    """A stable mpid for identities never seen before (the emulator's stand-in for IDSync):
    a positive 63-bit number from their hash."""
    text = orjson.dumps(identities, option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


def _identity_keys(identities: dict[str, str]) -> list[str]:
    return [f"{kind}:{value}" for kind, value in sorted(identities.items())]


def device_identities(batch: dict[str, Any]) -> dict[str, str]:
    """The device identities of a batch's `device_info`, by their seeding names; the
    fields sent empty or null (the reference's master sample has both) name nothing."""
    info = batch.get("device_info")
    if not isinstance(info, dict):
        return {}
    found = {}
    for field, kind in DEVICE_INFO_IDENTITIES.items():
        value = info.get(field)
        if isinstance(value, str) and value.strip():
            found[kind] = value
    return found


def _check_event(event: object, at: str) -> list[str]:
    if not isinstance(event, dict):
        return [f"{at}: an event must be a JSON object"]
    errors = []
    if event.get("event_type") not in EVENT_TYPES:
        errors.append(f"{at}.event_type: must be one of {', '.join(sorted(EVENT_TYPES))}")
    data = event.get("data")
    if not isinstance(data, dict):
        errors.append(f"{at}.data: must be a JSON object")
        return errors
    # Int64 in the reference; an event stored with another time would never count.
    if data.get("timestamp_unixtime_ms") is not None and event_time(event) is None:
        errors.append(f"{at}.data.timestamp_unixtime_ms: must be epoch milliseconds (an integer)")
    if event.get("event_type") == "custom_event":
        if not isinstance(data.get("event_name"), str):
            errors.append(f"{at}.data.event_name: required for a custom_event")
        if not isinstance(data.get("custom_event_type"), str):
            errors.append(f"{at}.data.custom_event_type: required for a custom_event")
    return errors


def check_batch(batch: object) -> list[str]:
    """Every problem of one batch (empty when it can be stored)."""
    if not isinstance(batch, dict):
        return ["A batch must be a JSON object"]
    errors: list[str] = []
    events = batch.get("events", [])
    if not isinstance(events, list):
        errors.append("events: must be an array")
        events = []
    for index, event in enumerate(events):
        errors += _check_event(event, f"events[{index}]")
    if batch.get("environment", "production") not in ENVIRONMENTS:
        errors.append("environment: must be production or development")
    identities = batch.get("user_identities")
    if identities is not None and not (
        isinstance(identities, dict)
        and all(k in IDENTITY_TYPES and isinstance(v, str) for k, v in identities.items())
    ):
        errors.append("user_identities: must map identity types to strings")
    if batch.get("device_info") is not None and not isinstance(batch["device_info"], dict):
        errors.append("device_info: must be a JSON object")
    if batch.get("mpid") is not None:
        mpid = as_integer(batch["mpid"])
        if mpid is None or not -_INT64 <= mpid < _INT64:
            errors.append("mpid: must be a 64-bit integer")
    elif not identities and not device_identities(batch):
        errors.append(
            "mpid, user_identities or a device identity in device_info is required to know "
            "whose events these are"
        )
    return errors


def resolve(conn: sqlite3.Connection, batch: dict[str, Any]) -> int:
    """The batch's mpid: as given, else the user already known by one of its identities
    (user or device), else one derived from its user identities (without any, from its
    device ones). The identities are remembered for that mpid."""
    users: dict[str, str] = batch.get("user_identities") or {}
    devices = device_identities(batch)
    keys = _identity_keys({**devices, **users})
    mpid = as_integer(batch.get("mpid"))
    if mpid is None:
        for key in keys:
            row = conn.execute("SELECT mpid FROM event_identities WHERE identity = ?", (key,))
            found = row.fetchone()
            if found is not None:
                mpid = int(found[0])
                break
    if mpid is None:
        mpid = derived_mpid(users or devices)
    conn.executemany(
        "INSERT OR IGNORE INTO event_identities (identity, mpid) VALUES (?, ?)",
        [(key, mpid) for key in keys],
    )
    return mpid


def store_batch(conn: sqlite3.Connection, batch: dict[str, Any], received_ms: int) -> int:
    """Store a checked batch's events; an event without a timestamp gets the receive time
    (the JSON reference: "The current server time will be used if not specified"). A batch
    whose `source_request_id` was seen before is a repeat, stored once (the reference:
    "used to deduplicate inbound requests")."""
    request_id = batch.get("source_request_id")
    if isinstance(request_id, str) and request_id:
        added = conn.execute(
            "INSERT OR IGNORE INTO event_requests (source_request_id) VALUES (?)", (request_id,)
        )
        if added.rowcount == 0:
            return 0
    mpid = resolve(conn, batch)
    environment = batch.get("environment", "production")
    rows = []
    for event in batch.get("events", []):
        stored = truncated(event)
        if stored["data"].get("timestamp_unixtime_ms") is None:
            stored = {**stored, "data": {**stored["data"], "timestamp_unixtime_ms": received_ms}}
        rows.append((mpid, environment, orjson.dumps(stored).decode()))
    conn.executemany("INSERT INTO events (mpid, environment, event) VALUES (?, ?, ?)", rows)
    return len(rows)


def user_events(conn: sqlite3.Connection, mpid: int) -> list[dict[str, Any]]:
    """Every stored event of a user, in arrival order."""
    rows = conn.execute("SELECT event FROM events WHERE mpid = ? ORDER BY id", (mpid,))
    return [stored_json(text) for (text,) in rows]


def user_identities(conn: sqlite3.Connection, mpid: int) -> dict[str, str]:
    """The identities batches named for a user."""
    found: dict[str, str] = {}
    for (key,) in conn.execute("SELECT identity FROM event_identities WHERE mpid = ?", (mpid,)):
        kind, _, value = str(key).partition(":")
        found[kind] = value
    return found


class EventsApi:
    """Route handlers for the two Events API paths."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        with state.store.transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def routes(self) -> list[Route]:
        return [
            Route("/v2/events", self.single, methods=["POST"]),
            Route("/v2/bulkevents", self.bulk, methods=["POST"]),
        ]

    async def single(self, request: Request) -> Response:
        return await self._accept(request, bulk=False)

    async def bulk(self, request: Request) -> Response:
        return await self._accept(request, bulk=True)

    async def _accept(self, request: Request, *, bulk: bool) -> Response:
        refusal = self.state.credentials.check_basic(request)
        if refusal is not None:
            return refusal
        batches = await s2s_items(
            request, bulk=bulk, not_a_list="The request body must be an array."
        )
        if isinstance(batches, Response):
            return batches
        errors = [
            (f"[{index}] " if bulk else "") + problem
            for index, batch in enumerate(batches)
            for problem in check_batch(batch)
        ]
        # Each batch counts against the workspace's Events API limits, which seeding shares.
        verdict = throttle(self.state, len(batches))
        if not verdict.admitted:
            return throttled(verdict)
        if errors:
            return error_response(400, "BAD_REQUEST", errors)
        received = int(self.state.clock.now() * 1000)
        with self.state.store.transaction() as conn:
            for batch in batches:
                store_batch(conn, batch, received)
        return with_usage(empty_response(202), verdict)
