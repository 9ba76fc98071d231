"""Waiting and failing fast (SPEC §4): every request and every command has a deadline, a
failure that retrying cannot fix stops at once, every long wait is announced, and every
final message names the host. Each case is a real server on loopback (a raw one where the
emulator cannot misbehave that way) and a real `reconciler plan` process, whose time limit
is what a hang would hit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.conftest import StartEmulator
from tests.support.cli import run_cli, run_process
from tests.support.emulator import EmulatorServer
from tests.support.servers import answering, hanging, response, running, trickling
from tests.support.workspace import ca, env_for, write_manifests

#: Far beyond what any of these runs needs, far below what the defects took (13-22 min).
LIMIT = 40


def env_at(url: str, **knobs: str) -> dict[str, str]:
    """The CLI pointed at `url` for both the token and the API, quick retries."""
    return {**env_for(url), "RECONCILER_RETRY_MAX_WAIT": "0.05", **knobs}


def test_a_trickling_server_is_cut_off_by_the_request_timeout(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    with running(trickling(0.2)) as server:
        env = env_at(server.url, RECONCILER_REQUEST_TIMEOUT="1")
        result = run_process("plan", directory, env=env, timeout=LIMIT)
    assert result.exit_code == 1, result.output
    assert "no complete answer within 1 s (RECONCILER_REQUEST_TIMEOUT)" in result.stderr
    assert f"POST {server.url}/oauth/token" in result.stderr
    assert "gave up after 2 attempts" in result.stderr  # a slow failure gets one more chance
    assert len(server.requests) == 2


def test_a_hung_server_fails_in_two_request_timeouts(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    with running(hanging) as server:
        env = env_at(server.url, RECONCILER_REQUEST_TIMEOUT="0.5")
        result = run_process("plan", directory, env=env, timeout=LIMIT)
    assert result.exit_code == 1, result.output
    assert "no complete answer within 0.5 s" in result.stderr
    assert server.url in result.stderr
    assert len(server.requests) == 2


def test_the_command_deadline_ends_endless_retries(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    with running(answering(503, "Service unavailable")) as server:
        env = env_at(
            server.url,
            RECONCILER_RETRY_ATTEMPTS="100",
            RECONCILER_RETRY_INITIAL_WAIT="0.05",
            RECONCILER_RETRY_MAX_WAIT="0.2",
            RECONCILER_DEADLINE="1.5",
        )
        result = run_process("plan", directory, env=env, timeout=LIMIT)
    assert result.exit_code == 1, result.output
    assert "RECONCILER_DEADLINE" in result.stderr
    assert f"{server.url}/oauth/token" in result.stderr
    assert "Service unavailable" in result.stderr  # the last answer is kept in the message
    assert 1 < len(server.requests) < 100


def test_a_retry_after_beyond_the_deadline_fails_at_once(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    slow_down = answering(429, "slow down", {"retry-after": "999999999"})
    with running(slow_down) as server:
        result = run_process("plan", directory, env=env_at(server.url), timeout=LIMIT)
    assert result.exit_code == 1, result.output
    assert "the server asked to wait" in result.stderr
    assert "(Retry-After), beyond this command's deadline" in result.stderr
    assert server.url in result.stderr
    assert len(server.requests) == 1  # nothing was sent again


def test_an_unknown_host_fails_at_once_and_is_named(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    # `.invalid` never resolves (RFC 2606).
    env = env_at("http://api.reconciler.invalid")
    result = run_process("--debug", "plan", directory, env=env, timeout=LIMIT)
    assert result.exit_code == 1, result.output
    assert "cannot resolve the host name (DNS)" in result.stderr
    assert "http://api.reconciler.invalid/oauth/token" in result.stderr
    assert "retrying" not in result.stderr


#: A resolver that never answers for `*.stalled.test` (a DNS server that does not reply):
#: the lookup blocks its thread, where no timeout can cancel it.
STALLED_RESOLVER = """
import socket, time
_lookup = socket.getaddrinfo
def _stalled(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.endswith(".stalled.test"):
        time.sleep(600)
    return _lookup(host, *args, **kwargs)
socket.getaddrinfo = _stalled
"""


def test_a_resolver_that_never_answers_does_not_hold_the_exit(tmp_path: Path) -> None:
    """The request timeout ended the requests, but the command then waited, silent, for
    the lookups still blocked in their threads before it said why it failed."""
    directory = write_manifests(tmp_path / "ws", [ca("A")])
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(STALLED_RESOLVER)
    url = "https://api.stalled.test"
    env = env_at(
        url,
        RECONCILER_REQUEST_TIMEOUT="0.5",
        RECONCILER_TRUSTED_HOSTS="api.stalled.test",
        PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), *sys.path]),
    )
    result = run_process("plan", directory, env=env, timeout=20)  # the lookups take 600 s
    assert result.exit_code == 1, result.output
    assert f"POST {url}/oauth/token" in result.stderr
    assert "gave up after" in result.stderr


def test_tls_failures_are_not_retried(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    # A plain HTTP server that speaks first: the client's TLS handshake reads HTTP.
    with running(answering(200, "plain HTTP"), greeting=response(400)) as server:
        url = server.url.replace("http://", "https://")
        result = run_process("--debug", "plan", directory, env=env_at(url), timeout=LIMIT)
    assert result.exit_code == 1, result.output
    assert "the TLS connection failed" in result.stderr
    assert f"POST {url}/oauth/token" in result.stderr
    assert "retrying" not in result.stderr


def test_a_wait_for_the_rate_limit_is_announced_with_host_and_time(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    server = start_emulator(rate_limit=1)  # the token passes; the list meets a 429
    directory = write_manifests(tmp_path, [ca("A")])
    result = run_cli("plan", directory, env=env_for(server.url))
    assert result.exit_code == 0, result.output
    shown = f"GET {server.url}/platform/.../calculatedattributes in "
    notice = next(line for line in result.stderr.splitlines() if shown in line)
    assert notice.startswith("retrying 2/12 ")
    assert "(at " in notice
    assert notice.endswith("You have exceeded your provisioned limit.")
    assert "Plan: 1 to create" in result.stdout


def test_a_slow_local_rate_limit_works_and_is_announced(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Below one request a second the limiter refused every request as a bug."""
    directory = write_manifests(tmp_path, [ca("A")])
    env = {**env_for(emulator.url), "RECONCILER_RATE_LIMIT": "0.8"}
    result = run_cli("plan", directory, env=env)
    assert result.exit_code == 0, result.output
    assert "pacing requests at 0.8 a second (RECONCILER_RATE_LIMIT or rate_limit): " in (
        result.stderr
    )
    assert f"{emulator.url}/platform/.../calculatedattributes waits for its turn, at most " in (
        result.stderr
    )
