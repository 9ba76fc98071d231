"""The embedded target's way of using the emulator: `create_app(...)` behind httpx's ASGI
transport, in-process, no server and no lifespan, its state in a file that another app
instance or a served emulator reads back."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from reconciler.emulator import EmulatorConfig, create_app
from reconciler.emulator.faults import ConnectionDropped
from tests.emulator.api import ca_body
from tests.support.emulator import AUDIENCE, in_process, running_emulator

PATH = "/platform/v2/workspaces/1234/calculatedattributes"
TOKEN_BODY = {
    "client_id": "emulator",
    "client_secret": "emulator",
    "audience": AUDIENCE,
    "grant_type": "client_credentials",
}


def _client(
    db: Path | None = None, config: EmulatorConfig | None = None
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return in_process(create_app(config or EmulatorConfig(), db_path=db))


async def _token(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post("/oauth/token", json=TOKEN_BODY)
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_in_process_state_persists_in_the_file(tmp_path: Path) -> None:
    db = tmp_path / "manifests" / ".reconciler" / "emulator.db"
    async with _client(db) as http:
        headers = await _token(http)
        created = await http.post(PATH, json=ca_body(), headers=headers)
        assert created.status_code == 201
        assert (
            await http.post(f"{PATH}/{created.json()}/activation", headers=headers)
        ).status_code == 204
    assert db.exists()

    async with _client(db) as http:  # a later run: a new app on the same file
        listed = (await http.get(PATH, headers=await _token(http))).json()
    assert [ca["name"] for ca in listed] == ["LTV"]
    assert listed[0]["active_definition"] is not None

    # And a served emulator on the same file.
    with running_emulator(db=db) as server, httpx.Client(base_url=server.url) as http_sync:
        served = http_sync.get(PATH, headers={"Authorization": f"Bearer {server.token()}"})
    assert served.json() == listed


async def test_in_memory_apps_are_independent() -> None:
    async with _client() as first, _client() as second:
        headers = await _token(first)
        assert (await first.post(PATH, json=ca_body(), headers=headers)).status_code == 201
        assert (await second.get(PATH, headers=headers)).json() == []


async def test_a_dropped_connection_reaches_an_in_process_client() -> None:
    async with _client(config=EmulatorConfig(fault_rate=1, fault_seed=0)) as http:
        outcomes: set[str] = set()
        for _ in range(30):
            try:
                response = await http.get(PATH)
            except ConnectionDropped:
                outcomes.add("dropped")
            else:
                outcomes.add(str(response.status_code))
    assert outcomes == {"dropped", "500", "503", "429"}


async def test_app_factory_defaults() -> None:
    async with in_process(create_app(EmulatorConfig()), base_url="http://e") as http:
        stats = (await http.get("/_emulator/stats")).json()
    assert stats["total"] == 0
    assert stats["faults"] == {}


@pytest.mark.parametrize("ttl", [0, 60])
async def test_token_ttl(ttl: int) -> None:
    async with _client(config=EmulatorConfig(token_ttl=ttl)) as http:
        token = (await http.post("/oauth/token", json=TOKEN_BODY)).json()
        assert token["expires_in"] == ttl
        response = await http.get(
            PATH, headers={"Authorization": f"Bearer {token['access_token']}"}
        )
    assert response.status_code == (403 if ttl == 0 else 200)
