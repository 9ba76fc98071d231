"""A process killed at any moment (SIGKILL, the OOM killer, a CI runner lost) loses and
duplicates nothing, and the next run converges: a crash-point sweep.

A real `reconciler apply` (or `seed`) process talks to an emulator server through a proxy
on loopback that SIGKILLs it at the Nth request that writes, for every N: either once the
emulator has carried the request out but before its answer is passed on (the server
committed, the client never knew), or once the answer was passed on, at the client's next
request (the client knew, and may have recorded it). Then the same command is run again,
with no other flag, and must end well with nothing lost or doubled: `plan` is empty, every
CA exists once (with the id it had), every seed landed, no CA was created or activated
twice.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson

from reconciler import manifest
from reconciler.manifest import cache
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.servers import Request, response, running
from tests.support.workspace import PURCHASES, SESSIONS, RawApi, ca, env_for, write_manifests

Mode = Literal["committed", "answered"]
MODES: tuple[Mode, ...] = ("committed", "answered")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COLLECTION = "/platform/v2/workspaces/{workspace_id}/calculatedattributes"
ACTIVATION = COLLECTION + "/{id}/activation"
BULK = "/v2/bulkcalculatedattributes"
#: Request headers not passed on as they are (the proxy's HTTP client sets its own).
HOP = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"}
)


@dataclass
class Killer:
    """What the proxy does: pass everything on to `upstream`, and SIGKILL `pid` at the
    `at`th request that writes (None: never)."""

    upstream: str
    at: int | None = None
    mode: Mode = "committed"
    pid: int | None = None
    writes: int = 0
    armed: bool = False
    killed: bool = False
    log: list[str] = field(default_factory=list)
    victim: str = ""

    def kill(self) -> None:
        assert self.pid is not None
        self.killed = True
        self.victim = self.log[-1]
        os.kill(self.pid, signal.SIGKILL)

    def disarm(self) -> None:
        """Pass everything on from now on (the killed process is gone)."""
        self.at, self.armed, self.pid = None, False, None


def writes(request: Request) -> bool:
    return request.method in WRITES and not request.path.startswith(("/oauth/", "/_emulator/"))


@contextmanager
def proxy(killer: Killer) -> Iterator[str]:
    """A loopback proxy to the emulator that kills the client as `killer` says."""

    async def behaviour(request: Request, writer: Any) -> None:
        if killer.killed and killer.pid is not None:
            return  # the client is dead: what it had on the wire goes no further
        if killer.armed:  # the client saw the answer and asks for more: now
            killer.kill()
            return
        counted = writes(request)
        if counted:
            killer.writes += 1
            killer.log.append(f"{request.method} {request.path}")
        headers = {k: v for k, v in request.headers.items() if k not in HOP}
        answer = await asyncio.to_thread(
            client.request, request.method, request.path, headers=headers, content=request.body
        )
        if counted and killer.writes == killer.at:
            if killer.mode == "committed":
                killer.kill()
                return
            killer.armed = True
        passed = {
            k: v
            for k, v in answer.headers.items()
            if k.lower() not in {"content-length", "transfer-encoding", "content-encoding"}
        }
        writer.write(response(answer.status_code, answer.content, passed))

    with httpx.Client(base_url=killer.upstream, timeout=30) as client, running(behaviour) as server:
        yield server.url


def base_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MPARTICLE_", "RECONCILER_")) or k == "RECONCILER_CACHE_DIR"
    }


def cli_env(url: str) -> dict[str, str]:
    return {
        **env_for(url),
        "MPARTICLE_S2S_URL": url,
        "MPARTICLE_API_KEY": "emulator",
        "MPARTICLE_API_SECRET": "emulator",
        "RECONCILER_SEED_RATE": "1000000",
        "NO_COLOR": "1",
    }


def run_killed(killer: Killer, url: str, args: list[str]) -> tuple[int, str]:
    """`reconciler ARGS` as its own process, through the proxy at `url`: its exit code and
    output. The proxy then passes everything on (the re-run goes through it: the same
    settings, the same URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        env={**base_env(), **cli_env(url)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    killer.pid = process.pid
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
        killer.disarm()
    return process.returncode, output.decode(errors="replace")


# --- apply -------------------------------------------------------------------------------

#: The live workspace before the apply (name -> staged how), and the manifests: one of each
#: kind of step.
CHANGED = {**SESSIONS, "time_period": {"type": "within", "within": 7, "within_unit": "days"}}
MANIFEST = [
    ca("Fresh", PURCHASES),  # create, seed, activate
    ca("Sketch", CHANGED, active=False),  # create as a draft
    ca("New Name", renamed_from="Old Name", active=False),  # rename a never-activated draft
    ca("Changed", CHANGED),  # update, activate
    ca("Drafted"),  # discard the UI's draft
    ca("Ready", CHANGED),  # activate the draft there
    ca("Described", description="now described"),  # description
    ca("Kept"),  # nothing
]
SEEDS = [
    {
        "environment": "development",
        "mpid": 500 + n,
        "calculated_attributes": {
            "workspace": [{"attribute_name": "Fresh", "seed": {"value": 10 * n + 1}}]
        },
    }
    for n in range(3)
]


def stage(server: EmulatorServer) -> dict[str, int]:
    """The workspace before the apply; name -> id (and "since": the number of the first
    request after it in the emulator's log)."""
    server.reset()
    api = RawApi(server.url)
    try:
        ids = {"Old Name": api.create("Old Name", SESSIONS)}
        for name in ("Changed", "Drafted", "Described", "Kept", "Gone"):
            ids[name] = api.create(name, SESSIONS)
            api.activate(ids[name])
        api.update(ids["Drafted"], "Drafted", CHANGED)  # a UI edit left as a draft
        ids["Ready"] = api.create("Ready", CHANGED)
    finally:
        api.close()
    ids["since"] = server.log()[-1]["n"] + 1  # the first request of the apply
    return ids


def workspace(directory: Path) -> tuple[Path, Path]:
    """The manifests (prune on) and the seed file."""
    manifests = write_manifests(directory / "m", MANIFEST, {"prune": True})
    seeds = directory / "seeds.jsonl"
    seeds.write_bytes(b"".join(orjson.dumps(user) + b"\n" for user in SEEDS))
    return manifests, seeds


def apply_args(manifests: Path, seeds: Path) -> list[str]:
    return ["apply", str(manifests), "--seeds", str(seeds), "--auto-approve", "--concurrency", "1"]


def converged(
    server: EmulatorServer,
    url: str,
    manifests: Path,
    seeds: Path,
    ids: dict[str, int],
    resent: bool | None = False,
) -> None:
    """The re-run (through the proxy at `url`) ends well, and nothing is lost or doubled.
    `resent`: whether the seeds went twice (None: either)."""
    again = run_cli(*apply_args(manifests, seeds), env=cli_env(url))
    assert again.exit_code == 0, again.output
    planned = run_cli("plan", manifests, "--detailed-exitcode", env=cli_env(url))
    assert planned.exit_code == 0, planned.output
    reseeding = run_cli(
        "plan", manifests, "--seeds", seeds, "--detailed-exitcode", env=cli_env(url)
    )
    assert reseeding.exit_code == 0, reseeding.output
    api = RawApi(server.url)
    try:
        live = api.list()
    finally:
        api.close()
    names = Counter(item["name"] for item in live)
    assert names == Counter(item["name"] for item in MANIFEST), names
    by_name = {item["name"]: item["id"] for item in live}
    for name in ("Changed", "Drafted", "Described", "Kept", "Ready"):
        assert by_name[name] == ids[name], name
    assert by_name["New Name"] == ids["Old Name"]
    log = server.log(ids["since"])
    created = Counter(
        e["ca"]["name"] for e in log if e["route"] == COLLECTION and e["status"] == 201
    )
    assert created == Counter({"Fresh": 1, "Sketch": 1}), created
    activated = Counter(
        e["ca"]["name"] for e in log if e["route"] == ACTIVATION and e["status"] == 204
    )
    assert activated == Counter({"Fresh": 1, "Changed": 1, "Ready": 1}), (
        activated
    )  # an activation restarts the calculation
    users = {u["mpid"]: u["calculated_attributes"] for u in server.seeds()["users"]}
    assert {mpid: seeds["Fresh"]["seed"] for mpid, seeds in users.items()} == {
        500 + n: {"value": 10 * n + 1} for n in range(3)
    }
    fresh_seeded = [e["n"] for e in log if e["route"] == BULK and e["status"] == 202]
    # A batch is sent again only when the run died before it knew the batch landed.
    assert len(fresh_seeded) in ((1, 2) if resent is None else (2 if resent else 1,)), fresh_seeded
    fresh_activated = [
        e["n"]
        for e in log
        if e["route"] == ACTIVATION and e["status"] == 204 and e["ca"]["name"] == "Fresh"
    ]
    assert fresh_seeded
    assert fresh_activated
    assert min(fresh_seeded) < min(fresh_activated)


def test_apply_killed_after_any_write_converges_with_nothing_lost_or_doubled(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    killer = Killer(emulator.url)
    with proxy(killer) as url:
        ids = stage(emulator)
        manifests, seeds = workspace(tmp_path / "whole")
        code, output = run_killed(killer, url, apply_args(manifests, seeds))
        assert code == 0, output
        total = killer.writes
        # create x2, rename, update, discard, description, delete, seeds, activate x3
        assert total >= 11, killer.log
        converged(emulator, url, manifests, seeds, ids)
        failures = []
        for at in range(1, total + 1):
            for mode in MODES:
                ids = stage(emulator)
                manifests, seeds = workspace(tmp_path / f"{mode}-{at}")
                killer.at, killer.mode, killer.writes, killer.killed = at, mode, 0, False
                killer.log = []
                code, output = run_killed(killer, url, apply_args(manifests, seeds))
                # Answered, the last write too: the re-plan's list request follows.
                assert killer.killed, output
                assert code == -signal.SIGKILL, output
                # Killed with the seeds committed but unanswered: they go again (seeds
                # overwrite); the checkpoint holds back only those the run knew landed.
                resent = mode == "committed" and killer.victim.endswith(BULK)
                try:
                    converged(emulator, url, manifests, seeds, ids, resent)
                except AssertionError as exc:
                    failures.append(f"killed at write {at} ({killer.victim}), {mode}: {exc}")
    assert failures == []


# --- seed --------------------------------------------------------------------------------

#: Users of `reconciler seed`, one a batch.
SEED_USERS = 4


def test_seed_killed_after_any_batch_resumes_with_no_seed_lost_or_resent_needlessly(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    manifests = write_manifests(tmp_path / "m", [ca("Fresh", PURCHASES)])
    seeds = tmp_path / "seeds.jsonl"
    users = [
        {**user, "mpid": 700 + n, "calculated_attributes": {"workspace": [
            {"attribute_name": "Fresh", "seed": {"value": n + 0.5}}]}}
        for n, user in enumerate([SEEDS[0]] * SEED_USERS)
    ]  # fmt: skip
    seeds.write_bytes(b"".join(orjson.dumps(user) + b"\n" for user in users))
    wanted = {700 + n: {"value": n + 0.5} for n in range(SEED_USERS)}
    killer = Killer(emulator.url)
    with proxy(killer) as url:
        for at in range(1, SEED_USERS + 1):
            for mode in MODES:
                emulator.reset()
                api = RawApi(emulator.url)
                try:
                    api.activate(api.create("Fresh", PURCHASES))
                finally:
                    api.close()
                checkpoint = tmp_path / f"{mode}-{at}.checkpoint"
                args = ["seed", str(seeds), str(manifests), "--checkpoint", str(checkpoint)]
                args += ["--batch-size", "1", "--concurrency", "1"]
                killer.at, killer.mode, killer.writes, killer.killed = at, mode, 0, False
                code, output = run_killed(killer, url, args)
                if not killer.killed:  # answered, the last: the run ended, done
                    assert (mode, at, code) == ("answered", SEED_USERS, 0), output
                    continue
                assert code == -signal.SIGKILL, output
                again = run_cli(*args, env=cli_env(url))
                assert again.exit_code == 0, again.output
                stored = {u["mpid"]: u["calculated_attributes"] for u in emulator.seeds()["users"]}
                assert {m: s["Fresh"]["seed"] for m, s in stored.items()} == wanted, (mode, at)
                sent = Counter(
                    mpid
                    for e in emulator.log()
                    if e["route"] == BULK and e["status"] == 202
                    for mpid in e["seeds"]["mpids"]
                )
                # Only a batch the server took but the run never heard of goes again.
                resent = {700 + at - 1: 2} if mode == "committed" else {}
                assert sent == Counter({**dict.fromkeys(wanted, 1), **resent}), (mode, at)


# --- local files: killed at any write of a file ---------------------------------------------

#: Starts the command line with an audit hook that counts what changes files (an open to
#: write, a rename, a link, a removal, a truncation) and SIGKILLs the process just before
#: the CRASH_AT-th (none when 0); at exit it prints the count. Python's own bytecode cache is
#: off (PYTHONDONTWRITEBYTECODE) and `tempfile`'s probes of the temporary folder are left
#: out, so only the command's files count.
CRASHING = """
import os, signal, sys, tempfile
TEMP = {tempfile.gettempdir(), os.path.dirname(tempfile.gettempdir())}
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
at, seen = int(os.environ["CRASH_AT"]), [0]
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if isinstance(path, str) and (
            path.startswith(("/dev/", "/proc/")) or os.path.dirname(path) in TEMP
        ):
            return  # a device, or `tempfile` finding out where it may write
        if not (any(c in mode for c in "wax+") if mode else flags & WRITE):
            return
    elif event not in ("os.rename", "os.link", "os.remove", "os.truncate", "os.rmdir"):
        return
    seen[0] += 1
    if seen[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
import atexit
atexit.register(lambda: sys.stderr.write(f"\\nfile writes: {seen[0]}\\n"))
sys.addaudithook(hook)
sys.argv[0] = "reconciler"
import runpy
runpy.run_module("reconciler", run_name="__main__")
"""


def crashing(at: int, args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """`reconciler ARGS` killed before its `at`th change to a file (0: never): the exit
    code and the output (which ends with the count of those changes)."""
    process = subprocess.run(
        [sys.executable, "-c", CRASHING, *args],
        env={
            **base_env(),
            "PYTHONDONTWRITEBYTECODE": "1",
            "NO_COLOR": "1",
            "RECONCILER_WORKERS": "1",
            "CRASH_AT": str(at),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return process.returncode, process.stdout + process.stderr


def file_writes(output: str) -> int:
    return int(output.rsplit("file writes: ", 1)[1].split(maxsplit=1)[0])


def test_a_manifest_cache_killed_mid_write_is_never_read_torn_and_works_again(
    tmp_path: Path,
) -> None:
    directory = write_manifests(tmp_path / "m", MANIFEST)
    cache_dir = tmp_path / "cache"
    env = {"RECONCILER_CACHE_DIR": str(cache_dir)}
    code, output = crashing(0, ["validate", str(directory)], env)
    assert code == 0, output
    total = file_writes(output)
    assert total >= 4, output  # the key and each file's entry, through temporary files
    expected = output.rsplit("file writes:", 1)[0]
    kept = len(list((cache_dir / cache.CACHE_DIR).glob("*.json")))  # one a file
    for at in range(1, total + 1):
        shutil.rmtree(cache_dir)
        code, output = crashing(at, ["validate", str(directory)], env)
        assert code == -signal.SIGKILL, output
        # Said nothing of the cache (it was not "off"), and wrote what the crash cut short.
        code, output = crashing(0, ["validate", str(directory)], env)
        assert (code, output.rsplit("file writes:", 1)[0]) == (0, expected), at
        entries = list((cache_dir / cache.CACHE_DIR).glob("*.json"))
        assert len(entries) == kept, (at, entries)
        assert all(cache.read(cache_dir, path.stem) is not None for path in entries), at


def test_export_killed_mid_write_leaves_no_torn_file_and_a_rerun_converges(
    tmp_path: Path,
) -> None:
    source = write_manifests(tmp_path / "m", [ca("Draft", active=False), ca("Dropped")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "out"
    assert run_cli("export", source, "--out", out).exit_code == 0
    earlier = tmp_path / "earlier"
    shutil.copytree(out, earlier)
    before = {path.name: path.read_bytes() for path in earlier.iterdir()}
    # Since that export: a CA renamed, one deleted, one added.
    changed = [ca("Renamed", renamed_from="Draft", active=False), ca("Added", CHANGED)]
    write_manifests(source, changed, {"prune": True})
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    args = ["export", str(source), "--out", str(out), "--force"]
    crash = partial(crashing, env={"RECONCILER_CACHE_DIR": ""})  # swept above
    code, output = crash(0, args)
    assert code == 0, output
    total = file_writes(output)
    later = {path.name: path.read_bytes() for path in out.iterdir()}
    assert len(later) == 1 + len(changed), later.keys()
    for at in range(1, total + 1):
        shutil.rmtree(out)
        shutil.copytree(earlier, out)
        code, output = crash(at, args)
        assert code == -signal.SIGKILL, output
        marker = out / manifest.UNFINISHED_EXPORT
        for path in out.iterdir():  # each file the earlier export's or this one's, whole
            if not path.name.endswith(".tmp") and path != marker:
                assert path.read_bytes() in (later.get(path.name), before.get(path.name)), at
        if marker.exists():
            # A half-done export mixes two: a plan of it could undo changes made since (or
            # create a CA deleted since), so it is refused, naming the way out; the same
            # export, run again without --force, finishes it. Older reconcilers, which know
            # no marker, refuse it too: it has no reconciler.yaml while its files mix two.
            settings = out / manifest.SETTINGS_FILE
            whole = [{k: v for k, v in e.items() if k.endswith(".yaml")} for e in (before, later)]
            rest = {p.name: p.read_bytes() for p in out.iterdir() if p.name.endswith(".yaml")}
            assert not settings.exists() or rest in whole, at
            half = run_cli("plan", out)
            assert half.exit_code == 1, (at, half.output)
            assert f"{marker}: an export into this folder stopped before" in half.stderr, at
            again = run_cli("export", source, "--out", out, env={"RECONCILER_CACHE_DIR": ""})
            assert "Finishing the export" in again.output, (at, again.output)
        else:  # killed before it changed anything: the earlier export, whole
            assert {path.name: path.read_bytes() for path in out.iterdir()} == before, at
            again = run_cli(*args, env={"RECONCILER_CACHE_DIR": ""})
        assert again.exit_code == 0, again.output
        assert {path.name: path.read_bytes() for path in out.iterdir()} == later, at
    planned = run_cli("plan", out, "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


def test_apply_with_seeds_killed_at_any_write_of_its_state_converges(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """The seeding state (`.reconciler/seeding/`: checkpoint, groups, record) is written
    between requests: a kill before any of its writes loses no seed and activates no CA
    before its seeds, twice, or not at all."""
    ids = stage(emulator)
    manifests, seeds = workspace(tmp_path / "whole")
    env = {**cli_env(emulator.url), "RECONCILER_CACHE_DIR": ""}
    code, output = crashing(0, apply_args(manifests, seeds), env)
    assert code == 0, output
    total = file_writes(output)
    assert total >= 3, output
    for at in range(1, total + 1):
        ids = stage(emulator)
        manifests, seeds = workspace(tmp_path / f"state-{at}")
        code, output = crashing(at, apply_args(manifests, seeds), env)
        assert code == -signal.SIGKILL, output
        converged(emulator, emulator.url, manifests, seeds, ids, resent=None)
