"""The walk below a manifest directory: what it costs the system, per folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.manifest import ignore, tree


def test_the_walk_resolves_only_the_links_not_every_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It runs on every plan. Resolving each folder it met (two or three `realpath`s of
    one `lstat` per path part each) and asking the system again what scandir had read
    made a tree of 1,111 folders take 110 ms to list instead of rglob's 62 (20 now)."""
    root, shared = tmp_path / "root", tmp_path / "shared"
    for name in ("a/b/c", "a/d", "e"):
        (root / name).mkdir(parents=True)
        (root / name / "cas.yaml").write_text("calculated_attributes: []\n")
    shared.mkdir()
    (shared / "s.yaml").write_text("calculated_attributes: []\n")
    (root / "a" / "shared").symlink_to(shared)
    resolved: list[str] = []
    realpath = os.path.realpath

    def counted(path: str) -> str:
        resolved.append(os.fspath(path))
        return realpath(path)

    monkeypatch.setattr(os.path, "realpath", counted)
    found = tree.walk(root, ignore.nothing)
    assert sorted(relative for _, relative in found.files) == [
        "a/b/c/cas.yaml",
        "a/d/cas.yaml",
        "a/shared/s.yaml",
        "e/cas.yaml",
    ]
    assert found.issues == []
    assert resolved == [str(root), str(root / "a" / "shared")]
