"""The quick start: `reconciler plan manifests/` against the embedded emulator, no account,
no server; state persists in .reconciler/emulator.db beside reconciler.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_quick_start_plans_applies_and_converges(tmp_path: Path) -> None:
    directory = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    first = run_cli("plan", directory)
    assert first.exit_code == 0, first.output
    assert "Plan: 13 to create, 0 to update, 0 drafts to discard, 12 to activate" in first.stdout
    assert run_cli("plan", directory, "--detailed-exitcode").exit_code == 2
    applied = run_cli("apply", directory, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert (directory / ".reconciler" / "emulator.db").is_file()
    again = run_cli("plan", directory, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes. 13 unchanged, 0 unmanaged." in again.stdout


def test_embedded_state_is_per_manifest_directory(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for directory in (one, two):
        shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    assert run_cli("apply", one, "--auto-approve").exit_code == 0
    assert run_cli("plan", two, "--detailed-exitcode").exit_code == 2
