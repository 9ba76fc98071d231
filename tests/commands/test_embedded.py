"""The quick start: `reconciler plan manifests/` against the embedded emulator, no account,
no server; state persists in .reconciler/emulator.db beside reconciler.yaml. The embedded
workspace rehearses the account's active-CA limit (`RECONCILER_ACTIVE_LIMIT`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reconciler.files import STATE_GITIGNORE
from tests.support.cli import run_cli
from tests.support.workspace import ca, write_manifests

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


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


def test_the_state_folder_keeps_itself_out_of_git(tmp_path: Path) -> None:
    """The quick start's first plan made `manifests/.reconciler/emulator.db`, and `git add
    manifests/` committed the embedded workspace's database: the folder now comes with a
    `.gitignore` holding `*`, as pytest's and mypy's caches do (per environment too), when
    the reconciler makes it."""
    repo = tmp_path / "repo"
    directory = repo / "manifests"
    shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    _git(repo, "init", "-q")
    assert run_cli("plan", directory).exit_code == 0
    assert (directory / ".reconciler" / ".gitignore").read_text() == STATE_GITIGNORE
    staged = write_manifests(repo / "staged", [ca("LTV")], {"environments": {"dev": {}}})
    assert run_cli("apply", staged, "--env", "dev", "--auto-approve").exit_code == 0
    assert (staged / ".reconciler" / "dev" / "emulator.db").is_file()
    _git(repo, "add", "-A")
    added = _git(repo, "diff", "--cached", "--name-only").split()
    assert "manifests/commerce.yaml" in added
    assert [name for name in added if ".reconciler" in name] == []

    # Only a folder the reconciler makes gets it: one a user made, or one of an earlier
    # version, keeps what it holds (a user's own .gitignore is never written over).
    own, bare = (write_manifests(tmp_path / name, [ca("LTV")]) for name in ("own", "bare"))
    (own / ".reconciler").mkdir()
    (own / ".reconciler" / ".gitignore").write_text("emulator.db\n")
    (bare / ".reconciler").mkdir()
    for directory in (own, bare):
        assert run_cli("apply", directory, "--auto-approve").exit_code == 0
        assert (directory / ".reconciler" / "emulator.db").is_file()
    assert (own / ".reconciler" / ".gitignore").read_text() == "emulator.db\n"
    assert not (bare / ".reconciler" / ".gitignore").exists()


def test_a_selection_that_matches_nothing_says_so(tmp_path: Path) -> None:
    """Globs are case-sensitive: `--only ltv` left out `LTV` and printed "No changes."
    without a word, so a CI apply with a mistyped glob passed having done nothing."""
    directory = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    planned = run_cli("plan", directory, "--only", "ltv", "--only", "LTV", "--exclude", "x*")
    assert planned.exit_code == 0, planned.output
    assert "Warning: --only ltv, --exclude x* matches no CA" in planned.stderr
    applied = run_cli("apply", directory, "--auto-approve", "--only", "ltv")
    assert applied.exit_code == 0, applied.output
    assert "No changes." in applied.stdout
    assert "Warning: --only ltv matches no CA" in applied.stderr
    assert "matches no CA" not in run_cli("plan", directory, "--only", "LTV").stderr


def test_embedded_state_is_per_manifest_directory(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for directory in (one, two):
        shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    assert run_cli("apply", one, "--auto-approve").exit_code == 0
    assert run_cli("plan", two, "--detailed-exitcode").exit_code == 2


def test_a_workspace_over_the_active_limit_can_still_be_planned_and_tidied(
    tmp_path: Path,
) -> None:
    """Ten active CAs and a limit of 5: "No changes", a description fix and the prune that
    frees slots were all refused as [active-limit] by `plan` (while `apply` of the empty
    plan exited 0). Only a plan that takes a slot is refused."""
    cas = [ca(f"CA {n}") for n in range(10)]
    directory = write_manifests(tmp_path / "m", cas)
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    limited = {"RECONCILER_ACTIVE_LIMIT": "5"}

    same = run_cli("plan", directory, "--detailed-exitcode", env=limited)
    assert same.exit_code == 0, same.output
    assert "No changes. 10 unchanged, 0 unmanaged. Active after apply: 10 of 5." in same.stdout
    assert run_cli("apply", directory, "--auto-approve", env=limited).exit_code == 0

    write_manifests(tmp_path / "m", [ca("CA 0", description="fixed"), *cas[1:]])
    described = run_cli("plan", directory, "--detailed-exitcode", env=limited)
    assert described.exit_code == 2, described.output
    assert run_cli("apply", directory, "--auto-approve", env=limited).exit_code == 0

    write_manifests(tmp_path / "m", [ca("CA 0", description="fixed"), *cas[1:8]])
    pruned = run_cli("plan", directory, "--prune", "--detailed-exitcode", env=limited)
    assert pruned.exit_code == 2, pruned.output
    assert "2 to delete. 8 unchanged" in pruned.stdout
    assert "Active after apply: 8 of 5." in pruned.stdout
    applied = run_cli("apply", directory, "--prune", "--auto-approve", env=limited)
    assert applied.exit_code == 0, applied.output

    write_manifests(tmp_path / "m", [ca("CA 0", description="fixed"), *cas[1:8], ca("New")])
    refused = run_cli("plan", directory, "--prune", env=limited)
    assert refused.exit_code == 1
    assert "[active-limit] the plan would leave 9 CAs active" in refused.stderr
    assert run_cli("apply", directory, "--auto-approve", env=limited).exit_code == 1
    write_manifests(tmp_path / "m", [ca("CA 0", description="fixed"), *cas[1:8]])
    again = run_cli("plan", directory, "--prune", "--detailed-exitcode", env=limited)
    assert again.exit_code == 0, again.output


def test_an_apply_that_does_not_converge_fails_and_keeps_its_json_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-plan after an apply that does not converge was printed as text into the
    JSON report's stdout, so `apply --format json` output no longer parsed."""
    from reconciler.workspace import planning

    real = planning.build
    calls: list[int] = []

    def build(ws: Any, live: Any, *args: Any, **kwargs: Any) -> planning.Planned:
        calls.append(len(live))
        # The re-plan after the apply sees a workspace that lost what was written.
        return real(ws, [] if len(calls) > 1 else live, *args, **kwargs)

    monkeypatch.setattr(planning, "build", build)
    for fmt in ("text", "json"):
        directory = write_manifests(tmp_path / fmt, [ca("A")])
        result = run_cli("apply", directory, "--auto-approve", "--format", fmt)
        assert result.exit_code == 1, result.output
        assert "after applying, the plan is not empty: Plan: 1 to create" in result.stderr
        if fmt == "json":
            assert json.loads(result.stdout)["summary"]["done"] == 2
        else:
            assert result.stdout.count('+ create "A"') == 2  # the plan, and the re-plan
        calls.clear()
