"""A CA the Seeding API does not know yet: "No matching calculated attribute definition
found" for minutes after a write. Such refusals are told apart, waited out with back-off
and announced, bounded by --seed-wait; and `apply` then `seed` at once lands every user
against an emulator that takes 20 s to propagate, without bisecting anything."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.errors import ApiError, NotFoundError, ValidationFailed
from reconciler.seeding.propagation import PropagationWait, unknown_cas
from tests.conftest import StartEmulator
from tests.seeding.conftest import API_KEY, API_SECRET, cli_env
from tests.support.cli import run_cli
from tests.support.seeds import MANIFESTS, users, write_jsonl

BULK = "POST /v2/bulkcalculatedattributes"
NO_MATCH = "No matching calculated attribute definition found"


def refusal(*messages: str, status: int = 400) -> ApiError:
    kind = ValidationFailed if status == 400 else NotFoundError
    return kind("refused", status=status, messages=messages)


def test_a_refusal_only_for_unknown_cas_is_told_apart() -> None:
    assert unknown_cas(refusal(f"LTV: {NO_MATCH}", f"Orders: {NO_MATCH}")) == ("LTV", "Orders")
    assert unknown_cas(refusal(f"LTV: {NO_MATCH}", status=404)) == ("LTV",)
    # Anything else in the answer is about the users: bisect as before.
    assert unknown_cas(refusal(f"LTV: {NO_MATCH}", "Orders: Seed value must be numeric")) is None
    assert unknown_cas(refusal(NO_MATCH)) is None  # no CA named
    assert unknown_cas(refusal()) is None
    assert unknown_cas(refusal(f"LTV: {NO_MATCH}", status=422)) is None


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def _until_it_gives_up(wait: PropagationWait, answer: ApiError) -> None:
    for _ in range(100):
        await wait.until_learned(("LTV", "Orders"), answer)


def test_a_refused_batch_says_a_message_each_of_its_users_got_once_with_its_count() -> None:
    """A batch of three users refused for one CA printed "LTV: No matching ...; LTV: No
    matching ...; LTV: No matching ..." (a batch of 100: a hundred times)."""
    refused = refusal(f"LTV: {NO_MATCH}", f"LTV: {NO_MATCH}", "Orders: x", f"LTV: {NO_MATCH}")
    assert refused.detail == f"LTV: {NO_MATCH} (3 times); Orders: x"
    assert str(refused).endswith(f": LTV: {NO_MATCH} (3 times); Orders: x")
    assert unknown_cas(refused) is None  # the messages themselves are as the server sent them


def test_a_bare_refusal_soon_after_a_write_is_the_seeding_path_not_knowing_yet() -> None:
    """The seeding page: the error body "is optionally sent". A 400 or 404 without one,
    while CAs of the run were written less than five minutes ago, is that answer about
    those CAs; later, or with a body about the users, it is what it was."""
    time = FakeTime()
    wall = time.wall()
    written = {"LTV": wall - 30, "Orders": wall - 299, "Old": wall - 3600}
    wait = PropagationWait(
        600, lambda _: None, written=written, clock=time.clock, wall=time.wall, sleep=time.sleep
    )
    assert wait.unknown(refusal()) == ("LTV", "Orders")
    assert wait.unknown(refusal(status=404)) == ("LTV", "Orders")
    assert wait.unknown(refusal(f"Old: {NO_MATCH}")) == ("Old",)  # named: as before
    assert wait.unknown(refusal("LTV: Seed value must be numeric")) is None
    assert wait.unknown(refusal(status=422)) is None
    with pytest.raises(ApiError) as caught:  # --seed-wait runs out: says what it got
        asyncio.run(_until_it_gives_up(wait, refusal(status=404)))
    assert "refuses, without a reason (HTTP 404), the seeds of" in str(caught.value)
    assert time.now - 1000.0 >= 600
    time.now += 300  # five minutes on: nothing is still on its way
    assert wait.unknown(refusal()) is None
    assert PropagationWait(600, lambda _: None).unknown(refusal()) is None  # none written


async def test_the_wait_says_until_when_in_which_zone(local_zone: Callable[[str], None]) -> None:
    """The deadline is the wall clock's (the one injected), in local time, with its zone:
    a CI log (UTC) is read by people elsewhere."""
    local_zone("America/St_Johns")
    time = FakeTime()  # the wall clock reads 2023-11-14 22:30:00 UTC: 19:00:00 NST
    said: list[str] = []
    wait = PropagationWait(600, said.append, clock=time.clock, wall=time.wall, sleep=time.sleep)
    await wait.until_learned(["LTV"], refusal(f"LTV: {NO_MATCH}"))
    assert said[0].endswith("retrying until 19:10:00 NST (--seed-wait 600s)"), said


async def test_the_wait_backs_off_announces_and_ends_at_seed_wait() -> None:
    time = FakeTime()
    said: list[str] = []
    wait = PropagationWait(
        30,
        said.append,
        written={"LTV": time.wall() - 40},
        first_delay=1,
        max_delay=8,
        clock=time.clock,
        wall=time.wall,
        sleep=time.sleep,
    )
    refused = refusal(f"LTV: {NO_MATCH}")
    for _ in range(6):
        await wait.until_learned(["LTV"], refused)
    assert time.slept == [1, 2, 4, 8, 8, 7]  # doubled, capped, and cut at the deadline
    assert len(said) == 1
    assert said[0].startswith(
        'waiting for the Seeding API to learn CA "LTV" (written 40 s ago; mParticle takes up '
        "to 5 min); retrying until "
    )
    assert said[0].endswith("(--seed-wait 30s)")
    with pytest.raises(ApiError) as stopped:
        await wait.until_learned(["LTV"], refused)
    assert "still answers 'No matching calculated attribute definition found' for \"LTV\" " in (
        stopped.value.message
    )
    assert stopped.value.status == 400
    assert wait.retries == 6
    assert wait.waited == {"LTV"}


async def test_concurrent_senders_retry_together_and_a_landing_resets_the_back_off() -> None:
    time = FakeTime()
    wait = PropagationWait(
        600, lambda _: None, first_delay=1, max_delay=8, clock=time.clock, sleep=time.sleep
    )
    refused = refusal(f"LTV: {NO_MATCH}")
    await wait.until_learned(["LTV"], refused)
    time.now -= 1  # a second sender, refused at the same moment, waits for the same try
    await wait.until_learned(["LTV"], refused)
    assert time.slept == [1, 1]
    wait.learned()
    time.now += 5
    await wait.until_learned(["LTV"], refused)
    assert time.slept[-1] == 1


def test_apply_then_seed_at_once_lands_every_user_without_bisection(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    server = start_emulator(
        workspace_id=1234, api_key=API_KEY, api_secret=API_SECRET, propagation_delay=20
    )
    manifests = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, manifests)
    env = cli_env(
        server,
        MPARTICLE_API_URL=server.url,
        MPARTICLE_AUTH_URL=f"{server.url}/oauth/token",
        MPARTICLE_CLIENT_ID="emulator",
        MPARTICLE_CLIENT_SECRET="emulator",
    )
    applied = run_cli("apply", manifests, "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    path = write_jsonl(tmp_path / "seeds.jsonl", users(1000))
    command = [sys.executable, "-m", "reconciler", "seed", str(path), str(manifests)]
    command += ["--format", "json", "--seed-wait", "120"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    seeding = subprocess.Popen(
        command,
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert seeding.stderr is not None
    announced = ""
    for line in seeding.stderr:  # the command says what it waits for before it waits
        announced += line
        if "waiting for the Seeding API" in line:
            break
    # The emulator's clock, not the test, lets the 20 s of propagation pass.
    server.advance_clock(21)
    out, rest = seeding.communicate(timeout=120)
    announced += rest
    assert seeding.returncode == 0, announced
    assert "waiting for the Seeding API to learn CAs" in announced
    assert "mParticle takes up to 5 min); retrying until " in announced
    report = json.loads(out)
    stats = server.stats()
    assert server.seeds(limit=0)["count"] == 1000
    assert stats["seed_users_accepted"] == 1000  # every user once: nothing landed twice
    assert report["users"]["sent"] == 1000
    retries = report["propagation"]["retries"]
    assert retries >= 1
    # Each request carried a whole batch: the 10 batches, and the same batches again.
    assert stats["requests"][BULK] == 10 + retries
    assert report["propagation"]["waited_for"]


async def test_a_wait_for_many_cas_names_the_first_few() -> None:
    # A batch seeding hundreds of CAs just created named every one, in the announcement
    # (again every reminder) and in the error: 400 CAs were a line of 7 KB in a CI log.
    time = FakeTime()
    said: list[str] = []
    wait = PropagationWait(
        10, said.append, first_delay=1, clock=time.clock, wall=time.wall, sleep=time.sleep
    )
    names = [f"CA {n:03}" for n in range(400)]
    refused = refusal(*(f"{name}: {NO_MATCH}" for name in names))

    async def until_it_gives_up() -> None:
        for _ in range(100):
            await wait.until_learned(tuple(names), refused)

    with pytest.raises(ApiError) as stopped:
        await until_it_gives_up()
    assert '"CA 008", "CA 009" and 390 more (' in said[0]
    assert '"CA 010"' not in said[0]
    assert '"CA 009" and 390 more after 10s (--seed-wait)' in stopped.value.message
