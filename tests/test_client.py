"""The Platform API client and the HTTP seam, over loopback HTTP against the emulator:
tokens, retries with Retry-After, typed errors, redaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from reconciler.api.client import PlatformClient
from reconciler.api.http import Http, RetryPolicy
from reconciler.errors import (
    ApiError,
    AuthError,
    BusinessRuleError,
    NotFoundError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from tests.conftest import StartEmulator
from tests.support.emulator import EmulatorServer
from tests.support.workspace import SESSIONS, api_definition

TOKEN = "POST /oauth/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records the waits the retry policy asks for; waits for real only if told to."""

    def __init__(self, real: bool = False) -> None:
        self.waits: list[float] = []
        self.real = real

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds if self.real else 0)


@asynccontextmanager
async def client_for(
    url: str,
    *,
    secret: str = "emulator",
    sleep: Callable[[float], Awaitable[None]] | None = None,
    policy: RetryPolicy | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[PlatformClient]:
    http = Http(
        httpx.AsyncClient(timeout=10),
        policy=policy or RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05),
        sleep=sleep or asyncio.sleep,
    )
    client = PlatformClient(
        http,
        api_url=url,
        workspace_id=1234,
        auth_url=f"{url}/oauth/token",
        client_id="emulator",
        client_secret=secret,
    )
    if clock is not None:
        client.tokens._clock = clock
    try:
        yield client
    finally:
        await client.aclose()


def body(name: str) -> dict[str, Any]:
    return {"name": name, "description": "", "draft_definition": api_definition(SESSIONS)}


async def test_every_call_of_the_api(emulator: EmulatorServer) -> None:
    async with client_for(emulator.url) as client:
        ca_id = await client.create(body("A"))
        assert await client.exists("A")
        assert not await client.exists("B")
        assert [ca.name for ca in await client.list()] == ["A"]
        assert (await client.find("A")) is not None
        await client.update(ca_id, {**body("A"), "description": "d"})
        assert (await client.get(ca_id)).description == "d"
        assert not (await client.activation(ca_id)).is_active
        await client.activate(ca_id)
        status = await client.activation(ca_id)
        assert status.is_active
        assert status.calculated_attribute_id == ca_id
        calculation = await client.calculation(ca_id)
        assert calculation.id == ca_id
        await client.update(ca_id, {**body("A"), "description": "e"})
        await client.discard_draft(ca_id)
        assert (await client.get(ca_id)).draft_definition is None
        await client.delete(ca_id)
        assert await client.list() == []


LIST = "GET /platform/v2/workspaces/{workspace_id}/calculatedattributes"


async def test_a_list_that_is_not_json_is_an_api_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, content=b"[{]")

    http = Http(httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    client = PlatformClient(
        http,
        api_url="https://api.example",
        workspace_id=1,
        auth_url="https://sso.example/oauth/token",
        client_id="c",
        client_secret="s",
    )
    with pytest.raises(ApiError, match="the CA list could not be read: not JSON"):
        await client.list()
    await client.aclose()


async def test_one_token_for_many_calls_and_a_new_one_after_expiry(
    emulator: EmulatorServer,
) -> None:
    clock = Clock()
    async with client_for(emulator.url, clock=clock) as client:
        await asyncio.gather(*(client.list() for _ in range(10)))
        assert emulator.stats()["requests"][TOKEN] == 1
        clock.now += 8 * 3600  # past expires_in: refreshed before the server would refuse it
        await client.list()
        assert emulator.stats()["requests"][TOKEN] == 2


async def test_a_token_the_server_expired_is_refreshed_once(emulator: EmulatorServer) -> None:
    async with client_for(emulator.url) as client:
        await client.list()
        emulator.advance_clock(10 * 24 * 3600)
        await client.list()
        assert emulator.stats()["requests"][TOKEN] == 2


async def test_wrong_credentials_are_an_auth_error(emulator: EmulatorServer) -> None:
    async with client_for(emulator.url, secret="wrong") as client:
        with pytest.raises(AuthError) as caught:
            await client.list()
    assert caught.value.status in (401, 403)


async def test_refused_client_secret_is_not_called_missing(emulator: EmulatorServer) -> None:
    async with client_for(emulator.url, secret="wrong") as client:
        with pytest.raises(AuthError) as caught:
            await client.list()
    message = caught.value.message
    assert "refused the client id or secret" in message
    assert "MPARTICLE_CLIENT_SECRET" in message
    assert "missing" not in message
    assert "(POST oauth token -> 401)" in message


async def test_error_names_the_request_once(emulator: EmulatorServer) -> None:
    async with client_for(emulator.url) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.get(987654)
    assert "(GET .../calculatedattributes/987654 -> 404)" in caught.value.message


async def test_errors_are_typed_and_carry_the_servers_messages(emulator: EmulatorServer) -> None:
    async with client_for(emulator.url) as client:
        with pytest.raises(NotFoundError):
            await client.get(999)
        ca_id = await client.create(body("A"))
        with pytest.raises(ValidationFailed) as invalid:
            await client.create(body("A"))
        assert invalid.value.status == 400
        assert "Field ‘name’ must be unique." in invalid.value.messages[0] or any(
            "unique" in m for m in invalid.value.messages
        )
        await client.activate(ca_id)
        with pytest.raises(BusinessRuleError) as refused:
            await client.activate(ca_id)
        assert refused.value.status == 422
        assert "draft" in refused.value.message.lower()


async def test_retry_after_is_obeyed_and_shared(start_emulator: StartEmulator) -> None:
    server = start_emulator(rate_limit=2)
    sleeps = Sleeps(real=True)
    policy = RetryPolicy(attempts=8, initial_wait=0.01, max_wait=0.05)
    async with client_for(server.url, sleep=sleeps, policy=policy) as client:
        await asyncio.gather(*(client.list() for _ in range(6)))
    assert server.stats()["requests"]  # the server saw the burst
    assert any(wait >= 1.0 for wait in sleeps.waits), sleeps.waits


async def test_rate_limited_error_after_the_last_attempt(start_emulator: StartEmulator) -> None:
    server = start_emulator(rate_limit=2)  # the token and the first list pass, then no more
    async with client_for(
        server.url, sleep=Sleeps(), policy=RetryPolicy(attempts=1, initial_wait=0, max_wait=0)
    ) as client:
        await client.list()
        with pytest.raises(RateLimited) as caught:
            await client.list()
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1


async def test_authorization_is_never_logged(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(emulator.url, secret="emulator") as client:
        await client.list()
        token = await client.tokens.get()
    text = caplog.text
    assert "Bearer" not in text
    assert token not in text
    assert "[redacted]" in text


async def test_connection_refused_is_retried_for_writes_too() -> None:
    # Nothing listens on this port: the request never left, so even a create may repeat.
    sleeps = Sleeps()
    async with client_for("http://127.0.0.1:9", sleep=sleeps) as client:
        with pytest.raises(TransportError):
            await client.tokens.get()
    assert len(sleeps.waits) == 3  # attempts=4


async def test_ambiguous_write_failures_are_not_repeated(start_emulator: StartEmulator) -> None:
    """Within one create call, every POST but the last drew a 503 or 429 (never processed):
    after a 500, a dropped connection or commit-then-500 the client stops and says so."""
    server = start_emulator(fault_rate=0.9, fault_seed=7)
    create_route = "POST /platform/v2/workspaces/{workspace_id}/calculatedattributes"
    not_processed = {"service_unavailable", "too_many_requests"}
    async with client_for(
        server.url, sleep=Sleeps(), policy=RetryPolicy(attempts=6, initial_wait=0, max_wait=0)
    ) as client:
        server.settings(fault_rate=0)
        await client.tokens.get()
        server.settings(fault_rate=0.9)
        ambiguous = 0
        for n in range(30):
            before = server.stats()
            try:
                await client.create(body(f"CA {n}"))
            except (ServerError, TransportError):
                ambiguous += 1
            except RateLimited:
                pass
            after = server.stats()
            posts = after["requests"].get(create_route, 0) - before["requests"].get(create_route, 0)
            faults = [f["fault"] for f in after["fault_log"][len(before["fault_log"]) :]]
            assert posts == len(faults) or posts == len(faults) + 1
            assert all(kind in not_processed for kind in faults[: posts - 1]), faults
    assert ambiguous > 0
