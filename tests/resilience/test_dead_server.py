"""A server that goes away in the middle of an apply (the emulator killed, a host gone).

A real `reconciler apply` talks to an emulator server through a loopback proxy that, at a
chosen create, stops listening: every connection after that is refused, as by a killed
server. A create that could not connect never left this machine, so it fails with its own
error and nothing looks for it by name (that look-up cost a dozen more attempts against the
dead server, and the step failed with the look-up's GET). A create on its way when the
server went may have been carried out: it is looked up, and when the look-up fails too, the
step says both. Each failure is said as its step ends and beside how far its CA got, the
last word names the step; once the server is back, apply converges with nothing doubled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.servers import Request, Server, response, running
from tests.support.workspace import RawApi, ca, env_for, write_manifests

#: Request headers not passed on as they are (the proxy's HTTP client sets its own).
HOP = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"}
)
#: Answer headers the proxy sets itself: each answer ends its connection, so that every
#: request after the server went needs a new one, and is refused.
OWN = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection"})
COLLECTION = "/platform/.../calculatedattributes"


@dataclass
class Dying:
    """A proxy to `upstream` that stops listening at its `at`th create: once that create
    was answered, or (`on_its_way`) once the server carried it out, unanswered."""

    upstream: str
    at: int
    on_its_way: bool
    creates: int = 0
    server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def go(self) -> None:
        """The server is gone: every new connection is refused."""
        assert self.server is not None
        assert self.server.listener is not None
        self.server.listener.close()


@contextmanager
def dying(upstream: str, at: int, on_its_way: bool) -> Iterator[Dying]:
    proxy = Dying(upstream, at, on_its_way)

    async def behaviour(request: Request, writer: asyncio.StreamWriter) -> None:
        headers = {k: v for k, v in request.headers.items() if k not in HOP}
        answer = await asyncio.to_thread(
            client.request, request.method, request.path, headers=headers, content=request.body
        )
        creating = request.method == "POST" and request.path.endswith("/calculatedattributes")
        proxy.creates += creating
        if creating and proxy.creates == proxy.at:
            proxy.go()
            if proxy.on_its_way:
                writer.close()  # carried out, and the connection closed unanswered
                return
        passed = {k: v for k, v in answer.headers.items() if k.lower() not in OWN}
        closing = {**passed, "connection": "close"}
        writer.write(response(answer.status_code, answer.content, closing))

    with httpx.Client(base_url=upstream, timeout=30) as client, running(behaviour) as server:
        proxy.server = server
        yield proxy


def converges(directory: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    """With the server back, apply ends well, the plan is then empty, no CA is doubled."""
    env = env_for(emulator.url)
    applied = run_cli("apply", directory, "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    planned = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert planned.exit_code == 0, planned.output
    assert sorted(item["name"] for item in raw.list()) == ["A", "B", "C"]


def applied_through(proxy: Dying, directory: Path) -> str:
    """The apply through the proxy, which fails at B's create (said once by the last
    word, which names the step); its stdout."""
    env = {**env_for(proxy.url), "RECONCILER_RETRY_ATTEMPTS": "4"}
    result = run_cli("apply", directory, "--auto-approve", "--concurrency", "1", env=env)
    assert result.exit_code == 1, result.output
    assert "Apply stopped: 1 done, 1 failed, 1 not started." in result.stdout
    assert "  ✗ 1 failed (each printed above as it ended)" in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        'Error: apply stopped: 1 step failed: create "B". The report above says why each '
        "failed and how far its CA got."
    )
    return result.stdout


def failed_line(stdout: str) -> str:
    """B's line as its create ended."""
    return next(line for line in stdout.splitlines() if line.startswith('✗ create "B"'))


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    """Three CAs kept as drafts: their steps are creates, one after the other."""
    return write_manifests(tmp_path, [ca(name, active=False) for name in ("A", "B", "C")])


def test_a_create_after_the_server_went_fails_as_itself_and_is_not_looked_for(
    manifests: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    with dying(emulator.url, at=1, on_its_way=False) as proxy:
        stdout = applied_through(proxy, manifests)
        refused = (
            f"the connection was refused (is the server running?) (POST {proxy.url}"
            f"{COLLECTION}): All connection attempts failed (gave up after 4 attempts)"
        )
    assert failed_line(stdout) == f'✗ create "B": {refused}'  # no look-up, no GET
    assert f'  "B": create failed: {refused}\n' in stdout
    assert stdout.count(refused) == 2  # as the step ended, and beside how far its CA got
    assert [item["name"] for item in raw.list()] == ["A"]
    converges(manifests, emulator, raw)


def test_a_create_on_its_way_when_the_server_went_is_looked_for_and_both_failures_said(
    manifests: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    with dying(emulator.url, at=2, on_its_way=True) as proxy:
        stdout = applied_through(proxy, manifests)
        looked_up = (
            "; looking it up by name failed too: the connection was refused (is the server "
            f"running?) (GET {proxy.url}{COLLECTION}): All connection attempts failed (gave up "
            "after 4 attempts)"
        )
        line = failed_line(stdout)
    assert line.startswith('✗ create "B": the connection was lost before the answer came ('), line
    assert f"(POST {proxy.url}{COLLECTION})" in line
    assert line.endswith(looked_up), line
    # The create was carried out: the CA exists once, and the next apply takes it as it is.
    assert sorted(item["name"] for item in raw.list()) == ["A", "B"]
    converges(manifests, emulator, raw)
