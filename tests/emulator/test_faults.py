"""Seeded faults over real HTTP (`--fault-rate 0.3 --fault-seed 1`): reproducible for the
same request sequence, every kind occurs, and each kind leaves the store as documented —
commit-then-500 and half of the dropped connections really commit."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import Message

from reconciler.emulator.faults import _with_usage
from tests.conftest import StartEmulator
from tests.emulator.api import Api, ca_body
from tests.support.emulator import EmulatorServer

KINDS = {
    "server_error",
    "service_unavailable",
    "too_many_requests",
    "dropped_connection",
    "commit_then_500",
}
CREATES = 150


def _run_sequence(server: EmulatorServer, token: str) -> list[Any]:
    """A fixed sequence of requests; each outcome is (status, Retry-After) or "dropped"."""
    outcomes: list[Any] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        for n in range(CREATES):
            requests: list[tuple[str, str, dict[str, Any] | None]] = [
                ("POST", server.platform_path(), ca_body(f"ca-{n}"))
            ]
            if n % 5 == 0:
                requests.append(("GET", server.platform_path(), None))
            for method, path, body in requests:
                try:
                    response = http.request(method, path, json=body)
                except httpx.TransportError:
                    outcomes.append("dropped")
                else:
                    outcomes.append((response.status_code, response.headers.get("retry-after")))
    return outcomes


def _live_names(server: EmulatorServer) -> set[str]:
    server.settings(fault_rate=0)
    api = Api(server)
    try:
        return {ca["name"] for ca in api.list().json()}
    finally:
        api.close()


def test_faults_are_reproducible_and_each_kind_does_what_it_says(
    start_emulator: StartEmulator, emulator: EmulatorServer
) -> None:
    # Tokens are signed, not stored: one from any emulator with the same credentials
    # works here, so the faulty server's sequence holds only the requests below.
    token = emulator.token()
    first = start_emulator(fault_rate=0.3, fault_seed=1)
    outcomes = _run_sequence(first, token)
    stats = first.stats()
    log = stats["fault_log"]
    assert set(stats["faults"]) == KINDS
    assert all(count > 0 for count in stats["faults"].values())
    assert len(log) == sum(stats["faults"].values())
    assert {entry["committed"] for entry in log if entry["fault"] == "dropped_connection"} == {
        True,
        False,
    }

    # Each request's outcome matches its fault (request numbers are 1-based).
    expected_status = {
        "server_error": (500, None),
        "service_unavailable": (503, None),
        "too_many_requests": (429, "1"),
        "commit_then_500": (500, None),
        "dropped_connection": "dropped",
    }
    faults = {entry["request"]: entry for entry in log}
    for number, outcome in enumerate(outcomes, start=1):
        if number in faults:
            assert outcome == expected_status[faults[number]["fault"]]
        else:
            assert outcome in ((201, None), (200, None))

    # What was committed: successes, commit-then-500, and drops that committed first.
    committed = set()
    number = 0
    for n in range(CREATES):
        number += 1
        fault = faults.get(number)
        if fault is None or fault["committed"]:
            committed.add(f"ca-{n}")
        if n % 5 == 0:
            number += 1  # the list request after every fifth create
    assert _live_names(first) == committed
    assert any(f["fault"] == "commit_then_500" for f in log)

    # The same seed and sequence give the same faults: after a reset, and in a new process.
    first.reset()
    assert _run_sequence(first, token) == outcomes
    assert first.stats()["fault_log"] == log
    second = start_emulator(fault_rate=0.3, fault_seed=1)
    assert _run_sequence(second, token) == outcomes
    other_seed = start_emulator(fault_rate=0.3, fault_seed=2)
    assert _run_sequence(other_seed, token) != outcomes


def test_token_endpoint_faults_never_drop_the_connection(
    start_emulator: StartEmulator,
) -> None:
    server = start_emulator(fault_rate=1, fault_seed=3)
    body = {
        "client_id": "emulator",
        "client_secret": "emulator",
        "audience": "https://api.mparticle.com",
        "grant_type": "client_credentials",
    }
    with httpx.Client(base_url=server.url) as http:
        statuses = {http.post("/oauth/token", json=body).status_code for _ in range(40)}
    assert statuses == {500, 503, 429}
    assert "dropped_connection" not in server.stats()["faults"]
    assert server.stats()["faults"]["commit_then_500"] > 0


def test_latency_and_faults_spare_the_test_routes(start_emulator: StartEmulator) -> None:
    server = start_emulator(fault_rate=1, fault_seed=4, latency_ms=1)
    for _ in range(10):
        server.stats()
        server.seeds()
    assert server.stats()["total"] == 0
    assert server.settings()["latency_ms"] == 1


def test_head_requests_never_drop_the_connection(start_emulator: StartEmulator) -> None:
    server = start_emulator(fault_rate=1, fault_seed=5)
    with httpx.Client(base_url=server.url) as http:
        statuses = {http.head(server.platform_path()).status_code for _ in range(40)}
    assert statuses == {500, 503, 429}


async def test_the_percentage_used_is_the_greatest_of_the_limits() -> None:
    """The default service limits: "If a resource has multiple limits, the response header
    includes the greatest consumption percentage of all applicable speed and acceleration
    limits" — the global rate limit's and a seeding route's own."""
    sent: list[Message] = []

    async def capture(message: Message) -> None:
        sent.append(message)

    def start(status: int, own: int | None) -> Message:
        headers = [(b"content-type", b"application/json")]
        if own is not None:
            headers.append((b"X-mp-rate-limit-percentage-used", str(own).encode()))
        return {"type": "http.response.start", "status": status, "headers": headers}

    for status, own, bucket in ((202, 92, 10), (202, 5, 10), (200, None, 30), (429, None, 30)):
        await _with_usage(capture, bucket)(start(status, own))
    found = [
        [v for k, v in message["headers"] if k.lower() == b"x-mp-rate-limit-percentage-used"]
        for message in sent
    ]
    assert found == [[b"92"], [b"10"], [b"30"], []]
