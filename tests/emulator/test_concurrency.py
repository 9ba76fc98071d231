"""20 concurrent clients writing for 10 s against a real server leave a consistent store:
no lost update, no duplicate name, every acknowledged write (and nothing else) present,
and the same state after a restart on the same database file."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import StartEmulator
from tests.emulator.api import basic_auth, ca_body
from tests.support.emulator import EmulatorServer

CLIENTS = 20
SECONDS = 10.0
SHARED_NAMES = [f"shared-{k}" for k in range(4)]
CUTOFF = "2019-10-02"


@dataclass
class ClientLog:
    """What one client's acknowledged requests did."""

    own_id: int = 0
    last_description: str = ""
    created: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    duplicate_refusals: int = 0
    seeded_users: int = 0
    requests: int = 0


async def _client(number: int, server: EmulatorServer, token: str, deadline: float) -> ClientLog:
    log = ClientLog()
    path = server.platform_path()
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=bearer, timeout=30) as http:

        async def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
            log.requests += 1
            return await http.request(method, url, **kwargs)

        own_name = f"own-{number}"
        response = await call("POST", path, json=ca_body(own_name))
        assert response.status_code == 201, response.text
        log.own_id = response.json()
        round_ = 0
        while time.monotonic() < deadline:
            round_ += 1
            description = f"{number}:{round_}"
            body = {**ca_body(own_name), "description": description}
            response = await call("PUT", f"{path}/{log.own_id}", json=body)
            assert response.status_code == 204, response.text
            log.last_description = description
            if round_ % 5 == 0:
                response = await call("POST", f"{path}/{log.own_id}/activation")
                assert response.status_code == 204, response.text

            shared = SHARED_NAMES[(number + round_) % len(SHARED_NAMES)]
            response = await call("POST", path, json=ca_body(shared))
            if response.status_code == 201:
                log.created.add(response.json())
            else:
                assert response.status_code == 400, response.text
                assert response.json()["errors"][0]["message"] == "Field 'name' must be unique."
                log.duplicate_refusals += 1
            mine = sorted(log.created - log.deleted)
            if mine and round_ % 2 == 0:
                response = await call("DELETE", f"{path}/{mine[0]}")
                assert response.status_code == 204, response.text
                log.deleted.add(mine[0])

            first_mpid = number * 1_000_000 + round_ * 5
            users = [
                {
                    "environment": "development",
                    "mpid": first_mpid + k,
                    "calculated_attributes": {
                        "workspace": [
                            {
                                "attribute_name": own_name,
                                "calculation_type": "sum",
                                "cutoff_date": CUTOFF,
                                "seed": {"value": round_},
                            }
                        ]
                    },
                }
                for k in range(5)
            ]
            response = await call(
                "POST",
                "/v2/bulkcalculatedattributes",
                json=users,
                headers={"Authorization": basic_auth()},
            )
            assert response.status_code == 202, response.text
            log.seeded_users += len(users)
    return log


async def _run_clients(server: EmulatorServer, token: str) -> list[ClientLog]:
    deadline = time.monotonic() + SECONDS
    return list(
        await asyncio.gather(*(_client(n, server, token, deadline) for n in range(CLIENTS)))
    )


def _snapshot(server: EmulatorServer, token: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server.url) as http:
        response = http.get(server.platform_path(), headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        result: list[dict[str, Any]] = response.json()
        return result


async def test_concurrent_writers_leave_a_consistent_store(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    db = tmp_path / "emulator.db"
    server = start_emulator(db=db)
    token = server.token()
    logs = await _run_clients(server, token)

    live = _snapshot(server, token)
    names = Counter(ca["name"] for ca in live)
    assert all(count == 1 for count in names.values()), names
    by_name = {ca["name"]: ca for ca in live}
    for number, log in enumerate(logs):
        own = by_name[f"own-{number}"]
        assert own["id"] == log.own_id
        assert own["description"] == log.last_description  # no lost update
    created = set().union(*(log.created for log in logs))
    deleted = set().union(*(log.deleted for log in logs))
    assert {ca["id"] for ca in live if ca["name"] in SHARED_NAMES} == created - deleted
    assert sum(log.duplicate_refusals for log in logs) > 0  # the names were contested

    seeded = sum(log.seeded_users for log in logs)
    assert server.seeds(limit=0)["count"] == seeded
    stats = server.stats()
    assert stats["seed_users_accepted"] == seeded
    assert stats["total"] == sum(log.requests for log in logs) + 2  # + token + snapshot

    # The file holds exactly what was acknowledged: a new process sees the same state.
    server.stop()
    restarted = start_emulator(db=db)
    assert _snapshot(restarted, token) == live
    assert restarted.seeds(limit=0)["count"] == seeded
