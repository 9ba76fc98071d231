"""Files reconciler keeps between runs, and manifests, are input like any other: an entry
of the manifest cache edited, cut short or of the wrong types is a miss (the plan is the
one the manifests make), never a crash; a forged seeding checkpoint is refused naming its
line, before anything is sent; a 50,000-deep YAML file is refused where it passes the
limit, not a segfault. Each runs the real command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.seeding.conftest import Serve, cli_env
from tests.support.cli import run_cli, run_process
from tests.support.seeds import MANIFESTS, users, write_jsonl
from tests.support.workspace import SESSIONS, ca, write_manifests

WEEKLY = {**SESSIONS, "time_period": {"type": "within", "within": 7, "within_unit": "days"}}


def _flip_canonical(raw: bytes) -> bytes:
    at = raw.index(b'"canonical"')
    return raw[:at] + raw[at:].replace(b'"within":7', b'"within":9', 1)


def _name_as_number(raw: bytes) -> bytes:
    return raw.replace(b'"facts":[["Weekly"', b'"facts":[[7', 1)


def _cut_short(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


@pytest.mark.parametrize(
    "tamper", [_flip_canonical, _name_as_number, _cut_short], ids=["flip", "types", "cut"]
)
def test_a_tampered_cache_entry_does_not_change_the_plan(
    tmp_path: Path, tamper: Callable[[bytes], bytes]
) -> None:
    directory = write_manifests(tmp_path / "m", [ca("Weekly", WEEKLY)])
    cached = {"RECONCILER_CACHE_DIR": str(tmp_path / "cache")}
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    assert run_cli("plan", directory, "--detailed-exitcode", env=cached).exit_code == 0
    entries = [
        path for path in (tmp_path / "cache").rglob("*.json") if b'"canonical"' in path.read_bytes()
    ]
    assert entries, "the plan wrote a cache entry"
    for path in entries:
        changed = tamper(path.read_bytes())
        assert changed != path.read_bytes()
        path.write_bytes(changed)
    result = run_cli("plan", directory, "--detailed-exitcode", env=cached)
    assert result.exit_code == 0, result.output
    assert "No changes." in result.stdout


def test_a_50000_deep_manifest_is_a_located_error_not_a_crash(tmp_path: Path) -> None:
    """In a process of its own: this was a segfault of the C composer (exit 139)."""
    deep = 50_000
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "deep.yaml").write_text("calculated_attributes: " + "[" * deep + "]" * deep)
    result = run_process("validate", tmp_path, timeout=60)
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'deep.yaml'}:1:1024: nesting deeper than 1,000 levels" in result.stderr


BULK = "POST /v2/bulkcalculatedattributes"


def test_a_forged_checkpoint_stops_the_run_before_any_request(serve: Serve, tmp_path: Path) -> None:
    """A line claiming 50 more users landed (batch -1) made the summary count 350 users of
    300; now the checkpoint is refused, naming the line, and nothing is sent."""
    path = write_jsonl(tmp_path / "seeds.jsonl", users(300))
    checkpoint = tmp_path / "seeds.checkpoint"
    forged = b'{"batch": -1, "first_line": 1, "users": 50, "landed": 50, "rejected": []}\n'
    with serve() as server:
        env = cli_env(server)
        assert run_cli("seed", path, MANIFESTS, "--checkpoint", checkpoint, env=env).exit_code == 0
        with checkpoint.open("ab") as file:
            file.write(forged)
        before = server.stats()["requests"][BULK]
        result = run_cli("seed", path, MANIFESTS, "--checkpoint", checkpoint, env=env)
        assert server.stats()["requests"][BULK] == before
    assert result.exit_code == 1
    assert (
        "seeds.checkpoint:5: the checkpoint is damaged (batch: Input should be greater than "
        "or equal to 0)"
    ) in result.stderr
    assert "350" not in result.output
    assert "bug" not in result.output
