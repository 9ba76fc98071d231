"""`GET /_emulator/profiles/{mpid}`: a user's CA values as mParticle would show them on the
profile, computed by the reference evaluator (`reconciler.evaluator`, docs/semantics.md)
from the user's seeds and the events the Events API received, for every active CA.

A test endpoint (no auth, no faults): it lets `seed` + events + activation be checked end
to end. Query: `as_of` (ISO 8601 or epoch ms; default the emulator's clock),
`workspace_id` (default the served workspace, or the only one with active CAs).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator.events import user_events, user_identities
from reconciler.emulator.responses import error_response, json_response
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.store import Ca, list_cas, stored_json
from reconciler.emulator.values import as_integer
from reconciler.evaluator import Calculation, DefinitionError, Timeline, as_of_millis
from reconciler.evaluator.values import render_timestamp


def _seeds(
    conn: sqlite3.Connection, workspace_id: int, mpid: int, identities: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """The user's seeds by CA name: seeded by mpid, or by identities the user's batches
    share (the emulator's stand-in for identity resolution). A user seeded by mpid is known
    by it alone: the seeding page says "If mpid is set, then the identities will be
    ignored", so those are stored as sent but name no one."""
    keys = [f"m:{mpid}"]
    for key, text in conn.execute("SELECT user_key, identities FROM seed_users"):
        seeded = stored_json(text)
        if str(key).startswith("m:") or not isinstance(seeded, dict):
            continue
        if any(identities.get(kind) == value for kind, value in seeded.items()):
            keys.append(str(key))
    seeds: dict[str, dict[str, Any]] = {}
    for key in keys:  # seeds by mpid win over seeds by identities
        for name, seed in conn.execute(
            "SELECT ca_name, seed FROM seeds WHERE user_key = ? AND workspace_id = ?",
            (key, workspace_id),
        ):
            seeds.setdefault(str(name), stored_json(seed))
    return seeds


def _workspace(conn: sqlite3.Connection, served: int | None, asked: str | None) -> int | None:
    if asked is not None:
        return as_integer(asked)
    if served is not None:
        return served
    rows = conn.execute(
        "SELECT DISTINCT workspace_id FROM cas WHERE active_definition IS NOT NULL"
    ).fetchall()
    return int(rows[0][0]) if len(rows) == 1 else None


def _values(
    cas: list[Ca], events: list[dict[str, Any]], seeds: dict[str, Any], as_of: int
) -> dict[str, str]:
    timeline = Timeline(events)
    values: dict[str, str] = {}
    for ca in cas:
        if ca.active_definition is None:
            continue
        try:
            calculation = Calculation(ca.active_definition)
        except DefinitionError:
            continue  # not computable offline (e.g. a malformed date): no value shown
        values[ca.name] = calculation.evaluate(timeline, seeds.get(ca.name), as_of)
    return values


def _as_of(raw: str | None, now: float) -> int | None:
    """The moment asked for, in epoch ms (default: now), or None when unreadable."""
    if raw is None:
        return int(now * 1000)
    try:
        return as_of_millis(int(raw) if raw.isdigit() else raw)
    except ValueError:
        return None


class ProfilesApi:
    """The profile read of the emulator's test endpoints."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [Route("/_emulator/profiles/{mpid:int}", self.profile)]

    async def profile(self, request: Request) -> Response:
        mpid: int = request.path_params["mpid"]
        as_of = _as_of(request.query_params.get("as_of"), self.state.clock.now())
        if as_of is None:
            return error_response(400, "BAD_REQUEST", "as_of must be ISO 8601 or epoch ms")
        with self.state.store.read() as conn:
            workspace = _workspace(
                conn, self.state.config.workspace_id, request.query_params.get("workspace_id")
            )
            if workspace is None:
                return error_response(
                    400, "BAD_REQUEST", "Several workspaces: give ?workspace_id=<id>"
                )
            cas = list_cas(conn, workspace)
            events = user_events(conn, mpid)
            seeds = _seeds(conn, workspace, mpid, user_identities(conn, mpid))
        return json_response(
            {
                "mpid": mpid,
                "workspace_id": workspace,
                "as_of": render_timestamp(as_of),
                "events": len(events),
                "calculated_attributes": _values(cas, events, seeds, as_of),
            }
        )
