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


HOSTED = replace(
    PLAIN,
    api_url="https://api.mparticle.com/platform/v2",
    auth_url="https://sso.auth.mparticle.com/oauth/token",
    s2s_url="https://s2s.mparticle.com",
)


def test_the_environment_s_proxy_carries_every_host_it_does_not_bypass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx reads HTTPS_PROXY only for a client it builds its own transport for; ours
    # brings one, so every request went direct, and a network that allows only its proxy
    # was met with "cannot resolve the host name".
    from reconciler.api.transports import proxies_for

    for name in ("HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    assert set(proxies_for(HOSTED)) == {
        "https://api.mparticle.com",
        "https://sso.auth.mparticle.com",
        "https://s2s.mparticle.com",
    }
    monkeypatch.setenv("no_proxy", "sso.auth.mparticle.com")
    assert "https://sso.auth.mparticle.com" not in proxies_for(HOSTED)
    assert proxies_for(PLAIN) == {}  # this machine's emulator: never through a proxy


def test_a_command_reaches_mparticle_through_the_environment_s_proxy(tmp_path: Path) -> None:
    """A loopback stand-in for a corporate proxy sees the CONNECT for mParticle's host."""
    import socket
    import threading

    from tests.support.cli import run_cli
    from tests.support.workspace import ca, write_manifests

    seen: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def proxy() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                seen.append(connection.recv(4096).split(b"\r\n")[0])
                connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=proxy, daemon=True).start()
    port = listener.getsockname()[1]
    directory = write_manifests(tmp_path / "m", [ca("A")], settings={"target": "mparticle"})
    try:
        result = run_cli(
            "plan",
            directory,
            env={
                "HTTPS_PROXY": f"http://127.0.0.1:{port}",
                "https_proxy": f"http://127.0.0.1:{port}",
                "NO_PROXY": "",
                "no_proxy": "",
                "MPARTICLE_CLIENT_ID": "id",
                "MPARTICLE_CLIENT_SECRET": "secret-of-the-test",
                "RECONCILER_RETRY_ATTEMPTS": "1",
            },
        )
    finally:
        listener.close()
    assert seen
    assert seen[0] == b"CONNECT sso.auth.mparticle.com:443 HTTP/1.1"
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "the proxy (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) did not connect us" in result.stderr
    assert "secret-of-the-test" not in result.stderr


def test_a_proxy_that_is_not_there_is_named_in_the_failure(tmp_path: Path) -> None:
    """Nothing listening at the proxy's port read as mParticle's host refusing us."""
    import socket

    from tests.support.cli import run_cli
    from tests.support.workspace import ca, write_manifests

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]  # free once closed: nothing listens there
    directory = write_manifests(tmp_path / "m", [ca("A")], settings={"target": "mparticle"})
    proxy = f"http://127.0.0.1:{port}"
    result = run_cli(
        "plan",
        directory,
        env={
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "MPARTICLE_CLIENT_ID": "id",
            "MPARTICLE_CLIENT_SECRET": "secret-of-the-test",
            "RECONCILER_RETRY_ATTEMPTS": "1",
        },
    )
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert (
        "the connection was refused (through the proxy HTTPS_PROXY, HTTP_PROXY or ALL_PROXY names)"
        in said
    )
