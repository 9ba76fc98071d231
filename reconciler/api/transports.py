"""Reaching a workspace: the embedded emulator in-process (no server), or the real hosts.

The one place that chooses a transport; everything above it takes a client.
"""

from __future__ import annotations

import logging
import sqlite3
import ssl
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from reconciler.api.client import PlatformClient
from reconciler.api.http import Http, RetryPolicy
from reconciler.api.retrying import Deadline
from reconciler.api.secrets import Redactor, basic_token
from reconciler.errors import ReconcilerError
from reconciler.files import make_folders
from reconciler.settings import DEFAULT_DEADLINE, Settings, is_loopback

log = logging.getLogger("reconciler.http")

if TYPE_CHECKING:
    from reconciler.emulator import EmulatorConfig

#: Seconds to wait for a connection (the whole request has RECONCILER_REQUEST_TIMEOUT).
CONNECT_TIMEOUT = 10.0


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


def _locked(exc: Exception) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY) or "database table is locked"."""
    name = getattr(exc, "sqlite_errorname", None)  # Python 3.11+
    if name is not None:
        return name in ("SQLITE_BUSY", "SQLITE_LOCKED")
    return isinstance(exc, sqlite3.OperationalError) and "is locked" in str(exc)


def unusable_database(path: Path, exc: Exception) -> ReconcilerError:
    """An embedded workspace whose database cannot be used: a user error, with what to do
    (which, for a database another command holds, is not to move it away)."""
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return ReconcilerError(
            f"cannot open the embedded workspace's database {path}: {reason}. Check the path "
            "(setting emulator_db) and its permissions."
        )
    from reconciler.emulator.store import ForeignDatabase

    if isinstance(exc, ForeignDatabase):
        return ReconcilerError(
            f"the embedded workspace's database {path} cannot be used: {exc}. Set emulator_db "
            "in reconciler.yaml to a file of its own (or leave it out)."
        )
    if _locked(exc):
        from reconciler.emulator.store import BUSY_TIMEOUT_MS

        return ReconcilerError(
            f"the embedded workspace's database {path} is in use: another command (or "
            f"`reconciler emulator --db`) kept it locked for over {BUSY_TIMEOUT_MS / 1000:g} s. "
            "Run this command again once the other has finished."
        )
    return ReconcilerError(
        f"the embedded workspace's database {path} is damaged or is not an emulator "
        f"database ({exc}). Move it away to start an empty embedded workspace (`reconciler "
        "apply` then creates the manifests' CAs again), or put back a copy you trust."
    )


class EmbeddedTransport(httpx.ASGITransport):
    """The embedded emulator in-process: a database that turns out damaged while a request
    reads it (a page past the header) is the same user error as one that does not open."""

    def __init__(self, settings: Settings) -> None:
        from reconciler.emulator import create_app

        self.database = settings.emulator_db
        try:
            make_folders(self.database.parent)  # .reconciler/ with its .gitignore
            app = create_app(embedded_config(settings), db_path=self.database)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise unusable_database(self.database, exc) from None
        self.store = app.state.emulator.store
        super().__init__(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except sqlite3.DatabaseError as exc:
            raise unusable_database(self.database, exc) from None

    async def aclose(self) -> None:
        """Close the database with the client: left to the garbage collector, its
        connection kept the file open, and locked against the next command of a process
        that runs several (a test run, a program embedding the reconciler)."""
        self.store.close()


#: Connections at once to one host, the most `--concurrency` asks for.
LIMITS = httpx.Limits(max_connections=64)


def transport_for(settings: Settings) -> httpx.AsyncBaseTransport:
    """The embedded emulator's ASGI app (state in .reconciler/emulator.db), or the network."""
    if settings.target == "embedded":
        return EmbeddedTransport(settings)
    limits = LIMITS
    if not any(url.startswith("https:") for url in (settings.api_url, settings.auth_url)):
        # Plain HTTP (an emulator server) never negotiates TLS: skip loading the CA bundle
        # (docs/performance.md), with a context that verifies and trusts nothing should TLS
        # ever be tried.
        closed = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return httpx.AsyncHTTPTransport(retries=0, limits=limits, verify=closed)
    return httpx.AsyncHTTPTransport(retries=0, limits=limits)


def proxies_for(settings: Settings) -> dict[str, httpx.AsyncBaseTransport]:
    """A transport through the proxy the environment names (HTTPS_PROXY, HTTP_PROXY,
    ALL_PROXY, each bypassed by NO_PROXY, as the standard library reads them) for each of
    the settings' hosts that has one: httpx reads them itself only for a client it builds
    its own transport for. This machine's hosts (an emulator) are never proxied."""
    if settings.target == "embedded":
        return {}
    proxies = urllib.request.getproxies()
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    for url in dict.fromkeys((settings.api_url, settings.auth_url, settings.s2s_url)):
        parts = urlsplit(url)
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        if not proxy or is_loopback(url) or urllib.request.proxy_bypass(parts.netloc):
            continue
        mounts[f"{parts.scheme}://{parts.netloc}"] = httpx.AsyncHTTPTransport(
            proxy=proxy, retries=0, limits=LIMITS
        )
    return mounts


def redactor_for(settings: Settings) -> Redactor:
    """The secrets this command may send, in every form they travel in (none for the
    embedded emulator, whose credentials are public)."""
    if settings.target == "embedded":
        return Redactor()
    redact = Redactor([settings.client_secret, settings.api_secret])
    if settings.api_secret:
        redact.add(basic_token(settings.api_key, settings.api_secret))
    return redact


def http_for(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    deadline: float | None = DEFAULT_DEADLINE,
    shared: Deadline | None = None,
) -> Http:
    """The HTTP seam of one command; `deadline` is the command's default (seconds, or None
    for none), which RECONCILER_DEADLINE overrides; `shared`, a deadline the command
    already counts down in another client, which this one then counts down too (the
    check before seeding and the sending of `seed`; `apply --seeds`' groups)."""
    tuning = settings.tuning
    timeout = httpx.Timeout(
        tuning.request_timeout, connect=min(CONNECT_TIMEOUT, tuning.request_timeout)
    )
    proxies = {} if transport else proxies_for(settings)
    client = httpx.AsyncClient(
        transport=transport or transport_for(settings),
        mounts=proxies,
        timeout=timeout,
        follow_redirects=False,
    )
    policy = RetryPolicy.from_tuning(tuning, tuning.command_deadline(deadline))
    return Http(
        client,
        rate_limit=settings.rate_limit,
        policy=policy,
        redact=redactor_for(settings),
        proxied=frozenset(proxies),
        deadline=shared,
    )


def warn_plaintext(settings: Settings, *names: str) -> None:
    """Warn (on stderr) for each of these URLs that would carry a secret unencrypted:
    plain http:// to a host that is not this machine (a local emulator is fine)."""
    if settings.target == "embedded":
        return
    for name in names:
        url: str = getattr(settings, name)
        if url.lower().startswith("http://") and not is_loopback(url):
            log.warning(
                f"{name} {url} is plain http:// to another machine: the credentials and the "
                "workspace's data travel unencrypted; use https://"
            )


@asynccontextmanager
async def platform(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    deadline: float | None = DEFAULT_DEADLINE,
    shared: Deadline | None = None,
) -> AsyncIterator[PlatformClient]:
    """A Platform API client for the workspace of `settings`, closed on exit; `deadline`
    is the command's default and `shared` one it shares (see http_for)."""
    settings.require_platform_credentials()
    warn_plaintext(settings, "auth_url", "api_url")
    client = PlatformClient(
        http_for(settings, transport, deadline=deadline, shared=shared),
        api_url=settings.api_url,
        workspace_id=settings.workspace_id,
        auth_url=settings.auth_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        credentials=settings.variables_read("CLIENT_ID", "CLIENT_SECRET"),
        workspace_from=settings.workspace_from,
    )
    try:
        yield client
    finally:
        await client.aclose()
