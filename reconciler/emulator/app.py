"""The emulator's ASGI application: Platform API, Seeding API, Events API, OAuth and test
routes behind the fault/latency/rate-limit gate. Usable in-process (httpx.ASGITransport) or
served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.control import ControlApi
from reconciler.emulator.events import EventsApi
from reconciler.emulator.faults import TOKEN_PATH, Gate
from reconciler.emulator.platform import PlatformApi
from reconciler.emulator.profiles import ProfilesApi
from reconciler.emulator.responses import error_response
from reconciler.emulator.seeding import SeedingApi
from reconciler.emulator.state import EmulatorState


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the API's error shape, not plain text."""
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "ERROR")
    return error_response(exc.status_code, code, exc.detail, exc.headers)


class _TrailingSlash:
    """A path with a trailing slash is the route without it, answered in place: the docs'
    sample requests write `POST .../v2/bulkcalculatedattributes/`, and a redirect (a
    router's default) is a failure to a client that does not follow it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


def create_app(
    config: EmulatorConfig | None = None, db_path: str | Path | None = None
) -> Starlette:
    """An emulator app with its own state: in-memory SQLite without `db_path`, else that
    file (parent directories created). Needs no lifespan events; a server runs them to
    close the database on shutdown."""
    state = EmulatorState(config or EmulatorConfig(), db_path)

    async def token(request: Request) -> Response:
        return await state.credentials.token_endpoint(request)

    routes: list[BaseRoute] = [Route(TOKEN_PATH, token, methods=["POST"])]
    routes += PlatformApi(state).routes()
    routes += SeedingApi(state).routes()
    routes += EventsApi(state).routes()
    routes += ControlApi(state).routes()
    routes += ProfilesApi(state).routes()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        state.store.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(_TrailingSlash), Middleware(Gate, state=state, routes=routes)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.emulator = state
    return app
