"""The Platform API client over loopback HTTP against the emulator: every call, tokens,
typed errors with the server's messages, and lists read with their definitions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import orjson
import pytest

from reconciler.api.client import PlatformClient
from reconciler.errors import (
    ApiError,
    AuthError,
    BusinessRuleError,
    NotFoundError,
    ValidationFailed,
)
from tests.support.emulator import EmulatorServer
from tests.support.platform import Clock, body, client_for, mocked_client

TOKEN = "POST /oauth/token"


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


@asynccontextmanager
async def answering_list(listed: bytes) -> AsyncIterator[PlatformClient]:
    """A client whose server grants any token and answers the list with `listed`."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, content=listed)

    client = mocked_client(answer)
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_list_that_is_not_json_is_an_api_error() -> None:
    async with answering_list(b"[{]") as client:
        with pytest.raises(ApiError, match="the CA list could not be read: not JSON"):
            await client.list()


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
    assert f"(POST {emulator.url}/oauth/token -> 401)" in message


async def test_error_names_the_request_once(emulator: EmulatorServer) -> None:
    async with client_for(emulator.url) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.get(987654)
    shown = f"(GET {emulator.url}/platform/.../calculatedattributes/987654 -> 404)"
    assert shown in caught.value.message


async def test_errors_are_typed_and_carry_the_servers_messages(emulator: EmulatorServer) -> None:
    async with client_for(emulator.url) as client:
        with pytest.raises(NotFoundError):
            await client.get(999)
        ca_id = await client.create(body("A"))
        with pytest.raises(ValidationFailed) as invalid:
            await client.create(body("A"))
        assert invalid.value.status == 400
        assert "Field 'name' must be unique." in invalid.value.messages[0] or any(
            "unique" in m for m in invalid.value.messages
        )
        await client.activate(ca_id)
        with pytest.raises(BusinessRuleError) as refused:
            await client.activate(ca_id)
        assert refused.value.status == 422
        assert "draft" in refused.value.message.lower()


async def test_a_garbled_definition_fails_the_list_naming_its_ca() -> None:
    garbled = {"id": 5, "name": "LTV", "draft_definition": {"conditions": {"a": 1}}}
    async with answering_list(orjson.dumps([{"id": 4, "name": "Fine"}, garbled])) as client:
        with pytest.raises(ApiError, match=r'"LTV" \(id 5\): its draft definition could not'):
            await client.list()


async def test_a_token_given_for_no_time_is_fetched_again_for_the_next_call() -> None:
    """`expires_in: 0` was read as absent (an hour): the expired token went on being sent."""
    fetched: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            fetched.append(1)
            return httpx.Response(200, json={"access_token": f"t{len(fetched)}", "expires_in": 0})
        return httpx.Response(200, content=b"[]")

    client = mocked_client(answer)
    try:
        await client.list()
        await client.list()
    finally:
        await client.aclose()
    assert len(fetched) == 2


async def test_a_fresh_token_refused_too_is_not_called_missing_credentials() -> None:
    """A 401 after the one refresh: the token was sent, twice; the client lacks access."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "t" * 20, "expires_in": 3600})
        seen.append(request.headers["authorization"])
        return httpx.Response(401)

    client = mocked_client(answer, workspace_id=77)
    try:
        with pytest.raises(AuthError) as caught:
            await client.list()
    finally:
        await client.aclose()
    assert len(seen) == 2
    assert caught.value.status == 401
    assert "missing credentials" not in str(caught.value)
    assert caught.value.message == (
        "authentication failed: the API refused the access token, a freshly issued one too "
        "(check that the API client of MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET may use "
        "workspace 77) (GET https://api.example/platform/.../calculatedattributes -> 401)"
    )
