"""The `reconciler emulator` process: the exact readiness line, clean exits on SIGINT and
SIGTERM (in-flight requests finish first), bad options, and durability across a crash."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.server import bind
from tests.conftest import StartEmulator
from tests.emulator.api import Api, ca_body
from tests.support.emulator import emulator_command, running_emulator


def test_prints_the_listening_line_with_the_bound_port() -> None:
    with running_emulator() as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert not server.url.endswith(":0")
        assert httpx.get(server.url + "/_emulator/stats").status_code == 200


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_server_cleanly(start_emulator: StartEmulator, sig: int) -> None:
    server = start_emulator(latency_ms=300)
    answers: list[int] = []

    def slow_request() -> None:
        answers.append(httpx.get(server.url + server.platform_path(), timeout=30).status_code)

    in_flight = threading.Thread(target=slow_request)
    in_flight.start()
    while server.stats()["total"] == 0:  # until the request is inside the server
        pass
    assert server.stop(sig) == 0
    in_flight.join()
    assert answers == [401]  # the in-flight request was answered before the exit
    assert "Traceback" not in server.stderr()


def test_a_port_in_use_is_an_error() -> None:
    with running_emulator() as server:
        port = server.url.rsplit(":", 1)[1]
        result = subprocess.run(
            emulator_command(port=int(port)),
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "cannot listen on 127.0.0.1:" in result.stderr
    assert result.stdout == ""


def test_invalid_options_are_errors() -> None:
    result = subprocess.run(
        emulator_command(fault_rate=2), check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "'--fault-rate': must be between 0 and 1, not 2" in result.stderr


def test_listening_socket_is_tcp() -> None:
    # asyncio turns on TCP_NODELAY for accepted connections only if the listening socket
    # says IPPROTO_TCP; without it every answer waits ~40 ms for a delayed ACK.
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_acknowledged_writes_survive_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "emulator.db"
    db.parent.mkdir()  # --db makes the file, never a missing folder (a mistyped path)
    with running_emulator(db=db) as server:
        api = Api(server)
        ids = [api.create_ok(ca_body(f"ca{n}")) for n in range(5)]
        api.activate(ids[0])
        api.close()
        server.kill()
    with running_emulator(db=db) as server:
        api = Api(server)
        live = api.list().json()
        api.close()
    assert [ca["id"] for ca in live] == ids
    assert live[0]["active_definition"] is not None


def test_module_entry_point_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "emulator", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for flag in ("--fault-seed", "--calculation-seconds", "--token-ttl", "--retention-days"):
        assert flag in result.stdout
