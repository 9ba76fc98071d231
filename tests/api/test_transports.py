"""Choosing a transport: TLS is verified against the CA bundle wherever a URL is https."""

from __future__ import annotations

import ssl
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from reconciler.api.transports import transport_for
from reconciler.settings import Settings

PLAIN = Settings(
    directory=Path("."),
    workspace_id=1,
    target="mparticle",
    prune=False,
    api_url="http://127.0.0.1:8080/platform/v2",
    auth_url="http://127.0.0.1:8080/oauth/token",
    s2s_url="http://127.0.0.1:8080/s2s",
    rate_limit=None,
)


def tls_context(transport: httpx.AsyncBaseTransport) -> ssl.SSLContext:
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    context = transport._pool._ssl_context  # httpcore's pool keeps the context it was given
    assert isinstance(context, ssl.SSLContext)
    return context


@pytest.mark.parametrize("https", ["api_url", "auth_url"])
def test_any_https_url_verifies_against_the_ca_bundle(https: str) -> None:
    settings = replace(PLAIN, **{https: getattr(PLAIN, https).replace("http:", "https:", 1)})
    context = tls_context(transport_for(settings))
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_plain_http_skips_the_bundle_and_trusts_nothing() -> None:
    context = tls_context(transport_for(PLAIN))
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0


def test_the_embedded_database_is_closed_with_the_client(tmp_path: Path) -> None:
    """Its connection was left to the garbage collector: in a process that runs several
    commands the next one met "database is locked" (after a 10 s wait) on a database the
    user had replaced. Found by tests/resilience/test_damaged_database.py."""
    import asyncio
    import sqlite3

    from reconciler.api import transports
    from reconciler.settings import SettingsFile, resolve

    settings = resolve(tmp_path, SettingsFile(workspace_id=1), environ={})
    transport = transport_for(settings)
    assert isinstance(transport, transports.EmbeddedTransport)

    async def listed() -> int:
        async with transports.platform(settings, transport) as client:
            return len(await client.list())

    assert asyncio.run(listed()) == 0
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        transport.store.reset()
