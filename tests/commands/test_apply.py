"""`reconciler apply` end to end over loopback HTTP: convergence, saved plans, failures,
prune and safety, confirmation."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from reconciler.api.client import CalculationStatus, PlatformClient
from reconciler.commands.apply import _step_counter, failure_error
from reconciler.console import Heartbeat, Output
from reconciler.errors import DeadlineExceeded
from reconciler.plan.report import ActionOutcome, ApplyReport
from reconciler.plan.value import Action
from reconciler.workspace.calculations import WaitTimeout, follow_calculations
from tests.commands.test_plan import LIST, TOKEN, converge, writes
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.servers import Request, forwarding, json_error
from tests.support.workspace import SESSIONS, RawApi, ca, env_for, write_manifests

ROOT = Path(__file__).resolve().parents[2]


def test_example_workspace_converges(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    directory = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", directory)
    env = env_for(emulator.url)
    first = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert first.exit_code == 2
    assert "Plan: 13 to create, 0 to update, 0 drafts to discard, 12 to activate, 0 to delete." in (
        first.stdout
    )
    converge(directory, emulator)
    live = raw.by_name()
    assert len(live) == 13
    assert live["Wishlist Adds (beta)"]["active_definition"] is None


def test_apply_reports_each_step(tmp_path: Path, emulator: EmulatorServer) -> None:
    directory = write_manifests(tmp_path, [ca("A"), ca("B", active=False)])
    result = run_cli(
        "apply", directory, "--auto-approve", "--format", "json", env=env_for(emulator.url)
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "ok"
    assert [(a["action"], a["name"], a["status"]) for a in report["actions"]] == [
        ("create", "A", "done"),
        ("activate", "A", "done"),
        ("create", "B", "done"),
    ]
    assert all(isinstance(a["id"], int) for a in report["actions"])


def test_saved_plan_is_applied_exactly(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A"), ca("B")])
    saved = tmp_path / "plan.json"
    env = env_for(emulator.url)
    assert run_cli("plan", directory, "--out", saved, env=env).exit_code == 0
    # The manifests change after the plan was made: the saved plan still rules.
    write_manifests(tmp_path / "m", [ca("A"), ca("B"), ca("C")])
    result = run_cli("apply", directory, "--plan", saved, env=env)
    assert result.exit_code == 0, result.output
    assert sorted(raw.by_name()) == ["A", "B"]


def test_an_empty_saved_plan_names_the_workspace_it_was_made_for(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    # In CI over dev, staging and prod, "No changes" alone does not say which one.
    directory = write_manifests(tmp_path / "m", [ca("A")])
    env = env_for(emulator.url)
    assert run_cli("apply", directory, "--auto-approve", env=env).exit_code == 0
    saved = tmp_path / "plan.json"
    assert run_cli("plan", directory, "--out", saved, env=env).exit_code == 0
    applied = run_cli("apply", "--plan", saved, env=env)
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.strip() == "No changes in the saved plan for workspace 1234."


def test_stale_plan_is_refused_and_nothing_is_sent(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    ca_id = raw.create("A", SESSIONS)
    directory = write_manifests(tmp_path / "m", [ca("A", description="new")])
    saved = tmp_path / "plan.json"
    env = env_for(emulator.url)
    assert run_cli("plan", directory, "--out", saved, env=env).exit_code == 0
    raw.update(ca_id, "A", SESSIONS, description="changed in the UI")
    before = writes(emulator.stats())
    result = run_cli("apply", directory, "--plan", saved, env=env)
    assert result.exit_code == 1
    assert "plan is stale" in result.stderr
    assert '"A" (id' in result.stderr
    assert writes(emulator.stats()) == before


def test_a_plan_stale_for_many_cas_names_the_first_ones_and_counts_the_rest(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    # Every reason went into one line: a saved plan of 1,000 CAs all changed since made a
    # 53,000-character error (10,000 CAs: half a megabyte).
    ids = [raw.create(f"CA {n:02d}", SESSIONS) for n in range(12)]
    directory = write_manifests(
        tmp_path / "m", [ca(f"CA {n:02d}", description="new") for n in range(12)]
    )
    saved = tmp_path / "plan.json"
    env = env_for(emulator.url)
    assert run_cli("plan", directory, "--out", saved, env=env).exit_code == 0
    for n, ca_id in enumerate(ids):
        raw.update(ca_id, f"CA {n:02d}", SESSIONS, description="changed in the UI")
    result = run_cli("apply", directory, "--plan", saved, env=env)
    assert result.exit_code == 1
    error = result.stderr.replace("\n", " ")
    assert error.count("changed since the plan was made") == 10
    assert f'"CA 09" (id {ids[9]}) changed since the plan was made; and 2 more.' in error
    assert '"CA 10"' not in error


def test_stale_when_a_name_to_create_now_exists(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")])
    saved = tmp_path / "plan.json"
    env = env_for(emulator.url)
    assert run_cli("plan", directory, "--out", saved, env=env).exit_code == 0
    raw.create("A", SESSIONS)
    before = writes(emulator.stats())
    result = run_cli("apply", directory, "--plan", saved, env=env)
    assert result.exit_code == 1
    assert '"A" now exists' in result.stderr
    assert writes(emulator.stats()) == before


def test_failure_stops_new_work_and_rerun_converges(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    emulator.settings(max_active=2)
    directory = write_manifests(tmp_path, [ca(f"CA {n}") for n in range(6)])
    env = env_for(emulator.url)
    result = run_cli("apply", directory, "--auto-approve", "--concurrency", "1", env=env)
    assert result.exit_code == 1
    assert "Apply stopped: 5 done, 1 failed, 6 not started." in result.stdout
    # Why it failed is said as the step ends and beside how far its CA got, no more: with
    # the report's list of failed steps and the last word it was said four times.
    refusal = "You have reached the account limit on active calculated attributes"
    assert result.stdout.count(refusal) == 2, result.stdout
    assert refusal not in result.stderr
    assert "  ✗ 1 failed (each printed above as it ended)" in result.stdout
    assert 'not started: create "CA 3"' in result.stdout
    # The last word names the failed step, whatever the length of the report above it.
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r'Error: apply stopped: 1 step failed: activate "CA \d" \(id \d+\)\. The report above '
        "says why each failed and how far its CA got.",
        last,
    ), last
    emulator.settings(max_active=100)
    converge(directory, emulator)
    assert len(raw.list()) == 6


def test_refuses_without_a_terminal_or_auto_approve(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    result = run_cli("apply", directory, env=env_for(emulator.url))
    assert result.exit_code == 1
    assert "refusing to apply without confirmation" in result.stderr
    assert writes(emulator.stats()) == 0


def test_prune_deletes_unmanaged_and_guards_used_cas(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    legacy = raw.create("Legacy", SESSIONS)
    used = raw.create("Used", SESSIONS)
    emulator.set_audience_count(used, 2)
    directory = write_manifests(tmp_path, [ca("Keep")], settings={"prune": True})
    env = env_for(emulator.url)
    refused = run_cli("apply", directory, "--auto-approve", env=env)
    assert refused.exit_code == 1
    assert 'deleting "Used"' in refused.stderr
    assert "breaks 2 audiences" in refused.stderr
    assert sorted(raw.by_name()) == ["Legacy", "Used"]
    forced = run_cli("apply", directory, "--auto-approve", "--force", env=env)
    assert forced.exit_code == 0, forced.output
    assert sorted(raw.by_name()) == ["Keep"]
    assert legacy not in {item["id"] for item in raw.list()}


def said(text: str) -> str:
    """`text` with its lines joined (a message wraps at the terminal's width)."""
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("count", "sent"), [(None, "no audience_count"), (-1, "audience_count -1")]
)
def test_prune_refuses_to_delete_a_ca_whose_audience_count_is_unknown(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi, count: int | None, sent: str
) -> None:
    """An answer without a count for a CA (or -1, how some APIs say "unknown") is not "used
    by no audience": `plan --prune` and `apply --prune` refuse its delete as they refuse
    that of a CA in use, until `--allow delete-in-use`; then the plan is empty."""
    raw.activate(raw.create("Sessions", SESSIONS))
    legacy = raw.create("Legacy", SESSIONS)
    raw.activate(legacy)
    emulator.set_audience_count(legacy, count)
    directory = write_manifests(tmp_path, [ca("Sessions")])
    env = {**env_for(emulator.url), "NO_COLOR": "1", "COLUMNS": "1000"}
    reason = (
        f'deleting "Legacy" (id {legacy}) may break audiences that use it: the API\'s answer '
        f"does not say how many do ({sent}); check in mParticle which audiences use it"
    )
    before = writes(emulator.stats())
    shown = run_cli("plan", directory, "--prune", env=env)
    assert shown.exit_code == 1, shown.output
    assert "used by an unknown number of audiences" in shown.stdout
    assert f"[delete-in-use] {reason}" in said(shown.stderr)
    assert "pass --allow delete-in-use" in said(shown.stderr)
    refused = run_cli("apply", directory, "--prune", "--auto-approve", env=env)
    assert refused.exit_code == 1, refused.output
    assert reason in said(refused.stderr)
    assert writes(emulator.stats()) == before
    allowed = run_cli(
        "plan", directory, "--prune", "--allow", "delete-in-use", "--format", "json", env=env
    )
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["overridden"] == [
        {"rule": "delete-in-use", "message": reason}
    ]
    applied = run_cli(
        "apply", directory, "--prune", "--allow", "delete-in-use", "--auto-approve", env=env
    )
    assert applied.exit_code == 0, applied.output
    assert sorted(raw.by_name()) == ["Sessions"]
    again = run_cli("plan", directory, "--prune", "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout


def test_a_count_that_became_unknown_since_the_plan_makes_it_stale(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """A plan deleting a CA no audience used is not the plan for one whose count is now
    unknown: the fingerprint folded a missing count into 0, and the delete went through."""
    raw.activate(raw.create("Sessions", SESSIONS))
    legacy = raw.create("Legacy", SESSIONS)
    directory = write_manifests(tmp_path, [ca("Sessions")], settings={"prune": True})
    env = env_for(emulator.url)
    saved = tmp_path / "plan.json"
    made = run_cli("plan", directory, "--out", saved, env=env)
    assert made.exit_code == 0, made.output
    emulator.set_audience_count(legacy, None)
    before = writes(emulator.stats())
    stale = run_cli("apply", "--plan", saved, "--auto-approve", env=env)
    assert stale.exit_code == 1, stale.output
    assert f'plan is stale: "Legacy" (id {legacy}) changed since the plan was made' in said(
        stale.stderr
    )
    assert writes(emulator.stats()) == before


def test_threshold_guards_large_changes(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    for n in range(10):
        raw.activate(raw.create(f"CA {n}", SESSIONS))
    weekly = {**SESSIONS, "time_period": {"type": "within", "within": 7, "within_unit": "days"}}
    cas = [ca(f"CA {n}", weekly if n < 4 else SESSIONS) for n in range(10)]
    directory = write_manifests(tmp_path, cas)
    env = env_for(emulator.url)
    refused = run_cli("apply", directory, "--auto-approve", env=env)
    assert refused.exit_code == 1
    assert "changes or deletes 4 of the workspace's 10 CAs (more than 30%)" in refused.stderr
    assert run_cli("apply", directory, "--auto-approve", "--force", env=env).exit_code == 0


def test_wait_follows_calculation(tmp_path: Path, emulator: EmulatorServer) -> None:
    emulator.settings(calculation_seconds=0.3)
    directory = write_manifests(tmp_path, [ca("A")])
    env = {**env_for(emulator.url), "RECONCILER_WAIT_INTERVAL": "0.05"}
    result = run_cli("apply", directory, "--auto-approve", "--wait", env=env)
    assert result.exit_code == 0, result.output
    assert "All 1 activated CA(s) are calculated." in result.stderr


def test_wait_stops_at_the_command_deadline(tmp_path: Path, emulator: EmulatorServer) -> None:
    emulator.settings(calculation_seconds=3600)
    directory = write_manifests(tmp_path, [ca("A")])
    env = {
        **env_for(emulator.url),
        "RECONCILER_WAIT_INTERVAL": "0.2",
        # Long enough for the apply itself on a loaded machine (it must be done before
        # the wait): the deadline then ends the wait, about 4 s in.
        "RECONCILER_DEADLINE": "4",
    }
    result = run_cli("apply", directory, "--auto-approve", "--wait", env=env)
    assert result.exit_code == 1, result.output
    assert "Apply complete: 2 done." in result.stdout
    # The deadline is RECONCILER_DEADLINE's, not --wait-timeout's (an hour by default).
    stderr = result.stderr.replace("\n", " ")
    assert "RECONCILER_DEADLINE; --wait-timeout 3600s ends later); the apply itself" in stderr
    assert re.search(r"still calculating after [\d.]+ s \(the command's deadline, RECONC", stderr)


def test_wait_timeout_bounds_the_wait_and_says_so(tmp_path: Path, emulator: EmulatorServer) -> None:
    emulator.settings(calculation_seconds=3600)
    directory = write_manifests(tmp_path, [ca("A"), ca("B")])
    env = {**env_for(emulator.url), "RECONCILER_WAIT_INTERVAL": "0.05"}
    args = ("apply", directory, "--auto-approve", "--wait", "--wait-timeout", "0.2")
    result = run_cli(*args, env=env)
    assert result.exit_code == 1
    assert "Waiting for 2 activated CA(s) to be calculated, until " in result.stderr
    assert "(--wait-timeout 0.2s); the apply itself is done." in result.stderr
    assert "2 of 2 activated CA(s) were still calculating after 0.2s (--wait-timeout)" in (
        result.stderr.replace("\n", " ")
    )
    assert "Apply complete: 4 done." in result.stdout
    assert run_cli("plan", directory, "--detailed-exitcode", env=env).exit_code == 0


def test_wait_timeout_needs_wait(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    result = run_cli("apply", directory, "--wait-timeout", "5")
    assert result.exit_code != 0
    assert "--wait-timeout" in result.stderr
    assert "only means something with --wait" in result.stderr


def test_apply_after_apply_lists_once_more(tmp_path: Path, emulator: EmulatorServer) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    env = env_for(emulator.url)
    assert run_cli("apply", directory, "--auto-approve", env=env).exit_code == 0
    requests = emulator.stats()["requests"]
    assert requests[LIST] == 2  # the plan, and the check afterwards
    assert requests[TOKEN] == 1


def test_a_check_after_applying_that_cannot_read_the_workspace_says_the_steps_are_done(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """After "Apply complete", a failed read-back ended with a bare error naming a GET
    (`Error: ... (GET .../calculatedattributes -> 503) (gave up after 2 attempts)`): it
    did not say that every step had been done and only the check had failed."""
    directory = write_manifests(tmp_path, [ca("A")])
    written = False

    def instead(request: Request) -> bytes | None:
        nonlocal written
        written = written or (request.method == "POST" and "/calculatedattributes" in request.path)
        listing = request.method == "GET" and request.path.endswith("/calculatedattributes")
        return json_error(503, "Service unavailable") if written and listing else None

    with forwarding(emulator.url, instead) as server:
        env = {**env_for(server.url), "RECONCILER_RETRY_ATTEMPTS": "2"}
        result = run_cli("apply", directory, "--auto-approve", env=env)
    assert result.exit_code == 1, result.output
    assert "Apply complete: 2 done." in result.stdout
    assert result.stderr.startswith(
        "Error: every step is done, but reading the workspace back to check it failed: "
    ), result.stderr
    assert "503" in result.stderr
    assert result.stderr.rstrip().endswith(
        "Run `reconciler plan` to check that nothing is left to do."
    ), result.stderr
    converge(directory, emulator)
    assert [item["name"] for item in raw.list()] == ["A"]


def test_the_steps_and_the_report_follow_the_plan_on_stdout(tmp_path: Path) -> None:
    """The per-action lines went to stderr while the plan and the report went to stdout:
    `apply > log` lost the steps between them."""
    directory = write_manifests(tmp_path, [ca("A")])
    result = run_cli("apply", directory, "--auto-approve")
    assert result.exit_code == 0, result.output
    plan_end = result.stdout.index("Plan: 1 to create")
    created = result.stdout.index('✓ create "A" (id 1)')
    activated = result.stdout.index('✓ activate "A" (id 1)')
    assert plan_end < created < activated < result.stdout.index("Apply complete: 2 done.")
    assert "✓" not in result.stderr


class _NeverCalculated(PlatformClient):
    """A workspace whose calculations never end, each poll taking a second of `now`."""

    def __init__(self) -> None:
        self.now = 0.0
        self.polled: list[int] = []

    async def calculation(self, ca_id: int) -> CalculationStatus:
        self.polled.append(ca_id)
        self.now += 1.0
        return CalculationStatus(is_calculated=False, calculation_percent_complete=10)


async def test_the_wait_timeout_is_looked_at_before_each_poll_not_once_a_round() -> None:
    # A round polled every activated CA before looking at the clock: 500 CAs 20 ms away
    # made `--wait-timeout 5` wait 12 s, and 4,000 CAs behind a real API's latency
    # would wait minutes past it.
    client = _NeverCalculated()
    report = ApplyReport(
        [
            ActionOutcome(Action(action="activate", name=f"CA {n}", id=n), status="done", id=n)
            for n in range(1, 11)
        ]
    )
    output = Output(no_color=True, stdout=io.StringIO(), stderr=io.StringIO())

    async def no_sleep(seconds: float) -> None:
        raise AssertionError("the first round alone outlasts the timeout")

    with pytest.raises(WaitTimeout) as caught:
        await follow_calculations(
            client, report, output, timeout=3, clock=lambda: client.now, sleep=no_sleep
        )
    assert client.polled == [1, 2, 3]
    assert "10 of 10 activated CA(s) were still calculating after 3s" in caught.value.message


async def test_a_wait_that_times_out_names_the_first_cas_and_counts_the_rest() -> None:
    # Every CA still calculating went into one line: 500 CAs made a 6,000-character
    # error, 10,000 a line of 120,000.
    client = _NeverCalculated()
    report = ApplyReport(
        [
            ActionOutcome(Action(action="activate", name=f"CA {n}", id=n), status="done", id=n)
            for n in range(1, 13)
        ]
    )
    output = Output(no_color=True, stdout=io.StringIO(), stderr=io.StringIO())

    async def sleep(seconds: float) -> None:
        client.now += seconds

    with pytest.raises(WaitTimeout) as caught:
        await follow_calculations(
            client, report, output, timeout=30, clock=lambda: client.now, sleep=sleep
        )
    message = caught.value.message
    assert '(--wait-timeout): "CA 1", "CA 2", ' in message
    assert '"CA 10" and 2 more. The apply is complete' in message
    assert '"CA 11"' not in message


async def _waited_into_the_deadline(
    deadline_set: bool = True,
    client: _NeverCalculated | None = None,
    interval: float = 5,
    deadline_left: float = 12,
) -> tuple[_NeverCalculated, pytest.ExceptionInfo[WaitTimeout], str]:
    """--wait of one CA never calculated, `deadline_left` seconds left of the command's
    deadline (set by RECONCILER_DEADLINE or the default's) and an hour of --wait-timeout,
    on the client's clock: the client, the time-out and what stderr said."""
    client = client or _NeverCalculated()
    report = ApplyReport(
        [ActionOutcome(Action(action="activate", name="A", id=1), status="done", id=1)]
    )
    stderr = io.StringIO()
    output = Output(no_color=True, stdout=io.StringIO(), stderr=stderr)

    async def sleep(seconds: float) -> None:
        client.now += seconds

    with pytest.raises(WaitTimeout) as caught:
        await follow_calculations(
            client,
            report,
            output,
            interval,
            timeout=3600,
            clock=lambda: client.now,
            sleep=sleep,
            deadline_left=deadline_left,
            deadline_set=deadline_set,
        )
    return client, caught, stderr.getvalue()


async def test_a_command_deadline_before_the_wait_timeout_is_announced_and_ends_the_wait() -> None:
    # With RECONCILER_DEADLINE=8, --wait said it waited "until" an hour later
    # (--wait-timeout 3600s), then a poll the deadline refused ended it 8 s in with
    # "gave up on .../calculation", not saying that the apply itself was complete.
    client, caught, stderr = await _waited_into_the_deadline(deadline_set=True)
    assert "(the command's deadline, RECONCILER_DEADLINE; --wait-timeout 3600s ends later)" in (
        stderr
    )
    assert client.now < 20  # the wait ended with the deadline, not an hour later
    message = caught.value.message
    assert "still calculating after 12 s (the command's deadline, RECONCILER_DEADLINE)" in message
    assert "The apply is complete" in message
    assert "a larger RECONCILER_DEADLINE" in message


def test_the_last_word_of_a_failed_apply_names_the_first_failures_and_counts_the_rest() -> None:
    # "see the report above" sent a reader of a 12,000-line report of 4,000 CAs hunting
    # for the five failed steps among the rest.
    report = ApplyReport(
        [
            ActionOutcome(Action(action="create", name=f"CA {n}"), status="failed", message="no.")
            for n in range(25)
        ]
        + [ActionOutcome(Action(action="create", name="Fine"), status="done", id=99)]
    )
    message = failure_error(report).message
    assert message.startswith('apply stopped: 25 steps failed: create "CA 0", create "CA 1",')
    assert '"CA 9", and 15 more. The report above says why' in message
    assert '"CA 10"' not in message
    assert "Fine" not in message
    assert ": no" not in message  # why is in the report above, each step's own line
    # With --format json stdout holds the report alone: the last word says why as well.
    said = failure_error(report, "json").message
    assert said.startswith('apply stopped: 25 steps failed: create "CA 0": no; create "CA 1"')
    assert '"CA 9": no; and 15 more. The JSON report on stdout lists every' in said


class _CalculatedAtOnce(PlatformClient):
    """A workspace whose calculations are done at the first poll, which counts the polls
    in flight at once."""

    def __init__(self) -> None:
        self.flying = 0
        self.most = 0

    async def calculation(self, ca_id: int) -> CalculationStatus:
        self.flying += 1
        self.most = max(self.most, self.flying)
        await asyncio.sleep(0)  # the others may start meanwhile, as on a network
        self.flying -= 1
        return CalculationStatus(is_calculated=True, calculation_percent_complete=100)


def _activated(names: list[str]) -> ApplyReport:
    return ApplyReport(
        [
            ActionOutcome(Action(action="activate", name=name, id=n), status="done", id=n)
            for n, name in enumerate(names, start=1)
        ]
    )


class _Terminal(io.StringIO):
    """What a terminal shows: a stream that is a TTY."""

    def isatty(self) -> bool:
        return True


def _on_a_terminal() -> tuple[Output, io.StringIO]:
    output = Output(no_color=True, stdout=io.StringIO(), stderr=io.StringIO())
    shown = _Terminal()
    output.err = Console(file=shown, force_terminal=True, width=100, no_color=True)
    return output, shown


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_the_wait_polls_with_the_apply_s_concurrency(concurrency: int) -> None:
    # One poll at a time: 4,000 activated CAs made 4,000 GETs in a row per round.
    client = _CalculatedAtOnce()
    report = _activated([f"CA {n}" for n in range(12)])
    output = Output(no_color=True, stdout=io.StringIO(), stderr=io.StringIO())
    await follow_calculations(client, report, output, concurrency=concurrency)
    assert client.most == concurrency


async def test_the_wait_draws_one_bar_for_many_cas() -> None:
    # A bar per CA drew 4,000 lines on a terminal.
    output, shown = _on_a_terminal()
    await follow_calculations(
        _CalculatedAtOnce(), _activated([f"CA {n}" for n in range(25)]), output
    )
    assert "25 CAs" in shown.getvalue()
    assert "CA 3" not in shown.getvalue()


async def test_force_color_draws_no_wait_bars_into_a_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # FORCE_COLOR=1 (set by many CI workflows for every tool's colours) made rich take a
    # log for a terminal: --wait drew its bars there, carriage returns and cursor codes.
    monkeypatch.setenv("FORCE_COLOR", "1")
    log = io.StringIO()
    output = Output(stdout=io.StringIO(), stderr=log)
    await follow_calculations(_CalculatedAtOnce(), _activated(["A", "B"]), output)
    assert "All 2 activated CA(s) are calculated." in log.getvalue()
    assert "\r" not in log.getvalue()
    assert "\x1b[?25l" not in log.getvalue()  # the cursor hidden for a bar


class _CalculatedAfter(PlatformClient):
    """A workspace whose CA `n` is calculated `100 * n` seconds of `now` in."""

    def __init__(self) -> None:
        self.now = 0.0

    async def calculation(self, ca_id: int) -> CalculationStatus:
        percent = min(100.0, self.now / ca_id)
        return CalculationStatus(
            is_calculated=percent >= 100, calculation_percent_complete=int(percent)
        )


async def test_without_a_terminal_the_wait_says_how_far_it_came_once_a_minute() -> None:
    # Without a TTY (a CI log) `apply --wait` wrote "Waiting for ..." and then nothing
    # until the end, up to its hour of --wait-timeout: the job looked hung, and a runner
    # that stops a job silent for 10 minutes (CircleCI, Travis) stopped it.
    client = _CalculatedAfter()
    log = io.StringIO()
    output = Output(stdout=io.StringIO(), stderr=log)

    async def sleep(seconds: float) -> None:
        client.now += seconds

    await follow_calculations(
        client, _activated(["A", "B", "C"]), output, clock=lambda: client.now, sleep=sleep
    )
    lines = log.getvalue().splitlines()
    said = [line for line in lines if line.startswith("calculating: ")]
    assert len(said) == 4  # at 60, 120, 180 and 240 s of the 300 s the wait took
    assert said[0].startswith("calculating: 0 of 3 activated CA(s) calculated (35% overall)")
    assert said[1].startswith("calculating: 1 of 3 activated CA(s) calculated (66% overall)")
    assert said[0].endswith(lines[0].split("until ")[1].split(" (")[0])  # the wait's end
    assert lines[-1] == "All 3 activated CA(s) are calculated."


async def test_the_wait_reads_no_markup_in_a_ca_s_name() -> None:
    # `[/]` in a name stopped the wait with rich's MarkupError (a traceback, exit 3).
    output, shown = _on_a_terminal()
    await follow_calculations(_CalculatedAtOnce(), _activated(["Odd [/] name", "B"]), output)
    assert "Odd [/] name" in shown.getvalue()


@pytest.mark.parametrize("timeout", [1e300, 1e12])
async def test_a_wait_timeout_beyond_any_calendar_is_no_crash(timeout: float) -> None:
    # `--wait-timeout 1e300`: "unexpected OverflowError: timestamp out of range for
    # platform time_t. This is a bug in reconciler" once the apply was done.
    output = Output(no_color=True, stdout=io.StringIO(), stderr=io.StringIO())
    await follow_calculations(_CalculatedAtOnce(), _activated(["A"]), output, timeout=timeout)
    assert isinstance(output.err.file, io.StringIO)
    assert "to be calculated, until after the year 9999 (--wait-timeout" in (
        output.err.file.getvalue()
    )


def test_ctrl_c_mid_apply_prints_the_report_on_every_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the second create is on its way: the report says what was done, the
    create cut off on its way and what was not started, then the run ends with 130. On
    Python 3.10, whose asyncio.run installs no Ctrl-C handler, the KeyboardInterrupt
    broke out of the loop and the run ended with no report at all."""
    directory = write_manifests(tmp_path, [ca("A"), ca("B")])
    create = PlatformClient.create

    async def interrupted(client: PlatformClient, body: dict[str, Any], purpose: str = "") -> int:
        if body["name"] == "B":
            signal.raise_signal(signal.SIGINT)  # as the terminal sends it, to this process
        return await create(client, body, purpose=purpose)

    monkeypatch.setattr(PlatformClient, "create", interrupted)
    try:
        result = run_cli("apply", directory, "--auto-approve", "--concurrency", "1")
    except KeyboardInterrupt:  # let out of the command, it would end the whole test run
        pytest.fail("Ctrl-C escaped the command instead of stopping the apply")
    assert result.exit_code == 130, result.output
    assert "Apply stopped: 2 done, 1 failed, 1 not started." in result.stdout
    cut_off = '"B": interrupted on its way: it may or may not have been carried out'
    # Printed as it was cut off, as every step as it ends; the report counts it.
    assert f"\n✗ create {cut_off}\n" in result.stdout
    assert "  ✗ 1 failed (each printed above as it ended)" in result.stdout
    assert result.stderr == "Error: interrupted; re-run the same command to continue\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _CtrlCOnRetry(logging.Handler):
    """Presses Ctrl-C as the retry of `step` is announced: the step then waits for its
    turn after the 429, its create refused and not yet sent again."""

    def __init__(self, step: str) -> None:
        super().__init__(logging.INFO)
        self.step = step

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(f"retrying 2/12 {self.step} "):
            signal.raise_signal(signal.SIGINT)


def _refusing_b(request: Request) -> bytes | None:
    """B's create answered 429 (Retry-After: 30 s); the rest passed on."""
    if request.method != "POST" or b'"name":"B"' not in request.body:
        return None
    return json_error(429, "You have exceeded your provisioned limit.", {"retry-after": "30"})


@contextmanager
def _refused_at_b(emulator: EmulatorServer) -> Iterator[dict[str, str]]:
    """The environment of a CLI run through a server that answers B's create 429 and
    passes the rest on to `emulator`; Ctrl-C is pressed while B's create waits to be
    tried again."""
    pressing = _CtrlCOnRetry('create "B"')
    logging.getLogger("reconciler.http").addHandler(pressing)
    try:
        with forwarding(emulator.url, _refusing_b) as server:
            yield env_for(server.url)
    finally:
        logging.getLogger("reconciler.http").removeHandler(pressing)


def test_an_interrupted_saved_plan_is_not_advised_to_be_applied_again(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """`apply --plan FILE` interrupted said "re-run the same command to continue", which
    then refused: "plan is stale: "A" now exists". It says to make a new plan."""
    directory = write_manifests(tmp_path, [ca("A"), ca("B")])
    saved = tmp_path / "plan.json"
    with _refused_at_b(emulator) as env:
        assert run_cli("plan", directory, "--out", saved, env=env).exit_code == 0
        result = run_cli("apply", "--plan", saved, "--concurrency", "1", env=env)
        assert result.exit_code == 130, result.output
        assert "Apply stopped: 2 done, 0 failed, 2 not started." in result.stdout
        assert result.stderr.endswith(
            f"Error: interrupted; {saved} is now partly applied, and stale: to continue, make "
            "a new plan (`reconciler plan --out FILE`) and apply that, or run `reconciler "
            "apply` on the manifests\n"
        ), result.stderr
        again = run_cli("apply", "--plan", saved, env=env)  # as the advice was
        assert again.exit_code == 1
        assert "plan is stale" in again.stderr
    env = env_for(emulator.url)
    assert run_cli("plan", directory, "--out", saved, env=env).exit_code == 0
    assert run_cli("apply", "--plan", saved, env=env).exit_code == 0
    converge(directory, emulator)
    assert sorted(item["name"] for item in raw.list()) == ["A", "B"]


def test_ctrl_c_while_a_step_waits_after_a_429_leaves_it_not_started(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """Ctrl-C while B's create waited to be tried again after a 429 (which the server did
    not process) reported it as failed, "interrupted on its way: it may or may not have
    been carried out", when nothing of it had been: it is not started."""
    directory = write_manifests(tmp_path, [ca("A"), ca("B")])
    with _refused_at_b(emulator) as env:
        result = run_cli("apply", directory, "--auto-approve", "--concurrency", "1", env=env)
    assert result.exit_code == 130, result.output
    assert "Apply stopped: 2 done, 0 failed, 2 not started." in result.stdout
    assert '✗ create "B"' not in result.stdout
    assert "may or may not" not in result.stdout
    assert '\n  "B": not started\n' in result.stdout
    assert result.stderr.endswith("Error: interrupted; re-run the same command to continue\n")
    converge(directory, emulator)
    assert sorted(item["name"] for item in raw.list()) == ["A", "B"]


class _CutByTheDeadline(_NeverCalculated):
    """Calculations that never end behind answers of half a second, and a command deadline
    `end` seconds away that cuts short a poll it would outlast, as `Http` does."""

    def __init__(self, end: float) -> None:
        super().__init__()
        self.end = end

    async def calculation(self, ca_id: int) -> CalculationStatus:
        if self.now + 0.5 > self.end:
            self.now = self.end
            raise DeadlineExceeded(
                "gave up on https://api.example/x/calculation: no answer before this "
                "command's deadline (4 s, RECONCILER_DEADLINE)"
            )
        self.now += 0.5
        return CalculationStatus(is_calculated=False, calculation_percent_complete=10)


async def test_a_poll_the_command_deadline_cuts_short_ends_the_wait_as_the_deadline() -> None:
    # A poll sent a moment before RECONCILER_DEADLINE, behind a slow answer, was cut by it:
    # the apply ended "gave up on .../calculation", not saying that it was complete.
    cut = _CutByTheDeadline(end=3.2)
    _, caught, _ = await _waited_into_the_deadline(client=cut, interval=1, deadline_left=3.2)
    message = caught.value.message
    assert "still calculating after 3.2 s (the command's deadline, RECONCILER_DEADLINE)" in message
    assert "The apply is complete" in message


async def test_the_default_deadline_ending_the_wait_is_not_called_reconciler_deadline() -> None:
    # Without RECONCILER_DEADLINE an apply has 30 min plus --wait-timeout; one that took
    # more than 30 min has less than --wait-timeout left to wait, which the wait said was
    # "the command's deadline, RECONCILER_DEADLINE", a variable nobody had set.
    _, caught, stderr = await _waited_into_the_deadline(deadline_set=False)
    default = "the command's default deadline, 30 min plus --wait-timeout"
    assert f"({default}; --wait-timeout 3600s ends later)" in stderr
    assert f"still calculating after 12 s ({default})" in caught.value.message
    assert "RECONCILER_DEADLINE" not in stderr


def test_a_long_json_apply_says_how_far_it_came_on_stderr_once_a_minute() -> None:
    # `apply --format json` wrote nothing at all until its report: thousands of steps
    # against a slow API were minutes of silence in a CI log (stdout is the report alone).
    now = [0.0]
    stdout, stderr = io.StringIO(), io.StringIO()
    counted = _step_counter(
        Output(stdout=stdout, stderr=stderr), 300, Heartbeat(60, lambda: now[0])
    )
    for step in range(300):  # one step ended every half second
        now[0] = step / 2
        counted(ActionOutcome(Action(action="create", name=f"CA {step}"), status="done", id=step))
    assert stderr.getvalue().splitlines() == [
        "applying: 121 of 300 steps ended",
        "applying: 241 of 300 steps ended",
    ]
    assert stdout.getvalue() == ""
