"""The misbehaviour knobs, as ASGI middleware in front of every API route: request counting
and the request log, added latency, a global rate limit (429), and seeded random faults
(500, 503, 429, dropped connection, commit-then-500). Routes under `/_emulator/` are exempt
from all of it."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from reconciler.emulator.state import EmulatorState

SERVER_ERROR = "server_error"
SERVICE_UNAVAILABLE = "service_unavailable"
TOO_MANY_REQUESTS = "too_many_requests"
DROPPED_CONNECTION = "dropped_connection"
COMMIT_THEN_500 = "commit_then_500"
FAULT_KINDS = (
    SERVER_ERROR,
    SERVICE_UNAVAILABLE,
    TOO_MANY_REQUESTS,
    DROPPED_CONNECTION,
    COMMIT_THEN_500,
)
#: The token endpoint is spared dropped connections (a client that lost a token answer
#: simply asks again, so the fault would test nothing), and so is HEAD: an answer to HEAD
#: has no body to cut short, so the client would see a complete 200.
UNDROPPABLE_FAULT_KINDS = tuple(kind for kind in FAULT_KINDS if kind != DROPPED_CONNECTION)
TOKEN_PATH = "/oauth/token"
USAGE = b"x-mp-rate-limit-percentage-used"


class ConnectionDropped(ConnectionResetError):
    """Raised after a partial response to make the server abort the connection. In-process
    (httpx's ASGITransport) it reaches the client as is."""


class FaultDrawer:
    """A seeded random sequence of fault decisions: same seed and requests, same faults."""

    def __init__(self, seed: int | None) -> None:
        self._random = random.Random(seed)

    def draw(self, rate: float, *, droppable: bool) -> tuple[str, bool] | None:
        """The fault for the next request (and, for a drop, whether to commit first)."""
        if rate <= 0 or self._random.random() >= rate:
            return None
        kinds = FAULT_KINDS if droppable else UNDROPPABLE_FAULT_KINDS
        kind = kinds[self._random.randrange(len(kinds))]
        committed = kind == COMMIT_THEN_500 or (
            kind == DROPPED_CONNECTION and self._random.random() < 0.5
        )
        return kind, committed


class TokenBucket:
    """A global token bucket: `rate` requests a second, bursts of up to one second's worth."""

    def __init__(self) -> None:
        self._tokens: float | None = None
        self._last = time.monotonic()

    def take(self, rate: float) -> float | None:
        """None if the request may pass, else the seconds until a token is available."""
        now = time.monotonic()
        capacity = max(1.0, rate)
        tokens = capacity if self._tokens is None else self._tokens
        tokens = min(capacity, tokens + (now - self._last) * rate)
        self._last = now
        if tokens >= 1:
            self._tokens = tokens - 1
            return None
        self._tokens = tokens
        return (1 - tokens) / rate

    def percentage_used(self, rate: float) -> int:
        """How much of the burst is spent, in percent (0 when full, 100 when empty)."""
        capacity = max(1.0, rate)
        tokens = capacity if self._tokens is None else self._tokens
        return max(0, min(100, math.ceil((capacity - tokens) * 100 / capacity)))


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The route's path template (`{workspace_id}` rather than the id), or the raw path."""
    for route in routes:
        if isinstance(route, Route) and route.matches(scope)[0] != Match.NONE:
            return route.path_format
    return str(scope["path"])


def _error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"errors": [{"code": code, "message": message}]})


async def _respond(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[str, str]] = ()
) -> None:
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.encode(), v.encode()) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def _too_many(send: Send, retry_after: int) -> None:
    # The limit's id, as the default service limits page lists them (org, account, app,
    # feed, workspace, acceleration): a request-rate limit of one workspace.
    headers = [("retry-after", str(retry_after)), ("x-mp-rate-limit-exceeded", "workspace")]
    body = _error_body("TOO_MANY_REQUESTS", "You have exceeded your provisioned limit.")
    await _respond(send, 429, body, headers)


def _with_usage(send: Send, used: int) -> Send:
    """The default service limits: "Rate limited endpoints return an
    X-mp-rate-limit-percentage-used header with 2xx responses"; where a route has its own
    limits too (seeding, events), the header gives the greatest consumption of them all."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != USAGE]
            own = [int(v) for k, v in message.get("headers", []) if k.lower() == USAGE]
            value = max([used, *own])
            message = {**message, "headers": [*headers, (USAGE, str(value).encode())]}
        await send(message)

    return sending


async def _swallow(message: Message) -> None:
    """A `send` that discards the real response of a request whose answer is lost."""


class Gate:
    """ASGI middleware applying the knobs of `EmulatorState.settings` to API requests."""

    def __init__(self, app: ASGIApp, state: EmulatorState, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/_emulator" or path.startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        state = self.state
        template = route_template(self.routes, scope)
        with state.log.request(scope["method"], template, state.clock.now()) as entry:

            async def logged(message: Message) -> None:
                if message["type"] == "http.response.start" and entry["status"] is None:
                    entry["status"] = message["status"]
                await send(message)

            await self._gated(scope, receive, logged, f"{scope['method']} {template}", entry)

    async def _gated(
        self, scope: Scope, receive: Receive, send: Send, request: str, entry: dict[str, Any]
    ) -> None:
        state = self.state
        stats = state.stats
        stats.requests[request] += 1
        stats.total += 1
        number = stats.total  # before any await: concurrent requests move the total on
        settings = state.settings
        if settings.latency_ms > 0:
            await asyncio.sleep(settings.latency_ms / 1000)
        if settings.rate_limit is not None:
            wait = state.limiter.take(settings.rate_limit)
            if wait is not None:
                stats.rate_limited += 1
                await _too_many(send, max(1, math.ceil(wait)))
                return
            send = _with_usage(send, state.limiter.percentage_used(settings.rate_limit))
        droppable = scope.get("path", "") != TOKEN_PATH and scope["method"] != "HEAD"
        fault = state.faults.draw(settings.fault_rate, droppable=droppable)
        if fault is None:
            await self.app(scope, receive, send)
            return
        kind, committed = fault
        stats.faults[kind] += 1
        stats.fault_log.append(
            {"request": number, "route": request, "fault": kind, "committed": committed}
        )
        entry.update(fault=kind, committed=committed)
        if committed:
            await self.app(scope, receive, _swallow)
        if kind == TOO_MANY_REQUESTS:
            await _too_many(send, 1)
        elif kind == SERVICE_UNAVAILABLE:
            await _respond(send, 503, _error_body("SERVICE_UNAVAILABLE", "Service unavailable."))
        elif kind == DROPPED_CONNECTION:
            await _drop(send)
        else:
            await _respond(
                send, 500, _error_body("INTERNAL_SERVER_ERROR", "Internal server error.")
            )


async def _drop(send: Send) -> None:
    """Start a response that promises more body than it sends, then abort the connection."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1024")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"', "more_body": True})
    raise ConnectionDropped("emulator fault: connection dropped")
