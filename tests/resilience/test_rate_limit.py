"""A server that takes one request a second is survivable: concurrent workers refused
together by a 429 come back one at a time, from the pacer's queue, at the pace the server
took them (api/pacing.py), instead of all together after each Retry-After, which used
their attempts up in a stampede."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import StartEmulator
from tests.support.cli import run_cli
from tests.support.workspace import RawApi, ca, env_for, write_manifests

COUNT = 10


def test_apply_at_concurrency_8_survives_one_request_a_second(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    server = start_emulator(rate_limit=1)
    # Drafts only: one create each, so the run needs about 14 requests (14 s at 1/s).
    cas = [ca(f"CA {n}", active=False) for n in range(COUNT)]
    directory = write_manifests(tmp_path, cas)
    # Six attempts each: woken together, eight workers get one success a round, so two of
    # them have lost six rounds by the sixth (what happened before any pacing); paced,
    # each comes back about when the server has room, and waiting its turn costs none.
    env = {**env_for(server.url), "RECONCILER_RETRY_ATTEMPTS": "6"}
    result = run_cli("apply", directory, "--auto-approve", "--concurrency", "8", env=env)
    assert result.exit_code == 0, result.output
    assert server.stats()["rate_limited"] > 0  # the limit was met, and survived
    server.settings(rate_limit=None)
    api = RawApi(server.url)
    try:
        assert sorted(api.by_name()) == sorted(f"CA {n}" for n in range(COUNT))
    finally:
        api.close()
