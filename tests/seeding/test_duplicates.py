"""Users a seed file lists twice: found with a fixed-size filter, confirmed exactly, named
by their lines; the file is still sent as it is."""

from __future__ import annotations

from pathlib import Path

import orjson

from reconciler.seeding.duplicates import BITS, KEPT, Duplicates, false_positive_rate
from tests.support.cli import run_cli
from tests.support.seeds import MANIFESTS


def spooled(*users: tuple[int, dict[str, object]]) -> list[tuple[int, bytes]]:
    return [(line, orjson.dumps(user)) for line, user in users]


def test_a_user_listed_again_is_found_with_the_line_it_first_had() -> None:
    users = spooled(
        (2, {"environment": "production", "mpid": 1}),
        (3, {"environment": "production", "identities": {"email": "a@x", "customer_id": "c"}}),
        (4, {"environment": "development", "mpid": 1}),  # another environment: another user
        (6, {"environment": "production", "identities": {"customer_id": "c", "email": "a@x"}}),
        (9, {"environment": "production", "mpid": 1, "identities": {"email": "b@x"}}),
    )
    duplicates = Duplicates()
    for line, user in users:
        duplicates.add(line, orjson.loads(user))
    assert [(d.first, d.line) for d in duplicates.confirm(users)] == [(3, 6), (2, 9)]


def test_a_false_positive_of_the_filter_is_never_said() -> None:
    """A filter of 8 bits says every user was seen: the exact check clears them all."""
    users = spooled(*((line, {"environment": "production", "mpid": line}) for line in range(40)))
    duplicates = Duplicates(bits=8)
    for line, user in users:
        duplicates.add(line, orjson.loads(user))
    assert duplicates.suspected > 0
    assert duplicates.confirm(users) == []


def test_the_memory_is_the_filters_whatever_the_file() -> None:
    duplicates = Duplicates(bits=1 << 12)
    for line in range(20_000):
        duplicates.add(line, {"environment": "production", "mpid": line % 10_000})
    assert len(duplicates.suspects) == KEPT
    assert duplicates.suspected >= 10_000
    # The documented rates (docs/seeding.md, "Good to know").
    assert false_positive_rate(1_000_000) < 1e-9
    assert false_positive_rate(10_000_000) < 0.002
    assert BITS // 8 == 16 * 1024 * 1024


def test_a_seed_file_listing_users_twice_warns_with_their_lines(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.csv"
    rows = [f"{mpid},,development,{mpid}" for mpid in range(100, 130)]
    rows[10] = "105,,development,7"
    rows[20] = ",ann@example.com,development,1"
    rows[25] = ",ann@example.com,development,2"
    seeds.write_text("mpid,email,environment,LTV\n" + "\n".join(rows) + "\n")
    result = run_cli("seed", seeds, MANIFESTS, "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        f"{seeds}: 2 user(s) listed more than once (by MPID, else identities): line 12 "
        "repeats line 7, line 27 repeats line 22; each is sent every time, and which seed "
        "mParticle keeps is not defined: deduplicate the export"
    ) in result.stderr.replace("\n", " ")
