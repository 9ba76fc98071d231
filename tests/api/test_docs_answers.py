"""The Platform API client reads every answer mParticle's docs print (`originals/*.json`),
as served by a stand-in that answers exactly that: the client is held to the docs
themselves, not only to the emulator's reading of them. And a status answer it cannot read
is the API's problem, said as such, not a failure of reconciler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from reconciler.api.client import PlatformClient
from reconciler.errors import ApiError, AuthError
from tests.support.platform import mocked_client

ORIGINALS = Path(__file__).parents[1] / "emulator" / "originals"


def printed(name: str) -> bytes:
    return (ORIGINALS / name).read_bytes()


@asynccontextmanager
async def answering(
    routes: dict[tuple[str, str], tuple[int, bytes]],
) -> AsyncIterator[PlatformClient]:
    """A client whose server answers (method, path) with (status, body); the token
    endpoint with the docs' token answer."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, content=printed("token_response.json"))
        status, content = routes[(request.method, request.url.path)]
        return httpx.Response(status, content=content)

    client = mocked_client(
        answer,
        workspace_id=1234,
        api_url="https://api.mparticle.com",
        auth_url="https://sso.auth.mparticle.com/oauth/token",
    )
    try:
        yield client
    finally:
        await client.aclose()


BASE = "/platform/v2/workspaces/1234/calculatedattributes"


async def test_the_list_example_is_read_with_both_definitions() -> None:
    async with answering({("GET", BASE): (200, printed("list_response.json"))}) as client:
        [ca] = await client.list()
    assert (ca.id, ca.name, ca.audience_count) == (5, "ca1", 1)
    assert ca.description == "Calculated attribute description."
    assert ca.was_activated
    assert ca.active is not None
    assert ca.draft is not None
    assert ca.active["datapoint"] is not None
    assert ca.active["datapoint"]["attribute_category"] == "product_attribute"
    assert ca.active["datapoint"]["use_product_quantity"] is True
    assert [c["value"] for c in ca.active["conditions"]] == ["22"]
    assert ca.active["seeding"] == {"cutoff_date": "2019-10-02T00:00:00"}
    assert ca.draft["conditions"] == []
    assert ca.draft["seeding"] is None


async def test_the_get_example_is_read_with_its_data_point_key() -> None:
    routes = {("GET", f"{BASE}/5678"): (200, printed("get_response_repaired.json"))}
    async with answering(routes) as client:
        ca = await client.get(5678)
    assert ca.active is not None
    assert ca.active["datapoint"] is not None
    assert ca.active["datapoint"]["event_type"] == "unknown"
    assert ca.active["calculation_type"] == "count"
    assert ca.active["time_period"] is not None
    assert ca.active["time_period"]["type"] == "all"
    assert ca.activated_on == "2020-02-18T19:24:50.426Z"


async def test_the_get_example_as_printed_is_an_api_error_not_a_crash() -> None:
    routes = {("GET", f"{BASE}/5678"): (200, printed("get_response_AS_PRINTED.json"))}
    async with answering(routes) as client:
        with pytest.raises(ApiError, match="CA 5678 could not be read from the API's answer"):
            await client.get(5678)


async def test_the_activation_and_calculation_examples_are_read() -> None:
    routes = {
        ("GET", f"{BASE}/5678/activation"): (200, printed("activation_response.json")),
        ("GET", f"{BASE}/5678/calculation"): (200, printed("calculation_response.json")),
    }
    async with answering(routes) as client:
        activation = await client.activation(5678)
        calculation = await client.calculation(5678)
    assert activation.calculated_attribute_id == 5678
    assert activation.is_active is True
    assert activation.activated_on == "2020-02-18T19:24:50.426Z"
    assert calculation.revision_id == 123
    assert calculation.is_calculated is False
    assert calculation.calculation_percent_complete == 50
    assert calculation.estimated_completion_time == "2020-01-29T19:24:19.051Z"


async def test_the_token_example_is_cached_for_its_lifetime() -> None:
    routes = {("GET", BASE): (200, b"[]")}
    async with answering(routes) as client:
        await client.list()
        await client.list()
        assert client.tokens.fetched == 1


@pytest.mark.parametrize(
    ("status", "content"),
    [(201, b"5678"), (201, b"5678\n"), (200, b'{"id": 5678}'), (201, b'"5678"')],
)
async def test_a_create_answer_is_the_integer_id(status: int, content: bytes) -> None:
    async with answering({("POST", BASE): (status, content)}) as client:
        assert await client.create({"name": "n"}) == 5678


@pytest.mark.parametrize("status", [202, 204])
async def test_put_delete_and_activation_succeed_with_either_documented_status(
    status: int,
) -> None:
    """The CA section says 204, the v1 status table 202 (NOTES.md lists the contradiction)."""
    routes = {
        ("PUT", f"{BASE}/5678"): (status, b""),
        ("DELETE", f"{BASE}/5678"): (status, b""),
        ("DELETE", f"{BASE}/5678/draft"): (status, b""),
        ("POST", f"{BASE}/5678/activation"): (status, b""),
        ("HEAD", BASE): (204, b""),
    }
    async with answering(routes) as client:
        await client.update(5678, {"name": "n"})
        await client.discard_draft(5678)
        await client.activate(5678)
        await client.delete(5678)
        assert await client.exists("ca1")


async def test_status_fields_sent_as_null_read_as_absent() -> None:
    """Before a first activation there is no progress or time to give: null, not a crash."""
    nulls = dict.fromkeys(orjson.loads(printed("calculation_response.json")))
    routes = {
        ("GET", f"{BASE}/5678/calculation"): (200, orjson.dumps(nulls)),
        ("GET", f"{BASE}/5678/activation"): (
            200,
            b'{"calculated_attribute_id": 5678, "is_active": null, "activated_on": null}',
        ),
    }
    async with answering(routes) as client:
        calculation = await client.calculation(5678)
        activation = await client.activation(5678)
    assert calculation.is_calculated is False
    assert calculation.calculation_percent_complete == 0
    assert activation.is_active is False


@pytest.mark.parametrize(
    "content", [b"", b"<html>Bad gateway</html>", b'{"is_calculated": "soon"}']
)
async def test_an_unreadable_status_answer_is_an_api_error_naming_the_call(content: bytes) -> None:
    routes = {
        ("GET", f"{BASE}/5678/calculation"): (200, content),
        ("GET", f"{BASE}/5678/activation"): (200, content.replace(b"is_calculated", b"is_active")),
    }
    async with answering(routes) as client:
        with pytest.raises(ApiError) as calculation:
            await client.calculation(5678)
        with pytest.raises(ApiError) as activation:
            await client.activation(5678)
    assert calculation.value.message.startswith(
        "the calculation status of CA 5678 could not be read from the API's answer"
    )
    assert "(GET https://api.mparticle.com/platform/.../calculatedattributes/5678/calculation)" in (
        calculation.value.message
    )
    assert activation.value.message.startswith(
        "the activation status of CA 5678 could not be read from the API's answer"
    )
    # Where, and what; never the body itself (a gateway's page may echo anything).
    assert "Bad gateway" not in calculation.value.message
    assert ": (top): " in calculation.value.message or ": is_calculated: " in (
        calculation.value.message
    )


@pytest.mark.parametrize("token", [None, "", 12345])
async def test_a_token_answer_without_a_text_token_is_said_so(token: object) -> None:
    """Not sent on as the header `Bearer None`, to be refused as bad credentials."""
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={"access_token": token, "expires_in": 28800})

    client = mocked_client(
        answer,
        workspace_id=1234,
        api_url="https://api.mparticle.com",
        auth_url="https://sso.auth.mparticle.com/oauth/token",
    )
    with pytest.raises(AuthError, match="the token endpoint answered without an access_token"):
        await client.list()
    await client.aclose()
    assert sent == ["/oauth/token"]
