"""Test endpoints under `/_emulator/`: no auth, no faults, no latency, no rate limit.
They let tests look inside (stats, seeds), reset, and steer (audience counts, settings,
clock) an emulator without touching its API."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import messages as m
from reconciler.emulator.platform import MAX_ID
from reconciler.emulator.responses import empty_response, error_response, json_response
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.store import get_ca, seed_page, set_audience_count


class ControlApi:
    """`stats`, `log`, `reset`, `seeds`, `calculatedattributes/{id}/audience_count`,
    `settings`, `clock`, `seed_refusals`."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/_emulator/stats", self.stats),
            Route("/_emulator/log", self.log),
            Route("/_emulator/reset", self.reset, methods=["POST"]),
            Route("/_emulator/seeds", self.seeds),
            Route(
                "/_emulator/calculatedattributes/{id:int}/audience_count",
                self.audience_count,
                methods=["PUT"],
            ),
            Route("/_emulator/settings", self.settings, methods=["GET", "PUT"]),
            Route("/_emulator/clock", self.clock, methods=["GET", "POST"]),
            Route("/_emulator/seed_refusals", self.seed_refusals, methods=["PUT"]),
        ]

    async def _body(self, request: Request) -> dict[str, object] | None:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    async def stats(self, request: Request) -> Response:
        return json_response(self.state.stats_dict())

    async def log(self, request: Request) -> Response:
        try:
            since = int(request.query_params.get("since", "1"))
        except ValueError:
            return error_response(400, "BAD_REQUEST", "since must be an integer")
        return json_response(self.state.log.since(since))

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return empty_response()

    async def seeds(self, request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", "-1"))
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError:
            return error_response(400, "BAD_REQUEST", "limit and offset must be integers")
        with self.state.store.read() as conn:
            count, users = seed_page(conn, limit, offset)
        return json_response({"count": count, "users": users})

    async def audience_count(self, request: Request) -> Response:
        """The CA's audience count: any integer (a negative one too, which some APIs send
        for "unknown"), or null to leave `audience_count` out of its answers."""
        body = await self._body(request)
        # Ellipsis: no body, or no key (refused); None: the key left out of the answers.
        count = ... if body is None else body.get("audience_count", ...)
        if count is not None and (
            not isinstance(count, int) or isinstance(count, bool) or not -MAX_ID <= count <= MAX_ID
        ):
            return error_response(
                400,
                "BAD_REQUEST",
                'Body must be {"audience_count": <integer>}, or {"audience_count": null} to leave '
                "the count out of the CA's answers",
            )
        ca_id = request.path_params["id"]
        with self.state.store.transaction() as conn:
            ca = None if ca_id > MAX_ID else get_ca(conn, None, ca_id)
            if ca is None:
                return error_response(404, "NOT_FOUND", m.NOT_FOUND)
            set_audience_count(conn, ca.id, count)
        return empty_response()

    async def settings(self, request: Request) -> Response:
        if request.method == "PUT":
            body = await self._body(request)
            if body is None:
                return error_response(400, "BAD_REQUEST", "Body must be a JSON object")
            updated, errors = self.state.settings.updated(body)
            if updated is None:
                return error_response(400, "BAD_REQUEST", errors)
            self.state.settings = updated
        return json_response(self.state.settings.as_dict())

    async def clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = await self._body(request)
            seconds = None if body is None else body.get("advance_seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                return error_response(
                    400, "BAD_REQUEST", 'Body must be {"advance_seconds": <seconds >= 0>}'
                )
            self.state.clock.advance(seconds)
        return json_response({"offset_seconds": self.state.clock.offset})

    async def seed_refusals(self, request: Request) -> Response:
        body = await self._body(request)
        mpids = None if body is None else body.get("mpids")
        if not isinstance(mpids, list) or not all(
            isinstance(m, int) and not isinstance(m, bool) for m in mpids
        ):
            return error_response(400, "BAD_REQUEST", 'Body must be {"mpids": [<integer>, ...]}')
        self.state.refused_mpids = frozenset(mpids)
        return empty_response()
