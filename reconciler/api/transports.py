"""Reaching a workspace: the embedded emulator in-process (no server), or the real hosts.

The one place that chooses a transport; everything above it takes a client.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx

from reconciler.api.client import PlatformClient
from reconciler.api.http import Http
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.emulator import EmulatorConfig

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def embedded_config(settings: Settings) -> EmulatorConfig:
    """How the embedded emulator runs: the account's budget of the settings, when given
    (`active_limit`, `retention_days`), so that it rehearses the real account's limits."""
    from reconciler.emulator import EmulatorConfig

    default = EmulatorConfig()
    return EmulatorConfig(
        max_active=settings.active_limit or default.max_active,
        retention_days=settings.retention_days or default.retention_days,
    )


def active_limit(settings: Settings) -> int | None:
    """The active-CA limit a plan counts against: the embedded emulator's own (no API says
    it, so it is read from the configuration the emulator runs with), else the setting."""
    if settings.target == "embedded":
        return embedded_config(settings).max_active
    return settings.active_limit


def transport_for(settings: Settings) -> httpx.AsyncBaseTransport:
    """The embedded emulator's ASGI app (state in .reconciler/emulator.db), or the network."""
    if settings.target == "embedded":
        from reconciler.emulator import create_app

        app = create_app(embedded_config(settings), db_path=settings.emulator_db)
        return httpx.ASGITransport(app=app)
    limits = httpx.Limits(max_connections=64)
    if not any(url.startswith("https:") for url in (settings.api_url, settings.auth_url)):
        # Plain HTTP (an emulator server) never negotiates TLS: skip loading the CA bundle
        # (docs/performance.md), with a context that verifies and trusts nothing should TLS
        # ever be tried.
        closed = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return httpx.AsyncHTTPTransport(retries=0, limits=limits, verify=closed)
    return httpx.AsyncHTTPTransport(retries=0, limits=limits)


def http_for(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> Http:
    client = httpx.AsyncClient(
        transport=transport or transport_for(settings), timeout=TIMEOUT, follow_redirects=False
    )
    return Http(client, rate_limit=settings.rate_limit)


@asynccontextmanager
async def platform(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[PlatformClient]:
    """A Platform API client for the workspace of `settings`, closed on exit."""
    settings.require_platform_credentials()
    client = PlatformClient(
        http_for(settings, transport),
        api_url=settings.api_url,
        workspace_id=settings.workspace_id,
        auth_url=settings.auth_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
    )
    try:
        yield client
    finally:
        await client.aclose()
