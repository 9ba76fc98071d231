"""Property tests, in-process for speed: any JSON sent to the create and seeding routes gets
a documented answer (never a 5xx), and what the emulator stores reads back as a fixed point
(a definition it returned is accepted again and returned unchanged)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.emulator import EmulatorConfig, create_app
from tests.emulator.api import ca_body
from tests.emulator.test_docs_examples import example
from tests.support.data import replaced
from tests.support.emulator import close_app

PLATFORM = "/platform/v2/workspaces/1/calculatedattributes"
SINGLE_SEED_EXAMPLE: dict[str, Any] = example("seed_single_request_repaired.json")
VOCABULARY = [
    "event",
    "since",
    "within",
    "all",
    "days",
    "weeks",
    "string",
    "number",
    "boolean",
    "date",
    "in_list",
    "between",
    "between_dates",
    "equals",
    "exists",
    "custom_event",
    "commerce_event",
    "purchase",
    "sum",
    "average",
    "minimum",
    "2020-01-01",
    "2020-01-01T00:00:00Z",
    "22",
    "true",
    "",
]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(VOCABULARY)
)
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += _paths(child, (*prefix, index))
    return paths


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """`base` with one to three of its nodes replaced by arbitrary JSON."""
    value = base
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(value)))
        value = replaced(value, path, draw(JSON))
    return value


class InProcess:
    """A synchronous face on the app through httpx's ASGI transport, as the embedded
    target uses it (hypothesis drives plain functions)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = app = create_app(EmulatorConfig(retention_days=36500))
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://emulator"
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()
        close_app(self.app)


@pytest.fixture(scope="module")
def client() -> Iterator[InProcess]:
    in_process = InProcess()
    token = in_process.post(
        "/oauth/token",
        json={
            "client_id": "emulator",
            "client_secret": "emulator",
            "audience": "https://api.mparticle.com",
            "grant_type": "client_credentials",
        },
    ).json()["access_token"]
    in_process.http.headers["Authorization"] = f"Bearer {token}"
    yield in_process
    in_process.close()


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(body=mutated(ca_body()))
def test_any_create_body_gets_a_documented_answer(client: InProcess, body: Any) -> None:
    client.post("/_emulator/reset")
    response = client.post(PLATFORM, json=body)
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        errors = response.json()["errors"]
        assert errors
        assert all(e["code"] == "VALIDATION_ERROR" and e["message"] for e in errors)
        return
    ca_id = response.json()
    stored = client.get(f"{PLATFORM}/{ca_id}").json()
    again = {"name": stored["name"], "draft_definition": stored["draft_definition"]}
    assert client.put(f"{PLATFORM}/{ca_id}", json=again).status_code == 204
    assert (
        client.get(f"{PLATFORM}/{ca_id}").json()["draft_definition"] == stored["draft_definition"]
    )


@FUZZ
@given(user=mutated(SINGLE_SEED_EXAMPLE))
def test_any_seeding_body_gets_a_documented_answer(client: InProcess, user: Any) -> None:
    client.post("/_emulator/reset")
    for entry in SINGLE_SEED_EXAMPLE["calculated_attributes"]["workspace"]:
        body = ca_body(
            entry["attribute_name"],
            calculation_type=entry["calculation_type"],
            seeding={"cutoff_date": entry["cutoff_date"]},
        )
        assert client.post(PLATFORM, json=body).status_code == 201
    basic = "Basic " + base64.b64encode(b"emulator:emulator").decode()
    response = client.post(
        "/v2/bulkcalculatedattributes", json=[user], headers={"Authorization": basic}
    )
    assert response.status_code in (202, 400), response.text
    if response.status_code == 400:
        errors = response.json()["errors"]
        assert errors
        assert all(e == {"code": "BAD_REQUEST", "message": e["message"]} for e in errors)
    else:
        assert client.get("/_emulator/seeds").json()["count"] == 1
