"""The checkpoint: what a resumed run skips, and the checkpoints it refuses (another file,
other settings, not a checkpoint, in use), with a crash's half-written line dropped."""

from __future__ import annotations

import errno
import fcntl
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.errors import CheckpointError, SettingsError
from reconciler.seeding.batches import Batch
from reconciler.seeding.checkpoint import Batching, Checkpoint, InputId
from reconciler.seeding.report import RejectsFile

SEED = InputId(path="/data/seeds.jsonl", size=1000, head_sha256="h" * 64, sha256="f" * 64)
BATCHING = Batching(
    batch_size=100,
    max_bytes=256_000,
    skip_invalid=False,
    environment=None,
    catalogue="c" * 64,
    target="https://s2s.mparticle.com (workspace 1234)",
)


def batch(index: int, users: int = 100) -> Batch:
    first = index * 100 + 1
    return Batch(index, tuple(range(first, first + users)), tuple(b"{}" for _ in range(users)))


async def test_a_resumed_run_skips_what_the_first_confirmed(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    first = Checkpoint.open(path, SEED, BATCHING, write=True)
    refused = [{"line": 150, "errors": ["LTV: nope"], "record": {"mpid": 1}, "stage": "server"}]
    await first.record(batch(0), 100, [])
    await first.record(batch(1), 99, refused)
    first.close()
    second = Checkpoint.open(path, SEED, BATCHING, write=True)
    assert second.skips(batch(0))
    assert second.skips(batch(1))
    assert not second.skips(batch(2))
    assert (second.landed_before, second.rejected_before) == (199, 1)
    assert list(second.previous_rejects()) == refused
    await second.record(batch(2), 100, [])
    second.close()
    third = Checkpoint.open(path, SEED, BATCHING, write=False)
    assert sorted(third.confirmed) == [0, 1, 2]


async def test_retrying_refused_users_sends_their_batches_again_once(tmp_path: Path) -> None:
    """`retry_refused` (apply --seeds): a batch confirmed with refused users is no longer
    confirmed, and leaves the file, so that confirming it again is not a batch confirmed
    twice; a dry run changes nothing."""
    path = tmp_path / "run.checkpoint"
    first = Checkpoint.open(path, SEED, BATCHING, write=True)
    refused = [{"line": 150, "errors": ["LTV: nope"], "record": {"mpid": 1}, "stage": "server"}]
    await first.record(batch(0), 100, [])
    await first.record(batch(1), 99, refused)
    await first.record(batch(2), 100, [])
    first.close()
    before = path.read_bytes()
    dry = Checkpoint.open(path, SEED, BATCHING, write=False, retry_refused=True)
    assert (sorted(dry.confirmed), dry.retried) == ([0, 2], 1)
    assert path.read_bytes() == before
    second = Checkpoint.open(path, SEED, BATCHING, write=True, retry_refused=True)
    assert (sorted(second.confirmed), second.retried) == ([0, 2], 1)
    assert (second.landed_before, second.rejected_before) == (200, 0)
    assert list(second.previous_rejects()) == []
    await second.record(batch(1), 100, [])
    second.close()
    third = Checkpoint.open(path, SEED, BATCHING, write=True, retry_refused=True)
    assert (sorted(third.confirmed), third.retried) == ([0, 1, 2], 0)
    third.close()


async def test_a_line_cut_short_by_a_crash_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    checkpoint = Checkpoint.open(path, SEED, BATCHING, write=True)
    await checkpoint.record(batch(0), 100, [])
    checkpoint.close()
    with path.open("ab") as file:
        file.write(b'{"batch": 1, "first_li')
    resumed = Checkpoint.open(path, SEED, BATCHING, write=True)
    assert sorted(resumed.confirmed) == [0]
    await resumed.record(batch(1), 100, [])
    resumed.close()
    assert sorted(Checkpoint.open(path, SEED, BATCHING, write=False).confirmed) == [0, 1]


def test_a_checkpoint_of_another_file_is_refused_early(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    Checkpoint.open(path, SEED, BATCHING, write=True).close()
    Checkpoint.check_input(path, replace(SEED, path="/moved/seeds.jsonl", sha256=""))
    for other in (replace(SEED, size=1001), replace(SEED, head_sha256="0" * 64)):
        with pytest.raises(CheckpointError, match="belongs to another input: it was written"):
            Checkpoint.check_input(path, other)


def test_the_whole_file_hash_catches_a_change_in_the_middle(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    Checkpoint.open(path, SEED, BATCHING, write=True).close()
    with pytest.raises(CheckpointError, match=r"/data/seeds\.jsonl \(1,000 bytes\)"):
        Checkpoint.open(path, replace(SEED, sha256="0" * 64), BATCHING, write=True)


def test_a_file_changed_in_place_is_said_to_have_changed(tmp_path: Path) -> None:
    """An edit that kept the size said `seeds.jsonl (346292 bytes), and seeds.jsonl
    (346292 bytes) differs`: the same path and size twice, and no word of what differed."""
    path = tmp_path / "run.checkpoint"
    Checkpoint.open(path, SEED, BATCHING, write=True).close()
    with pytest.raises(CheckpointError) as raised:
        Checkpoint.open(path, replace(SEED, sha256="0" * 64), BATCHING, write=True)
    assert (
        f"it was written for {SEED.path} (1,000 bytes), and {SEED.path} has as many bytes "
        "(1,000) but other content: the file changed, or is another."
    ) in raised.value.message
    with pytest.raises(CheckpointError) as raised:
        Checkpoint.check_input(path, replace(SEED, size=1001))
    assert f"and {SEED.path} has 1,001 bytes: the file changed" in raised.value.message


@pytest.mark.parametrize(
    ("change", "advice"),
    [
        ({"batch_size": 50}, "re-run with --batch-size 100 to resume"),
        ({"skip_invalid": True}, "--skip-invalid as before (False)"),
        ({"environment": "production"}, "re-run with no --environment to resume"),
        ({"target": "https://s2s.eu1.mparticle.com (workspace 1234)"}, "the same workspace"),
    ],
)
def test_other_settings_are_refused_with_what_to_do(
    tmp_path: Path, change: dict[str, object], advice: str
) -> None:
    path = tmp_path / "run.checkpoint"
    Checkpoint.open(path, SEED, BATCHING, write=True).close()
    with pytest.raises(CheckpointError, match="was written with other settings") as raised:
        Checkpoint.open(path, SEED, replace(BATCHING, **change), write=True)  # type: ignore[arg-type]
    assert advice in raised.value.message


def test_other_manifests_are_refused_in_words_not_digests(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    Checkpoint.open(path, SEED, BATCHING, write=True).close()
    with pytest.raises(CheckpointError) as raised:
        Checkpoint.open(path, SEED, replace(BATCHING, catalogue="d" * 64), write=True)
    assert raised.value.message == (
        f"{path} was written for other manifests: a calculation type or cutoff date of a CA "
        "changed since. Re-run with the manifests as they were to resume, or delete the "
        "checkpoint to start over"
    )
    assert "d" * 16 not in raised.value.message


def test_a_file_that_is_not_a_checkpoint_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "seeds.csv"
    path.write_text("mpid,LTV\n1,2\n")
    with pytest.raises(CheckpointError, match="is not a reconciler checkpoint"):
        Checkpoint.open(path, SEED, BATCHING, write=True)
    assert path.read_text() == "mpid,LTV\n1,2\n"
    other = tmp_path / "other.json"
    other.write_text('{"some": "json"}\n')
    with pytest.raises(CheckpointError, match="is not a reconciler checkpoint"):
        Checkpoint.open(other, SEED, BATCHING, write=True)
    assert other.read_text() == '{"some": "json"}\n'


def test_a_checkpoint_in_use_by_another_run_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    running = Checkpoint.open(path, SEED, BATCHING, write=True)
    try:
        with pytest.raises(CheckpointError, match="in use by another seeding run"):
            Checkpoint.open(path, SEED, BATCHING, write=True)
    finally:
        running.close()


def test_a_rejects_file_in_use_by_another_run_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seeds.rejects.jsonl"
    running = RejectsFile(path)
    try:
        with pytest.raises(SettingsError, match="is in use by another seeding run"):
            RejectsFile(path)
        RejectsFile(path, hold=False).finish()  # a dry run writes none: it takes none
    finally:
        running.finish()
    assert not path.exists()  # made to be held, and no one was refused


def test_a_file_system_without_locks_warns_instead_of_naming_another_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Some network file systems answer flock with ENOLCK: no lock is to be had, and no
    # other run holds one. Refusing named a run that did not exist, every time.
    def no_locks(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    checkpoint = Checkpoint.open(tmp_path / "run.checkpoint", SEED, BATCHING, write=True)
    checkpoint.close()
    rejects = RejectsFile(tmp_path / "seeds.rejects.jsonl")
    rejects.finish()
    warned = [r.getMessage() for r in caplog.records if r.name == "reconciler.files"]
    assert len(warned) == 2, warned
    assert warned[0].startswith(f"{tmp_path / 'run.checkpoint'}: its file system gives no lock")
    assert "No locks available" in warned[0]
    assert "run one at a time" in warned[0]

    def busy(descriptor: int, operation: int) -> None:  # another run holds it: refused
        raise BlockingIOError(errno.EWOULDBLOCK, os.strerror(errno.EWOULDBLOCK))

    monkeypatch.setattr(fcntl, "flock", busy)
    with pytest.raises(CheckpointError, match="in use by another seeding run"):
        Checkpoint.open(tmp_path / "run.checkpoint", SEED, BATCHING, write=True)


def test_a_held_rejects_file_keeps_an_earlier_runs_lines_until_a_refusal(tmp_path: Path) -> None:
    path = tmp_path / "seeds.rejects.jsonl"
    earlier = b'{"line":3,"errors":[],"record":null,"stage":"validation"}\n'
    path.write_bytes(earlier)
    RejectsFile(path).finish()
    assert path.read_bytes() == earlier
    rejects = RejectsFile(path)
    rejects.write(7, ["bad"], None, "validation")
    rejects.finish()
    assert [json.loads(line)["line"] for line in path.read_bytes().splitlines()] == [7]


def test_a_dry_run_creates_no_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    Checkpoint.open(path, SEED, BATCHING, write=False).close()
    assert not path.exists()


async def test_a_different_batch_at_a_confirmed_index_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    checkpoint = Checkpoint.open(path, SEED, BATCHING, write=True)
    await checkpoint.record(batch(0), 100, [])
    checkpoint.close()
    resumed = Checkpoint.open(path, SEED, BATCHING, write=False)
    with pytest.raises(CheckpointError, match="batch 0 was lines from 1 \\(100 users\\)"):
        resumed.skips(batch(0, users=90))


async def test_a_header_cut_short_by_a_crash_is_written_again(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    path.write_bytes(b'{"reconciler_check')
    checkpoint = Checkpoint.open(path, SEED, BATCHING, write=True)
    await checkpoint.record(batch(0), 100, [])
    checkpoint.close()
    assert sorted(Checkpoint.open(path, SEED, BATCHING, write=False).confirmed) == [0]


async def written(path: Path, *extra: dict[str, object]) -> Path:
    """A checkpoint of two confirmed batches, then `extra` lines as given."""
    checkpoint = Checkpoint.open(path, SEED, BATCHING, write=True)
    await checkpoint.record(batch(0), 100, [])
    await checkpoint.record(batch(1), 100, [])
    checkpoint.close()
    with path.open("ab") as file:
        for entry in extra:
            file.write(json.dumps(entry).encode() + b"\n")
    return path


GOOD = {"batch": 2, "first_line": 201, "users": 100, "landed": 100, "rejected": []}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({**GOOD, "batch": -1}, "batch: Input should be greater than or equal to 0"),
        ({**GOOD, "batch": "2"}, "batch: Input should be a valid integer"),
        ({**GOOD, "landed": 250}, "batch 2 holds 100 users, but 250 landed and 0 were refused"),
        ({**GOOD, "users": 0, "landed": 0}, "users: Input should be greater than or equal to 1"),
        ({**GOOD, "rejected": "none"}, "rejected: Input should be a valid list"),
        ({**GOOD, "rejected": [{"line": 0}]}, "rejected.0.line: Input should be greater"),
        ({**GOOD, "extra": 1}, "extra: Extra inputs are not permitted"),
        ({**GOOD, "batch": 1}, "batch 1 is confirmed twice"),
        ([1, 2], "the line: Input should be a valid dictionary"),
    ],
)
async def test_a_forged_or_damaged_line_is_refused_naming_it(
    tmp_path: Path, line: dict[str, object], message: str
) -> None:
    path = await written(tmp_path / "run.checkpoint", line)
    with pytest.raises(CheckpointError) as raised:
        Checkpoint.open(path, SEED, BATCHING, write=True)
    assert f"run.checkpoint:4: the checkpoint is damaged ({message}" in raised.value.message


async def test_a_batch_beyond_those_of_the_input_is_refused(tmp_path: Path) -> None:
    path = await written(tmp_path / "run.checkpoint", {**GOOD, "batch": 7})
    assert sorted(Checkpoint.open(path, SEED, BATCHING, write=False).confirmed) == [0, 1, 7]
    with pytest.raises(CheckpointError, match="batch 7 is confirmed, but this input makes 3"):
        Checkpoint.open(path, SEED, BATCHING, write=False, batches=3)


async def test_a_line_that_is_not_json_before_others_is_damage(tmp_path: Path) -> None:
    path = await written(tmp_path / "run.checkpoint")
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0], "{not json", *text[1:]]) + "\n")
    with pytest.raises(CheckpointError, match=r"run\.checkpoint:2: .*a line that is not JSON"):
        Checkpoint.open(path, SEED, BATCHING, write=False)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"reconciler_checkpoint": 2}, "written in checkpoint format 2, and this reconciler "
                                       "reads format 1"),
        ({"reconciler_checkpoint": "1"}, "written in checkpoint format '1'"),
        ({"reconciler_checkpoint": 1, "input": "x", "batching": {}},
         "run.checkpoint:1: the checkpoint is damaged (input: Input should be"),
    ],
)  # fmt: skip
def test_a_header_of_another_version_or_shape_is_refused(
    tmp_path: Path, header: dict[str, object], message: str
) -> None:
    path = tmp_path / "run.checkpoint"
    path.write_text(json.dumps(header) + "\n")
    for check in (
        lambda: Checkpoint.check_input(path, SEED),
        lambda: Checkpoint.open(path, SEED, BATCHING, write=True),
    ):
        with pytest.raises(CheckpointError) as raised:
            check()
        assert message in raised.value.message
    assert path.read_text() == json.dumps(header) + "\n"  # left as it was


def test_checkpoints_and_rejects_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """They hold the seed file's people (identities, e-mail addresses): on a shared machine,
    not for other users to read, whatever the umask."""
    previous = os.umask(0o022)
    try:
        checkpoint = tmp_path / "run.checkpoint"
        Checkpoint.open(checkpoint, SEED, BATCHING, write=True).close()
        rejects = RejectsFile(tmp_path / "seeds.rejects.jsonl")
        rejects.write(3, ["invalid email"], {"email": "someone@example.com"}, "validation")
        rejects.finish()
    finally:
        os.umask(previous)
    assert checkpoint.stat().st_mode & 0o777 == 0o600
    assert rejects.path.stat().st_mode & 0o777 == 0o600
    assert b"someone@example.com" in rejects.path.read_bytes()


def test_an_empty_rejects_file_a_killed_run_left_is_removed(tmp_path: Path) -> None:
    # Each run makes its rejects file at its start (to lock it): a run killed before its
    # first refusal left an empty one, and every later run that refused no one kept it.
    path = tmp_path / "seeds.rejects.jsonl"
    path.write_bytes(b"")
    rejects = RejectsFile(path)
    assert rejects.stale(finished=True) is None
    assert rejects.finish() is None
    assert not path.exists()
