"""`apply --seeds FILE` against the emulator server over loopback (SPEC §9): each CA is
created, then seeded once the Seeding API knows it, then activated — as the emulator's
request log shows; a run stopped anywhere (SIGKILL while seeding, refused users, the
account's limit) leaves every CA where a re-run converges from, never activated before its
seeds, and never re-sending a confirmed batch."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from markdown_it import MarkdownIt

from reconciler.commands import apply as apply_command
from reconciler.console import Heartbeat, Output
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.files import STATE_GITIGNORE
from reconciler.plan import markdown
from reconciler.plan.value import Plan
from reconciler.seeding.report import RejectsFile
from reconciler.workspace.seeds import _Notes
from tests.conftest import StartEmulator
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer, in_process
from tests.support.platform import recorded_deadlines
from tests.support.readme import DOCS, README, quotes
from tests.support.workspace import PURCHASES, RawApi, ca, env_for, write_manifests

NAMES = [f"Seeded {n}" for n in range(1, 6)]
BULK = "/v2/bulkcalculatedattributes"
ACTIVATION = "/platform/v2/workspaces/{workspace_id}/calculatedattributes/{id}/activation"
COLLECTION = "/platform/v2/workspaces/{workspace_id}/calculatedattributes"


def seed_file(path: Path, count: int, cas: list[str] = NAMES) -> Path:
    """`count` users (mpid 1000 + line), each seeding the first one to all of `cas`."""
    with path.open("wb") as file:
        for index in range(count):
            names = cas[: index % len(cas) + 1]
            seeds = [{"attribute_name": name, "seed": {"value": index}} for name in names]
            user = {
                "environment": "development",
                "mpid": 1000 + index + 1,
                "calculated_attributes": {"workspace": seeds},
            }
            file.write(orjson.dumps(user) + b"\n")
    return path


def wanted(count: int, cas: list[str] = NAMES) -> dict[int, set[str]]:
    return {1001 + index: set(cas[: index % len(cas) + 1]) for index in range(count)}


def env(server: EmulatorServer, **extra: str) -> dict[str, str]:
    return {
        **env_for(server.url),
        "MPARTICLE_S2S_URL": server.url,
        "MPARTICLE_API_KEY": "emulator",
        "MPARTICLE_API_SECRET": "emulator",
        "RECONCILER_SEED_RATE": "1000000",
        "NO_COLOR": "1",
        **extra,
    }


def apply(directory: Path, seeds: Path, server: EmulatorServer, *args: str, **extra: str) -> Result:
    return run_cli(
        "apply", directory, "--seeds", seeds, "--auto-approve", *args, env=env(server, **extra)
    )


def stored(server: EmulatorServer) -> dict[int, set[str]]:
    return {user["mpid"]: set(user["calculated_attributes"]) for user in server.seeds()["users"]}


def numbered(
    log: list[dict[str, Any]], route: str, status: int
) -> list[tuple[int, dict[str, Any]]]:
    return [(e["n"], e) for e in log if e["route"] == route and e["status"] == status]


def order_problems(log: list[dict[str, Any]], names: list[str]) -> list[str]:
    """Per CA: created (201), then seeds accepted (202), then activated (204) — and never an
    activation before a seed of it was accepted."""
    problems = []
    for name in names:
        created = [n for n, e in numbered(log, COLLECTION, 201) if e["ca"]["name"] == name]
        seeded = [n for n, e in numbered(log, BULK, 202) if name in e["seeds"]["cas"]]
        activated = [n for n, e in numbered(log, ACTIVATION, 204) if e["ca"]["name"] == name]
        if not (created and seeded and activated):
            problems.append(f"{name}: created {created}, seeded {seeded}, activated {activated}")
        elif not max(created) < min(seeded) <= max(seeded) < min(activated):
            problems.append(f"{name}: out of order: {created}, {seeded}, {activated}")
    return problems


@contextmanager
def clock_on_refusal(server: EmulatorServer, seconds: float) -> Iterator[list[int]]:
    """Advance the emulator's clock by `seconds` once a seeding request is refused (a CA the
    Seeding API does not know yet), instead of waiting for the propagation delay."""
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        since = 1
        while not done.is_set():
            for entry in server.log(since):
                since = entry["n"] + 1
                if entry["route"] == BULK and entry["status"] == 400 and not seen:
                    seen.append(entry["n"])
                    server.advance_clock(seconds)
            done.wait(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join()


def test_five_seeded_cas_are_created_seeded_then_activated(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    server = start_emulator(propagation_delay=15, max_active=20, calculation_seconds=0)
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES])
    seeds = seed_file(tmp_path / "seeds.jsonl", 500)
    limited = {"RECONCILER_ACTIVE_LIMIT": "20", "RECONCILER_WAIT_INTERVAL": "0.01"}
    planned = run_cli("plan", directory, "--seeds", seeds, env=env(server, **limited))
    assert planned.exit_code == 0, planned.output
    assert '» seed "Seeded 1" with 500 users' in planned.stdout
    assert '» seed "Seeded 5" with 100 users' in planned.stdout
    assert (
        "5 to activate, 0 to delete, 5 to seed. 0 unchanged, 0 unmanaged. "
        "Active after apply: 5 of 20." in planned.stdout
    )
    with clock_on_refusal(server, 15) as refused:
        applied = apply(directory, seeds, server, "--wait", **limited)
    assert applied.exit_code == 0, applied.output
    assert refused, "the Seeding API never refused a seed: the propagation wait went untested"
    assert "waiting for the Seeding API to learn CAs" in applied.stderr
    log = server.log()
    assert order_problems(log, NAMES) == []
    assert refused[0] > max(e["n"] for e in log if e["route"] == COLLECTION and e["status"] == 201)
    assert stored(server) == wanted(500)
    for name in NAMES:
        assert f'"{name}" (id ' in applied.stdout
    assert "drafted, seeded (500 users), activated" in applied.stdout
    assert "All 5 activated CA(s) are calculated." in applied.stderr  # --wait, as before
    again = run_cli("plan", directory, "--detailed-exitcode", env=env(server))
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout
    reseeding = run_cli("plan", directory, "--seeds", seeds, "--detailed-exitcode", env=env(server))
    assert reseeding.exit_code == 0, reseeding.output  # the record: seeded from this file


def confirmed_mpids(checkpoints: list[Path], seeds: Path) -> set[int]:
    """The users of every batch the checkpoints record as confirmed."""
    lines = seeds.read_bytes().splitlines()
    found: set[int] = set()
    for checkpoint in checkpoints:
        for raw in checkpoint.read_bytes().splitlines()[1:]:
            entry = orjson.loads(raw)
            first = entry["first_line"]
            for line in lines[first - 1 : first - 1 + entry["users"]]:
                found.add(orjson.loads(line)["mpid"])
    return found


def start_apply(directory: Path, seeds: Path, server: EmulatorServer, log: Path) -> Any:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MPARTICLE_", "RECONCILER_")) or k == "RECONCILER_CACHE_DIR"
    }
    command = [sys.executable, "-m", "reconciler", "apply", str(directory), "--seeds", str(seeds)]
    with log.open("wb") as output:
        return subprocess.Popen(
            [*command, "--auto-approve"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**base, **env(server)},
        )


def wait_for_batches(process: Any, state: Path, count: int, log: Path) -> list[Path]:
    """Poll the groups' checkpoints until `count` batches are confirmed, while it runs."""
    deadline = time.monotonic() + 60
    while True:
        checkpoints = sorted(state.glob("*/group-*.jsonl"))
        if sum(p.read_bytes().count(b"\n") - 1 for p in checkpoints) >= count:
            return checkpoints
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no batch confirmed"
        time.sleep(0.01)


def test_a_run_killed_while_seeding_converges_without_resending(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    server = start_emulator(max_active=20)
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES])
    seeds = seed_file(tmp_path / "seeds.jsonl", 4000)
    server.settings(latency_ms=300)  # seeding takes a while: long enough to be killed in
    process = start_apply(directory, seeds, server, tmp_path / "apply.log")
    state = directory / ".reconciler" / "seeding"
    checkpoints = wait_for_batches(process, state, 3, tmp_path / "apply.log")
    process.kill()
    process.wait()
    killed_at = server.log()[-1]["n"]
    confirmed = confirmed_mpids(checkpoints, seeds)
    assert 300 <= len(confirmed) < 4000, "killed before or after seeding"
    assert [e for e in server.log() if e["route"] == ACTIVATION] == []
    server.settings(latency_ms=0)
    resumed = apply(directory, seeds, server)
    assert resumed.exit_code == 0, resumed.output
    log = server.log()
    assert order_problems(log, NAMES) == []
    sent_again = {
        mpid
        for entry in log
        if entry["n"] > killed_at and entry["route"] == BULK and entry["status"] == 202
        for mpid in entry["seeds"]["mpids"]
    }
    assert sent_again.isdisjoint(confirmed)
    assert sent_again | confirmed >= set(wanted(4000))
    assert stored(server) == wanted(4000)
    assert run_cli("plan", directory, "--detailed-exitcode", env=env(server)).exit_code == 0


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_while_seeding_finishes_the_batches_in_flight_and_says_where_each_ca_is(
    tmp_path: Path, start_emulator: StartEmulator, sent: signal.Signals, code: int
) -> None:
    # SIGTERM (a CI runner's cancel) while seeding ended the apply with 130 and
    # "interrupted", as Ctrl-C: `seed` says SIGTERM and exits 143, and so does apply
    # stopped by SIGTERM anywhere else.
    server = start_emulator()
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:2]])
    seeds = seed_file(tmp_path / "seeds.jsonl", 4000, NAMES[:2])
    server.settings(latency_ms=300)
    output = tmp_path / "apply.log"
    process = start_apply(directory, seeds, server, output)
    wait_for_batches(process, directory / ".reconciler" / "seeding", 2, output)
    process.send_signal(sent)
    assert process.wait(60) == code, output.read_text()
    shown = output.read_text()
    assert f"seed failed: interrupted by {sent.name}" in shown
    by = " by SIGTERM" if sent == signal.SIGTERM else ""
    assert f"Error: interrupted{by}; re-run the same command to continue" in shown
    assert "activate not started" in shown
    assert [e for e in server.log() if e["route"] == ACTIVATION] == []
    server.settings(latency_ms=0)
    resumed = apply(directory, seeds, server)
    assert resumed.exit_code == 0, resumed.output
    assert order_problems(server.log(), NAMES[:2]) == []


def test_ctrl_c_while_waiting_for_propagation_stops_at_once_and_sends_nothing_more(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    # The Seeding API will not know the new CA for 120 s; --seed-wait allows 600 s. A
    # signal ends that wait: the batches waiting for propagation are not in flight.
    server = start_emulator(propagation_delay=120)
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    seeds = seed_file(tmp_path / "seeds.jsonl", 300, NAMES[:1])
    output = tmp_path / "apply.log"
    process = start_apply(directory, seeds, server, output)
    try:
        deadline = time.monotonic() + 60
        while not [e for e in server.log() if e["route"] == BULK and e["status"] == 400]:
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, "no seed was refused for propagation"
            time.sleep(0.02)
        before = server.stats()["requests"][f"POST {BULK}"]
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 130, output.read_text()
    finally:
        process.kill()
    shown = output.read_text()
    # At most the requests on the wire at the signal (concurrency 8) reached the server.
    assert server.stats()["requests"][f"POST {BULK}"] - before <= 8
    assert "SIGINT: sending no more" in shown
    assert "seed failed: interrupted by SIGINT" in shown
    assert stored(server) == {}
    assert [e for e in server.log() if e["route"] == ACTIVATION] == []
    server.settings(propagation_delay=0)
    resumed = apply(directory, seeds, server)
    assert resumed.exit_code == 0, resumed.output
    accepted = [
        mpid
        for entry in server.log()
        if entry["route"] == BULK and entry["status"] == 202
        for mpid in entry["seeds"]["mpids"]
    ]
    assert sorted(accepted) == sorted(wanted(300, NAMES[:1]))  # each user landed once
    assert order_problems(server.log(), NAMES[:1]) == []


def writes(server: EmulatorServer) -> int:
    return sum(
        count
        for route, count in server.stats()["requests"].items()
        if not route.startswith(("GET", "HEAD")) and route != "POST /oauth/token"
    )


def test_a_plan_past_the_active_limit_is_refused_before_any_write(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    server = start_emulator(max_active=20)
    raw = RawApi(server.url)
    for number in range(5):
        raw.activate(raw.create(f"Legacy {number}", PURCHASES))
    raw.close()
    before = writes(server)
    directory = write_manifests(tmp_path / "m", [ca(f"New {n:02}", PURCHASES) for n in range(20)])
    limited = env(server, RECONCILER_ACTIVE_LIMIT="20")
    refused = run_cli("apply", directory, "--auto-approve", env=limited)
    assert refused.exit_code == 1
    assert "Active after apply: 25 of 20." in refused.stdout
    assert (
        "[active-limit] the plan would leave 25 CAs active, 5 over the account's limit of 20 "
        "(active_limit): 5 are active now, and it activates 20 more "
        '("New 00", "New 01"' in refused.stderr
    )
    assert "--allow active-limit" in refused.stderr
    assert writes(server) == before  # nothing was written
    pruned = run_cli("apply", directory, "--prune", "--auto-approve", env=limited)
    assert pruned.exit_code == 0, pruned.output
    assert "Active after apply: 20 of 20." in pruned.stdout
    again = run_cli("plan", directory, "--prune", "--detailed-exitcode", env=limited)
    assert again.exit_code == 0, again.output
    assert "No changes. 20 unchanged, 0 unmanaged. Active after apply: 20 of 20." in again.stdout


def test_refused_users_stop_before_any_activation_and_a_fixed_file_converges(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    server = start_emulator()
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:2]])
    seeds = seed_file(tmp_path / "seeds.jsonl", 40, NAMES[:2])
    server.refuse_seeds(1008)  # line 8 seeds Seeded 1 and Seeded 2
    failed = apply(directory, seeds, server, "--format", "json")
    assert failed.exit_code == 1, failed.output
    report = json.loads(failed.stdout)
    assert [(c["name"], c["reached"], c["failed"], c["not_started"]) for c in report["cas"]] == [
        ("Seeded 1", ["drafted"], "seed", ["activate"]),
        ("Seeded 2", ["drafted"], "seed", ["activate"]),
    ]
    assert "1 of its users were refused by the server" in report["cas"][0]["message"]
    written = (tmp_path / "seeds.jsonl.rejects.jsonl").read_bytes()
    rejects = [orjson.loads(line) for line in written.splitlines()]
    assert [(r["line"], r["stage"]) for r in rejects] == [(8, "server")]
    assert [e for e in server.log() if e["route"] == ACTIVATION] == []
    server.refuse_seeds()
    fixed = seed_file(tmp_path / "fixed.jsonl", 7, NAMES[:2])  # the refused user left out
    converged = apply(directory, fixed, server)
    assert converged.exit_code == 0, converged.output
    assert order_problems(server.log(), NAMES[:2]) == []
    assert run_cli("plan", directory, "--detailed-exitcode", env=env(server)).exit_code == 0


def test_a_re_run_after_a_refusal_sends_only_the_refused_batch_again(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    """The README: after a refusal, re-running the same command resumes and no confirmed
    batch is sent again. The batch that held the refused user goes again (the refusal may be
    gone; seeds overwrite), the other two do not: the first group, which carries the users
    without seeds, must cut the same batches on both runs to find its checkpoint."""
    server = start_emulator()
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:2]])
    seeds = seed_file(tmp_path / "seeds.jsonl", 300, NAMES[:2])
    server.refuse_seeds(1150)  # line 150: the second batch of 100
    failed = apply(directory, seeds, server)
    assert failed.exit_code == 1, failed.output
    assert "1 of its users were refused by the server" in failed.stdout
    assert stored(server) == {m: c for m, c in wanted(300, NAMES[:2]).items() if m != 1150}
    server.refuse_seeds()
    since = len(server.log()) + 1
    again = apply(directory, seeds, server)
    assert again.exit_code == 0, again.output
    assert "sending again the 1 batch(es) in which the server refused users" in again.stderr
    sent = [e for e in server.log(since) if e["route"] == BULK and e["status"] < 300]
    assert [e["seeds"]["users"] for e in sent] == [100]
    assert 1150 in sent[0]["seeds"]["mpids"]
    assert stored(server) == wanted(300, NAMES[:2])
    assert order_problems(server.log(), NAMES[:2]) == []
    assert run_cli("plan", directory, "--detailed-exitcode", env=env(server)).exit_code == 0


def test_a_changed_file_after_a_stop_warns_keeps_the_resume_and_its_apply_removes_it(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    """The state of a file's earlier version stayed in `.reconciler/seeding/` for ever, its
    checkpoints holding the file's people. A plan of the changed file says an apply of it
    stopped part-way (while that state is kept: putting the file back resumes it); the
    changed file's apply removes it, and says so."""
    server = start_emulator()
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:2]])
    seeds = seed_file(tmp_path / "seeds.jsonl", 300, NAMES[:2])
    original = seeds.read_bytes()
    state = directory / ".reconciler" / "seeding"
    server.refuse_seeds(1150)
    failed = apply(directory, seeds, server)
    assert failed.exit_code == 1, failed.output
    (stopped,) = state.iterdir()
    assert list(stopped.glob("group-*.jsonl"))
    server.refuse_seeds()
    seed_file(seeds, 299, NAMES[:2])  # re-exported: one user fewer
    planned = run_cli("plan", directory, "--seeds", seeds, env=env(server))
    assert planned.exit_code == 0, planned.output
    assert (
        f"Warning: {seeds} changed since an apply of it stopped part-way ({stopped} holds its "
        "checkpoints): this version's seeds are all sent, and applying it removes that "
        "state. To resume that apply instead, put the file back as it was"
    ) in " ".join(planned.stderr.split())
    assert list(state.iterdir()) == [stopped]  # a plan writes nothing
    seeds.write_bytes(original)
    since = len(server.log()) + 1
    resumed = apply(directory, seeds, server)
    assert resumed.exit_code == 0, resumed.output
    assert "changed since" not in resumed.stderr
    sent = [e for e in server.log(since) if e["route"] == BULK and e["status"] < 300]
    assert [e["seeds"]["users"] for e in sent] == [100]  # only the refused batch again
    server.refuse_seeds(1150)
    stopped_again = apply(directory, seed_file(seeds, 300, NAMES[:1]), server)
    assert stopped_again.exit_code == 1, stopped_again.output
    assert (
        f"{seeds} changed since it was applied with --seeds: the seeding state of its earlier "
        f"version is removed ({stopped}), as this version's seeds overwrite that one's"
    ) in " ".join(stopped_again.stderr.split())
    server.refuse_seeds()
    seed_file(seeds, 299, NAMES[:1])
    applied = apply(directory, seeds, server)
    assert applied.exit_code == 0, applied.output
    said = " ".join(applied.stderr.split())
    assert said.count("changed since it was applied with --seeds") == 1, said
    assert "earlier version (its apply had stopped part-way) is removed" in said
    assert (
        "changed since it was applied with --seeds: the seeding state of its earlier version "
        "is removed"
    ) in quotes(README)
    (kept,) = state.iterdir()
    assert sorted(path.name for path in kept.iterdir()) == [
        "groups.json",
        "seeded.json",
        "source.json",
    ]
    assert json.loads((kept / "source.json").read_text())["path"] == str(seeds.resolve())
    again = run_cli("plan", directory, "--seeds", seeds, "--detailed-exitcode", env=env(server))
    assert again.exit_code == 0, again.output


def test_a_file_changed_back_after_another_version_landed_gets_its_seeds_again(
    tmp_path: Path,
) -> None:
    """Seeds of 5, then of 7 (landed, over the 5s), then the file back to 5: the record of
    the first version said its seeds had landed, so the plan said "No changes." while the
    workspace held the 7s."""
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    seeds = tmp_path / "seeds.jsonl"

    def seeded_with(value: int) -> Result:
        seeds.write_bytes(
            b"".join(
                orjson.dumps(
                    {
                        "environment": "development",
                        "mpid": mpid,
                        "calculated_attributes": {
                            "workspace": [{"attribute_name": NAMES[0], "seed": {"value": value}}]
                        },
                    }
                )
                + b"\n"
                for mpid in (1, 2)
            )
        )
        return run_cli("apply", directory, "--seeds", seeds, "--auto-approve", env=EMBEDDED)

    for value in (5, 7, 5):
        applied = seeded_with(value)
        assert applied.exit_code == 0, applied.output
        held = embedded_seeds(directory, NAMES[0])
        assert {seed["seed"]["value"] for seed in held.values()} == {value}, applied.output
        planned = run_cli("plan", directory, "--seeds", seeds, "--detailed-exitcode", env=EMBEDDED)
        assert planned.exit_code == 0, planned.output
    assert len(list((directory / ".reconciler" / "seeding").iterdir())) == 1


def test_the_limit_hit_mid_apply_leaves_seeded_drafts_that_a_re_run_activates(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    server = start_emulator(max_active=2)  # and no active_limit: the plan cannot know
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:3]])
    seeds = seed_file(tmp_path / "seeds.jsonl", 30, NAMES[:3])
    failed = apply(directory, seeds, server, "--concurrency", "1")
    assert failed.exit_code == 1
    assert "the account's limit on active calculated attributes is reached" in failed.stdout
    assert "drafted, seeded (30 users), activated" in failed.stdout
    assert '"Seeded 3" (id 3): drafted, seeded (10 users); activate failed:' in failed.stdout
    sent = len([e for e in server.log() if e["route"] == BULK])
    server.settings(max_active=3)
    planned = run_cli("plan", directory, "--seeds", seeds, env=env(server))
    assert '! activate "Seeded 3"' in planned.stdout
    assert "» seed" not in planned.stdout  # its seeds landed: the record says so
    again = apply(directory, seeds, server)
    assert again.exit_code == 0, again.output
    assert len([e for e in server.log() if e["route"] == BULK]) == sent
    assert stored(server) == wanted(30, NAMES[:3])


#: The embedded target seeds into its in-process emulator; as fast as it goes.
EMBEDDED = {"RECONCILER_SEED_RATE": "1000000", "NO_COLOR": "1"}


def test_a_saved_plan_records_its_seed_file_and_refuses_it_changed(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:2]])
    seeds = seed_file(tmp_path / "seeds.jsonl", 20, NAMES[:2])
    saved = tmp_path / "plan.json"
    made = run_cli("plan", directory, "--seeds", seeds, "--out", saved, env=EMBEDDED)
    assert made.exit_code == 0, made.output
    document = json.loads(saved.read_text())
    assert document["seeds"]["path"] == str(seeds.resolve())
    assert document["seeds"]["users"] == 20
    assert len(document["seeds"]["sha256"]) == 64
    assert document["summary"]["seed"] == 2
    assert [(a["action"], a.get("users")) for a in document["actions"]] == [
        ("create", None),
        ("seed", 20),
        ("activate", None),
        ("create", None),
        ("seed", 10),
        ("activate", None),
    ]
    loaded = Plan.load(saved)  # what `apply --plan` reads, rendered as `plan` rendered it
    comment = markdown.markdown(loaded)
    assert "» seed with 20 users" in comment
    assert "| create | update | discard draft | activate | delete | seed |" in comment
    assert "| 2 | 0 | 0 | 2 | 0 | 2 |" in comment
    # As a reader sees it (Markdown's escapes of `_` and `*` in the path rendered away).
    page = MarkdownIt("commonmark").render(comment)
    assert f"Seeds from {seeds.resolve()} (jsonl, 20 users" in page
    original = seeds.read_bytes()
    seeds.write_bytes(original + original.splitlines(keepends=True)[0])
    changed = run_cli("apply", "--plan", saved, env=EMBEDDED)
    assert changed.exit_code == 1
    assert "changed since the plan was made" in changed.stderr
    seeds.unlink()
    missing = run_cli("apply", "--plan", saved, env=EMBEDDED)
    assert missing.exit_code == 1
    assert "cannot be read" in missing.stderr
    seeds.write_bytes(original)
    both = run_cli("apply", "--plan", saved, "--seeds", seeds, env=EMBEDDED)
    assert both.exit_code == 1
    assert "a saved plan applies exactly its own selection and seed file" in both.stderr
    applied = run_cli("apply", "--plan", saved, env=EMBEDDED)
    assert applied.exit_code == 0, applied.output
    assert '"Seeded 2" (id 2): drafted, seeded (10 users), activated' in applied.stdout
    assert run_cli("plan", directory, "--detailed-exitcode").exit_code == 0


def test_a_saved_plan_that_seeds_has_no_command_deadline_as_apply_seeds_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeding takes as long as its rate says (200,000 users: about 35 minutes at the
    default rate), so `apply --seeds` has no default deadline, and the plan it saved must
    not bring the 30-minute one back: its activations would fail after a long seed. The
    default shrunk to 0.2 s stands for the 30 minutes; seeding 250 users (three requests)
    at 500 a second outlasts it."""
    monkeypatch.setattr(apply_command, "DEFAULT_DEADLINE", 0.2)
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:2]])
    seeds = seed_file(tmp_path / "seeds.jsonl", 250, NAMES[:2])
    saved = tmp_path / "plan.json"
    paced = {**EMBEDDED, "RECONCILER_SEED_RATE": "500"}
    made = run_cli("plan", directory, "--seeds", seeds, "--out", saved, env=paced)
    assert made.exit_code == 0, made.output
    applied = run_cli("apply", "--plan", saved, env=paced)
    assert applied.exit_code == 0, applied.output
    assert '"Seeded 2" (id 2): drafted, seeded (125 users), activated' in applied.stdout
    assert run_cli("plan", directory, "--detailed-exitcode").exit_code == 0


def test_a_csv_file_plans_like_jsonl_and_a_bad_file_stops_everything(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:2]])
    csv = tmp_path / "seeds.csv"
    csv.write_text("mpid,environment,Seeded 1,Seeded 2\n1,production,5,\n2,production,6,7\n")
    planned = run_cli("plan", directory, "--seeds", csv, env=EMBEDDED)
    assert planned.exit_code == 0, planned.output
    assert '» seed "Seeded 1" with 2 users' in planned.stdout
    assert '» seed "Seeded 2" with 1 user' in planned.stdout
    assert "(csv, 2 users, sha256" in planned.stdout
    bad = tmp_path / "bad.jsonl"
    seeds = [{"attribute_name": "Seeded 1", "seed": {"value": "lots"}}]
    user = {"environment": "production", "mpid": 1, "calculated_attributes": {"workspace": seeds}}
    bad.write_bytes(orjson.dumps(user) + b"\n")
    refused = run_cli("apply", directory, "--seeds", bad, "--auto-approve", env=EMBEDDED)
    assert refused.exit_code == 1
    assert f"{bad}:1: calculated_attributes.workspace[0].seed.value" in refused.stderr
    assert "nothing was sent" in refused.stderr
    still = run_cli("plan", directory, env=EMBEDDED)
    assert "Plan: 2 to create" in still.stdout  # nothing was written
    environments = write_manifests(
        tmp_path / "e", [ca("Seeded 1", PURCHASES)], {"environments": {"dev": {}, "prod": {}}}
    )
    every = run_cli("plan", environments, "--seeds", csv, "--env", "all", env=EMBEDDED)
    assert every.exit_code == 1
    assert "--seeds sends a seed file to one workspace: use it with --env NAME" in every.stderr
    waiting = run_cli("apply", directory, "--seed-wait", "5", env=EMBEDDED)
    assert waiting.exit_code == 1  # a usage error (SPEC §4: only plan --detailed-exitcode exits 2)
    assert "only means something with --seeds" in waiting.stderr


def test_a_badly_shaped_csv_is_one_error_at_its_header_for_plan_and_apply(
    tmp_path: Path,
) -> None:
    """A CSV saved with `;` between cells, or with no `environment` column (plan and apply
    have no --environment), was an error per row, or a header of one unknown column."""
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    rows = range(1, 201)
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text(
        f"mpid;environment;{NAMES[0]}\n" + "".join(f"{n};production;5\n" for n in rows)
    )
    no_environment = tmp_path / "no-environment.csv"
    no_environment.write_text(f"mpid,{NAMES[0]}\n" + "".join(f"{n},5\n" for n in rows))
    for seeds, said in (
        (semicolons, "1: the header is separated by semicolons (;), not commas"),
        (no_environment, "1: no `environment` column, and no --environment"),
    ):
        for command in (("plan",), ("apply", "--auto-approve")):
            refused = run_cli(command[0], directory, "--seeds", seeds, *command[1:], env=EMBEDDED)
            assert refused.exit_code == 1, refused.output
            text = " ".join(refused.stderr.split())
            assert f"{seeds}:{said}" in text
            assert text.count(f"{seeds}:") == 1
    assert embedded_seeds(directory, NAMES[0]) == {}
    assert "Plan: 1 to create" in run_cli("plan", directory, env=EMBEDDED).stdout


def test_a_plan_of_a_seed_file_holding_no_user_warns_as_seed_does(tmp_path: Path) -> None:
    """`plan --seeds` of an empty export said only the plan's own lines: the warnings of
    reading the file, which `seed` shows, were dropped."""
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in NAMES[:2]])
    empty = tmp_path / "seeds.csv"
    empty.write_text("mpid,environment,Seeded 1\n")
    for command in (["plan"], ["apply", "--auto-approve"]):
        done = run_cli(command[0], directory, "--seeds", empty, *command[1:], env=EMBEDDED)
        assert done.exit_code == 0, done.output
        warning = f"Warning: {empty} holds no user (no line, or a CSV header alone)"
        assert warning in " ".join(done.stderr.split())


def test_many_invalid_users_get_advice_that_plan_and_apply_can_follow(tmp_path: Path) -> None:
    # More than the 50 problems shown: the rest are counted, with advice that fits the
    # command (plan and apply have no --skip-invalid).
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    bad = tmp_path / "bad.jsonl"
    with bad.open("wb") as file:
        for mpid in range(1, 61):
            seeds = [{"attribute_name": NAMES[0], "seed": {"value": "lots"}}]
            user = {"environment": "production", "mpid": mpid}
            file.write(orjson.dumps({**user, "calculated_attributes": {"workspace": seeds}}))
            file.write(b"\n")
    for command in (("plan",), ("apply", "--auto-approve")):
        refused = run_cli(command[0], directory, "--seeds", bad, *command[1:], env=EMBEDDED)
        assert refused.exit_code == 1, refused.output
        assert "60 invalid user(s) in the seed file; nothing was sent:" in refused.stderr
        assert "... and 10 more (fix them and run again: --seeds takes a file" in refused.stderr
        assert "reconciler seed FILE DIR --skip-invalid --rejects REJECTS" in refused.stderr
        assert "(use --skip-invalid" not in refused.stderr


def test_plan_and_apply_refuse_a_user_attribute_over_mparticles_limits(tmp_path: Path) -> None:
    """The default service limits page: user attribute values of at most 4,096 characters;
    over it the value does not land as written, so nothing is planned or sent."""
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    seeds = [{"attribute_name": NAMES[0], "seed": {"value": 5}}]
    attributes = [{"attribute_name": "Bio", "attribute_value": "v" * 4097}]
    body = {"environment": "production", "mpid": 1, "calculated_attributes": {"workspace": seeds}}
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(orjson.dumps({**body, "user_attributes": {"workspace": attributes}}) + b"\n")
    for command in (("plan",), ("apply", "--auto-approve")):
        refused = run_cli(command[0], directory, "--seeds", bad, *command[1:], env=EMBEDDED)
        assert refused.exit_code == 1, refused.output
        assert (
            f'{bad}:1: user_attributes.workspace[0].attribute_value: "Bio": the value is '
            "4,097 characters long; mParticle takes user attribute values of at most 4,096"
        ) in refused.stderr
    assert embedded_seeds(directory, NAMES[0]) == {}


def embedded_seeds(directory: Path, name: str) -> dict[int, dict[str, Any]]:
    """The seeds of CA `name` the embedded workspace of `directory` holds now, by mpid."""

    async def read() -> dict[str, Any]:
        app = create_app(EmulatorConfig(), db_path=directory / ".reconciler" / "emulator.db")
        async with in_process(app) as http:
            found: dict[str, Any] = (await http.get("/_emulator/seeds")).json()
            return found

    users = asyncio.run(read())["users"]
    return {
        user["mpid"]: user["calculated_attributes"][name]
        for user in users
        if name in user["calculated_attributes"]
    }


def test_a_cutoff_changed_back_and_forth_gets_its_seeds_again_each_time(tmp_path: Path) -> None:
    # Each change of the cutoff drops the CA's seeds (mParticle matches seeds to the
    # definition in use): every apply must send them again. A group's checkpoint from an
    # earlier, finished apply of the same cutoff must not pass them for landed.
    seeds = seed_file(tmp_path / "seeds.jsonl", 20, NAMES[:1])
    cutoffs = ["2024-02-01", "2024-02-02", "2024-02-01", "2024-02-02", "2024-02-01"]
    for step, cutoff in enumerate(cutoffs):
        definition = {**PURCHASES, "seeding": {"cutoff_date": cutoff}}
        directory = write_manifests(tmp_path / "m", [ca(NAMES[0], definition)])
        applied = run_cli("apply", directory, "--seeds", seeds, "--auto-approve", env=EMBEDDED)
        assert applied.exit_code == 0, applied.output
        held = embedded_seeds(directory, NAMES[0])
        assert set(held) == set(wanted(20, NAMES[:1])), f"step {step}: {applied.output}"
        assert {seed["cutoff_date"][:10] for seed in held.values()} == {cutoff}
        planned = run_cli("plan", directory, "--seeds", seeds, "--detailed-exitcode", env=EMBEDDED)
        assert planned.exit_code == 0, planned.output


def test_a_record_of_another_format_is_refused_not_read_as_this_one(tmp_path: Path) -> None:
    # `seeded.json` says which CAs' seeds landed; it carries a format number that nothing
    # checked: a record a newer reconciler writes in another format was read as this one's,
    # and its CAs passed for seeded (plan: no seed action, nothing sent).
    seeds = seed_file(tmp_path / "seeds.jsonl", 20, NAMES[:1])
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    applied = run_cli("apply", directory, "--seeds", seeds, "--auto-approve", env=EMBEDDED)
    assert applied.exit_code == 0, applied.output
    (record,) = (directory / ".reconciler" / "seeding").glob("*/seeded.json")
    document = json.loads(record.read_text())
    assert document["format"] == 1
    record.write_text(json.dumps({**document, "format": 2}))
    planned = run_cli("plan", directory, "--seeds", seeds, env=EMBEDDED)
    assert planned.exit_code == 1, planned.output
    assert "Traceback" not in planned.output
    assert (
        f"{record} was written in record format 2, and this reconciler reads format 1: run "
        "the reconciler that wrote it, or delete the record, and the seeds of the file are "
        "sent again"
    ) in " ".join(planned.stderr.split())
    record.unlink()
    again = run_cli("plan", directory, "--seeds", seeds, env=EMBEDDED)
    assert again.exit_code == 0, again.output
    assert "1 to seed" in again.stdout


def test_the_seeding_state_of_a_real_workspace_keeps_itself_out_of_git(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """With target mparticle only `apply --seeds` makes `.reconciler/` (its record and
    checkpoints): it gets the `.gitignore` holding `*` the embedded database's folder gets."""
    seeds = seed_file(tmp_path / "seeds.jsonl", 20, NAMES[:1])
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    applied = apply(directory, seeds, emulator)
    assert applied.exit_code == 0, applied.output
    assert list((directory / ".reconciler" / "seeding").glob("*/seeded.json"))
    assert not (directory / ".reconciler" / "emulator.db").exists()
    assert (directory / ".reconciler" / ".gitignore").read_text() == STATE_GITIGNORE


def test_a_stopped_groups_checkpoint_is_not_resumed_after_another_cutoff_landed(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    # An active, seeded CA gets cutoff A: activated (its seeds dropped), then seeded, until
    # a refusal stops the apply with two batches of three confirmed in the group's
    # checkpoint. Then cutoff B (dropped, all sent again, landed) and back to A (dropped
    # again): A's old checkpoint must not pass its two batches for landed.
    server = start_emulator()
    seeds = seed_file(tmp_path / "seeds.jsonl", 300, NAMES[:1])

    def manifests(cutoff: str) -> Path:
        definition = {**PURCHASES, "seeding": {"cutoff_date": cutoff}}
        return write_manifests(tmp_path / "m", [ca(NAMES[0], definition)])

    first = apply(manifests("2024-01-15"), seeds, server)
    assert first.exit_code == 0, first.output
    server.refuse_seeds(1150)
    stopped = apply(manifests("2024-02-01"), seeds, server)
    assert stopped.exit_code == 1, stopped.output
    assert "1 of its users were refused by the server" in stopped.stdout
    server.refuse_seeds()
    for cutoff in ("2024-02-02", "2024-02-01"):
        directory = manifests(cutoff)
        applied = apply(directory, seeds, server)
        assert applied.exit_code == 0, applied.output
        assert stored(server) == wanted(300, NAMES[:1]), f"{cutoff}: {applied.output}"
        planned = run_cli(
            "plan", directory, "--seeds", seeds, "--detailed-exitcode", env=env(server)
        )
        assert planned.exit_code == 0, planned.output
    assert list((directory / ".reconciler" / "seeding").glob("*/group-*.jsonl")) == []


@pytest.mark.parametrize("set_by_user", [True, False])
def test_a_deadline_set_for_apply_bounds_its_seeding_too(
    tmp_path: Path,
    start_emulator: StartEmulator,
    monkeypatch: pytest.MonkeyPatch,
    set_by_user: bool,
) -> None:
    """Each group of seeds made two clients with deadlines of their own (a fresh 1800 s
    for its check, none for its sending), so RECONCILER_DEADLINE bounded only the apply's
    own requests. Set, it is now the one deadline of everything the command sends."""
    made = recorded_deadlines(monkeypatch)
    server = start_emulator(calculation_seconds=0)
    names = NAMES[:2]
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in names])
    seeds = seed_file(tmp_path / "seeds.jsonl", 10, names)
    extra = {"RECONCILER_DEADLINE": "600"} if set_by_user else {}
    applied = apply(directory, seeds, server, **extra)
    assert applied.exit_code == 0, applied.output
    assert len(made) >= 3  # the apply's, then a check and a sending for each group
    if set_by_user:
        assert all(deadline is made[0] for deadline in made)
        assert made[0].seconds == 600
    else:  # as before: seeding has no default deadline, its check has its own
        assert made[0].seconds is None
        assert {deadline.seconds for deadline in made[1:]} == {1800, None}


def test_a_long_seeding_in_an_apply_says_how_far_it_came_once_a_minute() -> None:
    # `apply --seeds` said "Seeding "LTV": 50,000 users." and then nothing until the
    # seeds had all landed, on a terminal as in a CI log: minutes of silence for a large
    # file, past the 10 minutes after which CircleCI or Travis stop a silent job.
    now = [0.0]
    log = io.StringIO()
    notes = _Notes(Output(stdout=io.StringIO(), stderr=log), '"LTV"', Heartbeat(60, lambda: now[0]))
    notes.sending(50_000, 0)
    for second in range(1, 200):
        now[0] = second
        notes.confirmed(100)
    assert log.getvalue().splitlines() == [
        'Seeding "LTV": 50,000 users.',
        "seeding: 6,000 of 50,000 users confirmed (12%)",
        "seeding: 12,000 of 50,000 users confirmed (24%)",
        "seeding: 18,000 of 50,000 users confirmed (36%)",
    ]


def test_a_group_of_many_cas_is_announced_by_its_first_few_names(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    # "Seeding ...: N users." named every CA of the group: 395 CAs were a line of 7 KB on
    # stderr, 4,000 one of 70 KB, in a CI log.
    names = [f"Wide {n:02}" for n in range(14)]
    server = start_emulator(max_active=20)
    directory = write_manifests(tmp_path / "m", [ca(name, PURCHASES) for name in names])
    seeds = seed_file(tmp_path / "seeds.jsonl", 14, names)
    result = apply(directory, seeds, server)
    assert result.exit_code == 0, result.output
    shown = [line for line in result.stderr.splitlines() if line.startswith("Seeding ")]
    assert shown == [
        'Seeding "Wide 00", "Wide 01", "Wide 02", "Wide 03", "Wide 04", "Wide 05", '
        '"Wide 06", "Wide 07", "Wide 08", "Wide 09" and 4 more: 14 users.'
    ]


def test_a_rejects_file_in_use_gives_advice_apply_can_follow(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    # apply --seeds writes FILE.rejects.jsonl as `seed` does, and is refused when another
    # run holds it; the refusal told it to "name another file with --rejects", an option
    # apply does not have.
    server = start_emulator()
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    seeds = seed_file(tmp_path / "seeds.jsonl", 3, NAMES[:1])
    other = RejectsFile(tmp_path / "seeds.jsonl.rejects.jsonl")  # a `seed` of the same file
    try:
        held = apply(directory, seeds, server)
    finally:
        other.finish()
    assert held.exit_code == 1, held.output
    assert (
        f"the rejects file {tmp_path / 'seeds.jsonl.rejects.jsonl'} is in use by another "
        "seeding run (`seed` or `apply --seeds` of the same seed file, or one with the same "
        "--rejects): wait for it to finish, or, with `reconciler seed`, name another file "
        "with --rejects"
    ) in held.stdout  # as the step ended, and beside how far its CA got
    assert held.stderr.startswith(f'Error: apply stopped: 1 step failed: seed "{NAMES[0]}"')
    assert [e for e in server.log() if e["route"] == ACTIVATION] == []


def test_another_file_seeding_the_same_users_makes_the_first_send_its_seeds_again(
    tmp_path: Path,
) -> None:
    """a.jsonl seeds 5, b.jsonl seeds 7 to the same users (over the 5s): a's record still
    said its seeds had landed, so putting a back planned "No changes." while the workspace
    held the 7s. A folder written before folders named their file (no source.json) was
    never removed either."""
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    seeding = directory / ".reconciler" / "seeding"

    def seeds_of(name: str, value: int) -> Path:
        path = tmp_path / name
        users = [
            {
                "environment": "development",
                "mpid": mpid,
                "calculated_attributes": {
                    "workspace": [{"attribute_name": NAMES[0], "seed": {"value": value}}]
                },
            }
            for mpid in (1, 2)
        ]
        path.write_bytes(b"".join(orjson.dumps(user) + b"\n" for user in users))
        return path

    def applied_then_planned(seeds: Path, value: int) -> Result:
        applied = run_cli("apply", directory, "--seeds", seeds, "--auto-approve", env=EMBEDDED)
        assert applied.exit_code == 0, applied.output
        held = embedded_seeds(directory, NAMES[0])
        assert {seed["seed"]["value"] for seed in held.values()} == {value}, applied.output
        planned = run_cli("plan", directory, "--seeds", seeds, "--detailed-exitcode", env=EMBEDDED)
        assert planned.exit_code == 0, planned.output
        return applied

    first, second = seeds_of("a.jsonl", 5), seeds_of("b.jsonl", 7)
    applied_then_planned(first, 5)
    legacy = next(seeding.iterdir()).with_name(next(seeding.iterdir()).name[:-16] + "f" * 16)
    legacy.mkdir()
    (legacy / "seeded.json").write_text('{"format": 1, "cas": {}, "unseeded_users": false}')
    overwrote = " ".join(applied_then_planned(second, 7).stderr.split())
    assert (
        f'{first.resolve()}: its seeds of "{NAMES[0]}" are no longer taken as landed'
    ) in overwrote
    assert (
        f"{second.resolve()} seeds them now, overwriting those of any users the two files "
        f"share; `plan --seeds {first.resolve()}` sends them again"
    ) in overwrote
    assert f"{legacy}: seeding state written by an earlier reconciler" in overwrote
    for document in (README, DOCS / "seeding.md"):
        assert 'a.jsonl: its seeds of "LTV" are no longer taken as landed (...)' in quotes(document)
    assert not legacy.exists()
    again = run_cli("plan", directory, "--seeds", first, "--detailed-exitcode", env=EMBEDDED)
    assert again.exit_code == 2, again.output
    applied_then_planned(first, 5)
    # Each file's record now says only what the other has not overwritten since.
    planned = run_cli("plan", directory, "--seeds", second, "--detailed-exitcode", env=EMBEDDED)
    assert planned.exit_code == 2, planned.output


def test_reconciler_seed_over_an_applied_file_makes_its_plan_send_its_seeds_again(
    tmp_path: Path,
) -> None:
    """`apply --seeds a.jsonl` seeds 5, `reconciler seed b.jsonl` 7 to the same users: a's
    record still said its seeds had landed, so `plan --seeds a.jsonl` said "No changes."
    while the workspace held the 7s. A dry run sends nothing and forgets nothing; the seed
    of a file its own apply recorded keeps that record (the same seeds again)."""
    directory = write_manifests(tmp_path / "m", [ca(NAMES[0], PURCHASES)])
    first = seed_file(tmp_path / "a.jsonl", 6, NAMES[:1])
    second = tmp_path / "b.jsonl"
    second.write_bytes(first.read_bytes().replace(b'"value":', b'"value":70'))

    def planned(seeds: Path) -> int:
        result = run_cli("plan", directory, "--seeds", seeds, "--detailed-exitcode", env=EMBEDDED)
        assert result.exit_code in (0, 2), result.output
        return result.exit_code

    def values() -> set[int]:
        return {seed["seed"]["value"] for seed in embedded_seeds(directory, NAMES[0]).values()}

    applied = run_cli("apply", directory, "--seeds", first, "--auto-approve", env=EMBEDDED)
    assert applied.exit_code == 0, applied.output
    assert planned(first) == 0
    dry = run_cli("seed", second, directory, "--dry-run", env=EMBEDDED)
    assert dry.exit_code == 0, dry.output
    assert "no longer taken as landed" not in dry.stderr
    assert planned(first) == 0
    again = run_cli("seed", first, directory, env=EMBEDDED)
    assert again.exit_code == 0, again.output
    assert "no longer taken as landed" not in again.stderr
    assert planned(first) == 0
    seeded = run_cli("seed", second, directory, env=EMBEDDED)
    assert seeded.exit_code == 0, seeded.output
    assert values() == set(range(700, 706))
    assert (
        f'{first.resolve()}: its seeds of "{NAMES[0]}" are no longer taken as landed'
    ) in " ".join(seeded.stderr.split())
    assert (
        f"{second.resolve()} seeds them now, overwriting those of any users the two files "
        f"share; `plan --seeds {first.resolve()}` sends them again"
    ) in " ".join(seeded.stderr.split())
    assert planned(first) == 2
    assert "`reconciler seed` of a CA does the same to the records" in quotes(README)
    assert "`reconciler seed` overwrites seeds just the same" in quotes(DOCS / "seeding.md")
    applied = run_cli("apply", directory, "--seeds", first, "--auto-approve", env=EMBEDDED)
    assert applied.exit_code == 0, applied.output
    assert values() == set(range(6))
    assert planned(first) == 0
