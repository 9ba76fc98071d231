"""The seeding state of `apply --seeds` across versions of one seed file: which folders
are the file's earlier versions, and what removing one removes (its state, no more)."""

from __future__ import annotations

import io
from pathlib import Path

import orjson

from reconciler.console import Output
from reconciler.files import hold
from reconciler.workspace.seedstate import (
    Version,
    earlier,
    mark,
    overwritten,
    remove,
    remove_earlier,
    unnamed,
)

CURRENT = "1234-" + "a" * 16


def folder(seeding: Path, name: str, source: Path | None = None) -> Path:
    made = seeding / name
    made.mkdir(parents=True)
    (made / "seeded.json").write_text('{"format": 1, "cas": {}, "unseeded_users": false}')
    if source is not None:
        mark(made, source, name[-16:] * 4)
    return made


def test_the_earlier_versions_are_the_folders_naming_the_same_file(tmp_path: Path) -> None:
    seeding, seeds = tmp_path / "seeding", tmp_path / "seeds.jsonl"
    current = folder(seeding, CURRENT, seeds)
    older = folder(seeding, "1234-" + "b" * 16, seeds)
    folder(seeding, "1234-" + "c" * 16, tmp_path / "other.jsonl")  # another file's
    folder(seeding, "99-" + "d" * 16, seeds)  # another workspace's
    folder(seeding, "1234-" + "e" * 16)  # names no file: nobody's to remove
    (seeding / "notes").mkdir()
    # Written before folders named their file: its checkpoint's header names it.
    legacy = folder(seeding, "1234-" + "f" * 16)
    header = {"reconciler_checkpoint": 1, "input": {"path": str(seeds)}, "batching": {}}
    (legacy / "group-0123456789abcdef.jsonl").write_bytes(orjson.dumps(header) + b"\n")
    assert earlier(current, seeds) == [Version(older, 0), Version(legacy, 1)]


def test_removing_a_version_removes_its_state_and_nothing_else(tmp_path: Path) -> None:
    seeding, seeds = tmp_path / "seeding", tmp_path / "seeds.jsonl"
    older = folder(seeding, "1234-" + "b" * 16, seeds)
    (older / "groups.json").write_text("{}")
    (older / "group-0123456789abcdef.jsonl").write_text("{}\n")
    assert remove(Version(older, 1))
    assert not older.exists()
    kept = folder(seeding, "1234-" + "c" * 16, seeds)
    (kept / "mine.txt").write_text("the user's")
    assert remove(Version(kept, 0))
    assert [path.name for path in kept.iterdir()] == ["mine.txt"]


def test_a_version_whose_checkpoint_a_run_holds_is_left_whole(tmp_path: Path) -> None:
    seeding, seeds = tmp_path / "seeding", tmp_path / "seeds.jsonl"
    older = folder(seeding, "1234-" + "b" * 16, seeds)
    checkpoint = older / "group-0123456789abcdef.jsonl"
    checkpoint.write_text("{}\n")
    with checkpoint.open("rb") as running:
        assert hold(running.fileno(), checkpoint)  # as a seeding run holds its checkpoint
        assert not remove(Version(older, 1))
        assert sorted(path.name for path in older.iterdir()) == [
            checkpoint.name,
            "seeded.json",
            "source.json",
        ]
    assert remove(Version(older, 1))


def test_another_files_seeds_of_a_ca_are_forgotten_with_their_checkpoints(
    tmp_path: Path,
) -> None:
    seeding, seeds, other = tmp_path / "seeding", tmp_path / "b.jsonl", tmp_path / "a.jsonl"
    current = folder(seeding, CURRENT, seeds)
    theirs = folder(seeding, "1234-" + "c" * 16, other)
    entry = {"id": 1, "calculation_type": "sum", "cutoff": None, "users": 2}
    record = {"format": 1, "cas": {"LTV": entry, "Orders": entry}, "unseeded_users": True}
    (theirs / "seeded.json").write_bytes(orjson.dumps(record))
    groups = {"group-0000000000000001.jsonl": ["LTV"], "group-0000000000000002.jsonl": ["Other"]}
    (theirs / "groups.json").write_bytes(orjson.dumps(groups))
    for name in groups:
        (theirs / name).write_text("{}\n")
    elsewhere = folder(seeding, "99-" + "d" * 16, other)  # another workspace's: its own
    (elsewhere / "seeded.json").write_bytes(orjson.dumps(record))
    stderr = io.StringIO()
    overwritten(current, seeds, ["LTV", "Largest Order"], Output(stderr=stderr))
    kept = orjson.loads((theirs / "seeded.json").read_bytes())
    assert kept == {**record, "cas": {"Orders": entry}}
    assert orjson.loads((theirs / "groups.json").read_bytes()) == {
        "group-0000000000000002.jsonl": ["Other"]
    }
    assert sorted(path.name for path in theirs.glob("group-*")) == ["group-0000000000000002.jsonl"]
    assert orjson.loads((elsewhere / "seeded.json").read_bytes()) == record
    assert 'its seeds of "LTV" are no longer taken as landed' in " ".join(stderr.getvalue().split())


def test_a_folder_naming_no_file_goes_at_the_next_apply_of_any_file(tmp_path: Path) -> None:
    seeding, seeds = tmp_path / "seeding", tmp_path / "seeds.jsonl"
    current = folder(seeding, CURRENT, seeds)
    nameless = folder(seeding, "1234-" + "e" * 16)
    other = folder(seeding, "1234-" + "c" * 16, tmp_path / "other.jsonl")
    assert unnamed(current) == [Version(nameless, 0)]
    stderr = io.StringIO()
    remove_earlier(current, seeds, Output(stderr=stderr))
    assert not nameless.exists()
    assert other.exists()
    assert current.exists()
    assert "names no seed file, is removed" in " ".join(stderr.getvalue().split())
