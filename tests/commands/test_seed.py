"""`reconciler seed` as a user meets it, against the emulator server over loopback: invalid
users stop the run before any request (or go to the rejects file with --skip-invalid),
users the server refuses are isolated by bisection, and every failure is one paragraph."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from reconciler.commands.seed import _Progress, summary
from reconciler.console import Heartbeat, Output
from reconciler.seeding.report import RejectsFile, SeedReport
from tests.seeding.conftest import API_KEY, API_SECRET, Serve, cli_env
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer
from tests.support.platform import recorded_deadlines
from tests.support.readme import DOCS, blocks, quotes
from tests.support.seeds import (
    MANIFESTS,
    NOT_IN_WORKSPACE,
    user,
    user_key,
    users,
    write_csv,
    write_jsonl,
)
from tests.support.workspace import PURCHASES, ca, write_manifests

BULK = "POST /v2/bulkcalculatedattributes"
BAD_LINES = (1234, 5000, 9999)


def ten_thousand_with_three_bad(path: Path) -> Path:
    """10,000 users; lines 1234 (not JSON), 5000 (a sum that is not a number) and 9999
    (no mpid, no identities) are invalid."""
    lines: list[Any] = list(users(10_000))
    lines[1233] = b'{"environment": "development", "mpid": 1,'
    lines[4999]["calculated_attributes"]["workspace"][0]["seed"]["value"] = "lots"
    del lines[9998]["mpid"]
    lines[9998].pop("identities", None)
    return write_jsonl(path, lines)


def seed(path: Path, server: EmulatorServer, *args: str | Path, **env: str) -> Result:
    return run_cli("seed", path, MANIFESTS, *args, env=cli_env(server, **env))


def sent(server: EmulatorServer) -> int:
    return int(server.stats()["requests"].get(BULK, 0))


def rejects(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_three_bad_users_among_10000_stop_the_run_before_any_request(
    serve: Serve, tmp_path: Path
) -> None:
    path = ten_thousand_with_three_bad(tmp_path / "seeds.jsonl")
    with serve() as server:
        result = seed(path, server)
        assert server.stats()["total"] == 0
    assert result.exit_code == 1
    assert "3 invalid user(s) in the seed file; nothing was sent:" in result.stderr
    assert "seeds.jsonl:1234: not valid JSON" in result.stderr
    assert (
        "seeds.jsonl:5000: calculated_attributes.workspace[0].seed.value: "
        '"LTV": Seed value must be numeric, not "lots"'
    ) in result.stderr
    assert "seeds.jsonl:9999: mpid: needs `mpid` or a non-empty `identities`" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "seeds.jsonl.rejects.jsonl").exists()


def test_more_invalid_users_than_shown_are_counted_with_the_flags_that_list_them(
    serve: Serve, tmp_path: Path
) -> None:
    lines: list[Any] = list(users(60))
    for line in lines:
        line["calculated_attributes"]["workspace"][0]["seed"]["value"] = "lots"
    path = write_jsonl(tmp_path / "seeds.jsonl", lines)
    with serve() as server:
        result = seed(path, server)
        assert server.stats()["total"] == 0
    assert result.exit_code == 1
    assert "  ... and 10 more (use --skip-invalid --rejects FILE)" in result.stderr


def test_an_integer_beyond_64_bits_is_refused_as_written_not_rounded(
    serve: Serve, tmp_path: Path
) -> None:
    """orjson reads such an integer as a float: the message said `not 1.2345678901234568e+29`
    and the rejects file kept that float, not the user's number (output changed the data)."""
    big = "123456789012345678901234567890"
    lines = [orjson.dumps(body) for body in users(3)]
    lines[1] = lines[1].replace(b'"mpid":1000000000000001', b'"mpid":' + big.encode())
    lines[2] = lines[2].replace(b'"term 2"', b'"' + big.encode() + b'"')
    assert big.encode() in lines[1]
    assert big.encode() in lines[2]
    path = tmp_path / "seeds.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with serve() as server:
        result = seed(path, server, "--skip-invalid", "--format", "json")
        assert server.seeds(limit=0)["count"] == 2  # digits inside a text are no integer
    assert result.exit_code == 0, result.output
    (rejected,) = rejects(tmp_path / "seeds.jsonl.rejects.jsonl")
    assert rejected["line"] == 2
    assert rejected["record"] == lines[1].decode()  # as written, digit for digit
    assert rejected["errors"] == [
        f"holds the integer {big}, beyond 64 bits: mParticle cannot take it exactly. Write "
        "it as text (in quotes) if it is a value; no MPID is that large"
    ]


def test_a_dry_run_with_skip_invalid_lists_the_invalid_users(serve: Serve, tmp_path: Path) -> None:
    """It writes no rejects file: it said "each is in None with the reason", and listed
    no one."""
    lines: list[Any] = list(users(2))
    for line in lines:
        line["calculated_attributes"]["workspace"][0]["seed"]["value"] = "lots"
    path = write_jsonl(tmp_path / "seeds.jsonl", lines)
    with serve() as server:
        result = seed(path, server, "--skip-invalid", "--dry-run")
    assert result.exit_code == 1
    assert (
        f"Warning: 2 invalid user(s) in the seed file, which a run with --skip-invalid "
        f"writes to {path}.rejects.jsonl and does not send:\n"
        f"  {path}:1: calculated_attributes.workspace[0].seed.value: "
        '"LTV": Seed value must be numeric, not "lots"'
    ) in result.stderr
    assert result.stderr.endswith(
        "Error: no user would be seeded: all 2 user(s) are invalid (listed above)\n"
    )
    assert not (tmp_path / "seeds.jsonl.rejects.jsonl").exists()


def test_skip_invalid_lands_the_9997_and_writes_the_3_rejects(serve: Serve, tmp_path: Path) -> None:
    path = ten_thousand_with_three_bad(tmp_path / "seeds.jsonl")
    with serve() as server:
        result = seed(path, server, "--skip-invalid", "--format", "json")
        assert server.seeds(limit=0)["count"] == 9997
        assert server.stats()["seed_users_accepted"] == 9997
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["users"]["sent"] == 9997
    assert report["users"]["rejected"] == {"invalid": 3, "server": 0, "missing_ca": 0}
    written = rejects(tmp_path / "seeds.jsonl.rejects.jsonl")
    assert report["rejects"] == str(tmp_path / "seeds.jsonl.rejects.jsonl")
    assert [entry["line"] for entry in written] == list(BAD_LINES)
    assert {entry["stage"] for entry in written} == {"validation"}
    assert written[0]["record"] == '{"environment": "development", "mpid": 1,'
    assert written[1]["record"]["calculated_attributes"]["workspace"][0]["seed"] == {
        "value": "lots"
    }
    assert written[1]["errors"] == [
        'calculated_attributes.workspace[0].seed.value: "LTV": Seed value must be numeric, '
        'not "lots"'
    ]


def test_a_user_the_server_refuses_is_isolated_by_bisection(serve: Serve, tmp_path: Path) -> None:
    bodies = list(users(1000))
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    out = tmp_path / "refused.jsonl"
    with serve() as server:
        server.refuse_seeds(bodies[436]["mpid"])  # a refusal only the server makes
        result = seed(path, server, "--rejects", out)
        assert server.seeds(limit=0)["count"] == 999
        stats = server.stats()
    assert result.exit_code == 1
    assert "1 user(s) were refused by the server and not seeded" in result.stderr
    assert "Done:" not in result.stdout  # the summary does not say "Done" above an error
    (refused,) = rejects(out)
    assert refused["line"] == 437
    assert refused["stage"] == "server"
    assert refused["errors"] == ["LTV: Seed refused (the emulator's seed_refusals test setting)"]
    assert refused["record"]["mpid"] == bodies[436]["mpid"]
    # 10 batches, and halving the refused one of 100 down to 1 user: 2 requests a level.
    assert stats["requests"][BULK] == 10 + 2 * 7
    assert stats["seed_users_accepted"] == 999


def test_with_skip_invalid_a_server_refusal_is_reported_but_not_an_error(
    serve: Serve, tmp_path: Path
) -> None:
    bodies = list(users(300))
    # A rolling-window CA: the server takes its seeds, the command warns.
    bodies[0]["calculated_attributes"]["workspace"] = [
        {
            "attribute_name": "Sessions Last 30 Days",
            "cutoff_date": "2024-01-01",
            "seed": {"value": 3},
        }
    ]
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    with serve() as server:
        server.refuse_seeds(bodies[1]["mpid"])
        result = seed(path, server, "--skip-invalid")
        assert server.seeds(limit=0)["count"] == 299
    assert result.exit_code == 0, result.output
    assert "rolling `within` time period" in result.stderr
    assert "seeded values never leave the window" in result.stderr
    assert "299 sent" in result.stdout
    assert "1 rejected (0 invalid, 1 by the server)" in result.stdout
    assert result.stdout.endswith("Done: 299 user(s) seeded.\n")


def test_a_ca_the_seeding_api_never_learns_stops_the_run_unbisected(
    serve: Serve, tmp_path: Path
) -> None:
    """Without Platform API credentials nothing checks the CAs first: seeds for one the
    workspace lacks are retried for --seed-wait, never bisected, then the run stops."""
    bodies = list(users(300))
    bodies[150]["calculated_attributes"]["workspace"].append(
        {"attribute_name": NOT_IN_WORKSPACE, "seed": {"value": 12}}
    )
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    with serve() as server:
        result = seed(path, server, "--seed-wait", "0.3", "--concurrency", "1")
        requests = server.stats()["requests"][BULK]
        assert server.seeds(limit=0)["count"] == 100  # the batch before landed
    assert result.exit_code == 1
    assert "no Platform API credentials" in result.stderr
    assert f'waiting for the Seeding API to learn CA "{NOT_IN_WORKSPACE}"' in result.stderr
    assert "retrying until" in result.stderr
    assert (
        "the Seeding API still answers 'No matching calculated attribute definition found' "
        f'for "{NOT_IN_WORKSPACE}" after 0.3s (--seed-wait)'
    ) in result.stderr
    assert "Traceback" not in result.output
    # The summary does not claim the Seeding API learnt the CA it never learnt.
    (waited,) = [line for line in result.stdout.splitlines() if "waited:" in line]
    assert "knew" not in waited
    assert f'while the Seeding API did not know "{NOT_IN_WORKSPACE}"' in waited
    # The refused batch of 100 was sent again whole, never halved to single users.
    assert requests < 2 + 20


def platform_env(server: EmulatorServer) -> dict[str, str]:
    """`cli_env` plus Platform API credentials: the CAs are checked before sending."""
    return cli_env(
        server,
        MPARTICLE_API_URL=server.url,
        MPARTICLE_AUTH_URL=f"{server.url}/oauth/token",
        MPARTICLE_CLIENT_ID="emulator",
        MPARTICLE_CLIENT_SECRET="emulator",
    )


def seeding_a_missing_ca(tmp_path: Path) -> Path:
    """240 users; users 5 and 7 also seed a CA the workspace does not have."""
    bodies = list(users(240))
    for index in (5, 7):
        bodies[index]["calculated_attributes"]["workspace"].append(
            {"attribute_name": NOT_IN_WORKSPACE, "seed": {"value": 1}}
        )
    return write_jsonl(tmp_path / "seeds.jsonl", bodies)


def test_cas_missing_from_the_workspace_are_named_before_anything_is_sent(
    serve: Serve, tmp_path: Path
) -> None:
    path = seeding_a_missing_ca(tmp_path)
    with serve() as server:
        result = run_cli("seed", path, MANIFESTS, env=platform_env(server))
        stats = server.stats()["requests"]
    assert result.exit_code == 1
    assert (
        "workspace 1234 will not take the seeds of every CA the file seeds, and nothing was "
        f'sent: "{NOT_IN_WORKSPACE}": workspace 1234 holds no CA of this name (neither active '
        "nor as a draft)"
    ) in result.stderr.replace("\n", " ")
    assert BULK not in stats
    assert stats["GET /platform/v2/workspaces/{workspace_id}/calculatedattributes"] == 1


def test_a_cutoff_the_workspace_does_not_have_yet_says_so_once_with_one_advice(
    serve: Serve, tmp_path: Path
) -> None:
    manifests = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, manifests)
    seedable = manifests / "seedable.yaml"
    seedable.write_text(
        seedable.read_text().replace("cutoff_date: 2019-10-02", "cutoff_date: 2019-10-03")
    )
    path = write_jsonl(tmp_path / "seeds.jsonl", users(10))
    with serve() as server:
        result = run_cli("seed", path, manifests, env=platform_env(server))
    said = " ".join(result.stderr.split())
    assert result.exit_code == 1, result.output
    assert (
        '"LTV": its definition in the workspace is sum with cutoff 2019-10-02, the manifests '
        "say sum with cutoff 2019-10-03. Apply the manifests first (`reconciler apply`), then "
        "seed"
    ) in said
    assert said.lower().count("apply the manifests first") == 1


def test_with_skip_invalid_the_users_of_a_missing_ca_go_to_the_rejects(
    serve: Serve, tmp_path: Path
) -> None:
    path = seeding_a_missing_ca(tmp_path)
    with serve() as server:
        env = platform_env(server)
        result = run_cli("seed", path, MANIFESTS, "--skip-invalid", "--format", "json", env=env)
        assert server.seeds(limit=0)["count"] == 238
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["users"]["rejected"] == {"invalid": 0, "server": 0, "missing_ca": 2}
    # Per CA: the users seeding it, and those refused (here, before sending).
    assert report["cas"][NOT_IN_WORKSPACE] == {"users": 2, "refused": 2}
    assert report["cas"]["LTV"] == {"users": 240, "refused": 2}
    written = rejects(tmp_path / "seeds.jsonl.rejects.jsonl")
    assert [entry["line"] for entry in written] == [6, 8]
    assert {entry["stage"] for entry in written} == {"preflight"}
    assert written[0]["errors"] == [
        f'"{NOT_IN_WORKSPACE}": workspace 1234 holds no CA of this name (neither active nor as '
        "a draft)"
    ]


def test_with_skip_invalid_the_users_of_a_ca_without_cutoff_go_to_the_rejects_once_said(
    serve: Serve, tmp_path: Path
) -> None:
    """Users seeding a CA whose manifest has no cutoff are set aside, each with why, and
    the run says it once for the CA (not per user); the other users land."""
    lines: list[Any] = list(users(40))
    for line in lines[10:20]:
        line["calculated_attributes"]["workspace"].append(
            {"attribute_name": "Wishlist Adds", "cutoff_date": "2025-02-01", "seed": {"value": 1}}
        )
    path = write_jsonl(tmp_path / "seeds.jsonl", lines)
    with serve() as server:
        result = seed(path, server, "--skip-invalid", "--format", "json")
        assert server.seeds(limit=0)["count"] == 30
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["users"]["rejected"]["invalid"] == 10
    assert result.stderr.count('"Wishlist Adds"') == 1, result.stderr
    assert 'CA "Wishlist Adds" (seeded by 10 user(s), the first at line 11) can take no seeds' in (
        result.stderr
    )
    written = rejects(tmp_path / "seeds.jsonl.rejects.jsonl")
    assert [entry["line"] for entry in written] == list(range(11, 21))
    assert {entry["stage"] for entry in written} == {"validation"}
    assert written[0]["errors"][0].startswith(
        'CA "Wishlist Adds" can take no seeds: its manifest ('
    )


def test_dry_run_validates_and_counts_but_sends_nothing(serve: Serve, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(1050))
    checkpoint = tmp_path / "seeds.checkpoint"
    with serve() as server:
        result = seed(path, server, "--dry-run", "--checkpoint", checkpoint)
        assert server.stats()["total"] == 0
    assert result.exit_code == 0, result.output
    assert "1,050 read, 1,050 valid" in result.stdout
    assert "Dry run: would send 1,050 user(s) in 11 request(s)" in result.stdout
    assert not checkpoint.exists()


def test_a_run_writing_the_same_rejects_file_is_refused_before_sending(
    serve: Serve, tmp_path: Path
) -> None:
    """One seed file sent by two runs at once (two environments, two CI jobs) names one
    rejects file by default: each truncated and wrote it at its own offsets, leaving torn
    JSON lines and losing rejects both runs said were there. The second run is refused."""
    lines: list[Any] = list(users(20))
    lines[4] = b'{"mpid": 1,'
    path = write_jsonl(tmp_path / "seeds.jsonl", lines)
    held = tmp_path / "seeds.jsonl.rejects.jsonl"
    other = RejectsFile(held)  # the other run, which refuses someone meanwhile
    other.write(9, ["not JSON"], "{", "validation")
    other.flush()
    try:
        with serve() as server:
            result = seed(path, server, "--skip-invalid")
            assert server.stats()["total"] == 0
    finally:
        assert other.finish() == str(held)
    assert result.exit_code == 1, result.output
    assert result.stderr.endswith(
        f"\nError: the rejects file {held} is in use by another seeding run (`seed` or `apply "
        "--seeds` of the same seed file, or one with the same --rejects): wait for it to "
        "finish, or, with `reconciler seed`, name another file with --rejects\n"
    )
    assert [entry["line"] for entry in rejects(held)] == [9]  # the other run's, intact


def test_a_finished_checkpoint_makes_a_rerun_send_nothing(serve: Serve, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "seeds.csv", users(500))
    checkpoint = tmp_path / "seeds.checkpoint"
    with serve() as server:
        first = seed(path, server, "--checkpoint", checkpoint)
        second = seed(path, server, "--checkpoint", checkpoint, "--format", "json")
        third = seed(path, server, "--checkpoint", checkpoint)
        assert sent(server) == 5
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert report["batches"] == {"total": 5, "sent": 0, "skipped": 5}
    assert report["users"]["already_sent"] == 500
    # No average of nothing, and no peak that never happened.
    assert re.search(r"rate: +nothing was sent \(--rate \S+, under 80% used\)\n", third.stdout)


def test_a_checkpoint_of_another_file_is_refused_before_sending(
    serve: Serve, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "seeds.checkpoint"
    first = write_jsonl(tmp_path / "first.jsonl", users(200))
    other = write_jsonl(tmp_path / "other.jsonl", users(200, start=200))
    with serve() as server:
        assert seed(first, server, "--checkpoint", checkpoint).exit_code == 0
        result = seed(other, server, "--checkpoint", checkpoint)
        assert sent(server) == 2
    assert result.exit_code == 1
    assert f"{checkpoint} belongs to another input: it was written for {first}" in result.stderr
    assert "Use a new --checkpoint file" in result.stderr


def test_wrong_credentials_are_one_paragraph_naming_the_settings(
    serve: Serve, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(3000))
    wrong_secret = "not-the-secret"
    with serve() as server:
        result = seed(path, server, "--concurrency", "2", MPARTICLE_API_SECRET=wrong_secret)
        # A 403 is not about the users: no new batch starts after it.
        assert 1 <= sent(server) <= 2
    assert result.exit_code == 1
    assert "the Seeding API refused the credentials (HTTP 403" in result.stderr
    assert "MPARTICLE_API_KEY and MPARTICLE_API_SECRET" in result.stderr
    assert "Traceback" not in result.output
    assert wrong_secret not in result.output


def test_wrong_credentials_of_an_environment_name_its_variables(
    serve: Serve, tmp_path: Path
) -> None:
    directory = tmp_path / "m"
    shutil.copytree(MANIFESTS, directory)
    (directory / "reconciler.yaml").write_text(
        "default_environment: prod\nenvironments:\n  prod: {workspace_id: 1234}\n"
    )
    path = write_jsonl(tmp_path / "seeds.jsonl", users(10))
    wrong_secret = "not-the-secret"
    with serve() as server:
        env = cli_env(
            server,
            MPARTICLE_API_KEY="",
            MPARTICLE_API_SECRET="",
            MPARTICLE_PROD_API_KEY=API_KEY,
            MPARTICLE_PROD_API_SECRET=wrong_secret,
        )
        result = run_cli("seed", path, directory, env=env)
    assert result.exit_code == 1
    assert "the Seeding API refused the credentials (HTTP 403" in result.stderr
    assert "set MPARTICLE_PROD_API_KEY and MPARTICLE_PROD_API_SECRET to the key" in result.stderr
    # Without Platform API credentials the CAs are not checked: the message says which to set.
    assert "MPARTICLE_PROD_CLIENT_ID and MPARTICLE_PROD_CLIENT_SECRET (or " in result.stderr
    assert "Traceback" not in result.output
    assert wrong_secret not in result.output


def test_seeding_the_real_target_needs_the_workspace_credentials(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", [user(1)])
    result = run_cli("seed", path, MANIFESTS, env={"RECONCILER_TARGET": "mparticle"})
    assert result.exit_code == 1
    assert "set MPARTICLE_API_KEY and MPARTICLE_API_SECRET" in result.stderr


def test_an_unreachable_server_stops_with_how_to_resume(serve: Serve, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(300))
    checkpoint = tmp_path / "seeds.checkpoint"
    with serve() as server:
        server.kill()
        result = seed(path, server, "--checkpoint", checkpoint, RECONCILER_RETRY_ATTEMPTS="2")
    assert result.exit_code == 1
    assert "seeding stopped: the connection was refused" in result.stderr
    assert "0 of 3 batches are confirmed" in result.stderr
    assert f"Resume with: reconciler seed {path} {MANIFESTS} --checkpoint {checkpoint}" in (
        result.stderr.replace("\n", " ")
    )


def test_the_api_secret_is_in_no_output_log_rejects_or_checkpoint(
    serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciler")
    bodies: list[Any] = list(users(250))
    bodies[3]["calculated_attributes"]["workspace"][0]["seed"]["value"] = "lots"
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    checkpoint = tmp_path / "seeds.checkpoint"
    with serve() as server:
        server.refuse_seeds(bodies[7]["mpid"])
        result = run_cli(
            "--debug", "seed", path, MANIFESTS, "--skip-invalid", "--checkpoint", checkpoint,
            env=cli_env(server),
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "POST" in caplog.text, "--debug traced the requests"
    token = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
    written = [
        result.output,
        caplog.text,
        checkpoint.read_text(),
        (tmp_path / "seeds.jsonl.rejects.jsonl").read_text(),
    ]
    assert len(written[3].splitlines()) == 2
    for text in written:
        assert API_SECRET not in text
        assert token not in text


def test_csv_problems_name_the_column(serve: Serve, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "seeds.csv", users(20))
    text = path.read_text().splitlines()
    cells = text[5].split(",")
    cells[4] = "lots"  # LTV
    text[5] = ",".join(cells)
    path.write_text("\n".join(text) + "\n")
    with serve() as server:
        result = seed(path, server)
        assert server.stats()["total"] == 0
    assert result.exit_code == 1
    assert 'seeds.csv:6: LTV: Seed value must be numeric, not "lots"' in result.stderr
    assert 'LTV: Seed value must be numeric, not "lots"' in quotes(DOCS / "seeding.md")


@pytest.mark.parametrize(
    ("header", "row", "said"),
    [
        ("email,LTV", ",5", "its `email` cell is empty"),
        ("mpid,email,customer_id,LTV", ",,,5", "its `mpid`, `email` and `customer_id` cells"),
    ],
)
def test_a_csv_row_that_finds_no_user_names_its_identity_columns(
    tmp_path: Path, header: str, row: str, said: str
) -> None:
    """A CSV has no `identities`, yet such a row was told it "needs `mpid` or a non-empty
    `identities`", at a column `mpid` the file may not have."""
    path = tmp_path / "b.csv"
    path.write_text(f"{header}\n{row}\n")
    result = run_cli("seed", path, MANIFESTS, "--environment", "production", "--dry-run")
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.stderr.splitlines() if "b.csv:2:" in line]
    assert line.startswith(f"  {path}:2: no identity to find the user: {said}"), line
    assert line.endswith(
        "a row needs `mpid` or an identity type column (customer_id, email, ...) filled"
    )
    assert "identities" not in result.stderr
    documented = quotes(DOCS / "seeding.md")
    assert "no identity to find the user: its `email` cell is empty; a row needs" in documented


def test_an_unknown_csv_column_is_one_header_error_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "seeds.csv"
    path.write_text("mpid,LVT,Average Order Value.sum\n1,2,3\n")
    result = run_cli("seed", path, MANIFESTS, "--dry-run")
    assert result.exit_code == 1
    assert "2 problems in the CSV header of" in result.stderr
    assert "seeds.csv:1: LVT: unknown column; did you mean `LTV`?" in result.stderr
    assert "LVT: unknown column; did you mean `LTV`?" in quotes(DOCS / "seeding.md")
    assert "needs both Average Order Value.sum and Average Order Value.count" in result.stderr


def test_environment_comes_from_the_flag_when_records_have_none(
    serve: Serve, tmp_path: Path
) -> None:
    bodies = list(users(10))
    for body in bodies:
        del body["environment"]
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    with serve() as server:
        missing = seed(path, server)
        given = seed(path, server, "--environment", "production")
        stored = server.seeds()["users"]
    assert missing.exit_code == 1
    assert "no line has an `environment` member (all 10 lines of users lack it)" in " ".join(
        missing.stderr.split()
    )
    assert given.exit_code == 0, given.output
    assert {user["environment"] for user in stored} == {"production"}


def test_a_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("seed", tmp_path / "nope.jsonl", MANIFESTS, "--dry-run")
    assert result.exit_code == 1
    assert f"cannot read the seed file {tmp_path / 'nope.jsonl'}: No such file" in result.stderr
    # In a folder that is not there either: the seed file is named, not the rejects file
    # whose default path is beside it (which no one passed).
    lost = tmp_path / "nodir" / "x.jsonl"
    for dry in ([], ["--dry-run"]):
        result = run_cli("seed", lost, MANIFESTS, *dry)
        assert result.exit_code == 1
        assert result.stderr.endswith(
            f"\nError: cannot read the seed file {lost}: No such file or directory\n"
        )
        assert "--rejects" not in result.stderr


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["seed", "", MANIFESTS, "--dry-run"], "FILE"),
        (["plan", MANIFESTS, "--seeds", ""], "--seeds"),
    ],
)
def test_an_empty_seed_file_argument_is_a_user_error(command: list[str | Path], named: str) -> None:
    # `''` is the current directory to pathlib, which has no name to put the rejects file
    # beside: found by the junk-flags fuzz, once a crash ("this is a bug"); then said as
    # `the seed file . is not a file`, of a `.` no one typed. Now refused as it is typed.
    result = run_cli(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        f"Error: Invalid value for '{named}': '' names no file or folder\n"
    ), result.stderr


@pytest.mark.parametrize(
    "command", [["seed", ".", MANIFESTS, "--dry-run"], ["plan", MANIFESTS, "--seeds", "."]]
)
def test_the_current_folder_as_seed_file_is_a_user_error(command: list[str | Path]) -> None:
    """`seed .`: what `seed ''` was read as (the assertion the test above made before an
    empty path was refused), still refused by name."""
    result = run_cli(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == "Error: the seed file . is not a file"


def test_the_embedded_emulator_takes_seeds_once_apply_created_the_cas(tmp_path: Path) -> None:
    directory = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, directory)
    path = write_jsonl(tmp_path / "seeds.jsonl", users(250))
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    # The embedded emulator has mParticle's default limit (270 users/s over 10 s): 250
    # users fit in one window, so a rate above the default wastes no one's budget.
    result = run_cli("seed", path, directory, "--format", "json", "--rate", "2700")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["target"] == "the embedded emulator (workspace 1234)"
    assert report["rate"]["rate_limited"] == 0
    assert report["users"]["sent"] == 250
    # docs/seeding.md shows the summary with every key it has, nested as it is.
    ((_, shown),) = blocks("## Output and exit codes", DOCS / "seeding.md")
    documented = json.loads(shown)
    assert keys(documented) == keys({**report, "cas": {"LTV": report["cas"]["LTV"]}})


def keys(value: object) -> object:
    """The keys of a JSON object, nested, without the values."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    return None


@pytest.mark.parametrize(
    ("flag", "value", "accepted"),
    [
        ("--rate", "0.005", False),
        ("--rate", "20000000", False),
        ("--rate", "0.01", True),
        ("--rate-ceiling", "0.005", False),
        ("--rate-ceiling", "101", False),
        ("--rate-ceiling", "0.5", True),
    ],
)
def test_the_rate_flags_take_the_range_the_readme_and_the_environment_take(
    tmp_path: Path, flag: str, value: str, accepted: bool
) -> None:
    """README: seed rate 0.01-10000000 users/s, ceiling 0.01-100%, as RECONCILER_SEED_RATE
    and RECONCILER_SEED_RATE_CEILING enforce them."""
    path = write_jsonl(tmp_path / "seeds.jsonl", users(3))
    result = run_cli("seed", path, MANIFESTS, "--dry-run", flag, value)
    if accepted:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1, result.output
        assert f"Invalid value for '{flag}'" in result.stderr
        assert "Traceback" not in result.output


def test_outputs_never_overwrite_the_input(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(3))
    before = path.read_bytes()
    for flag in ("--rejects", "--checkpoint"):
        result = run_cli("seed", path, MANIFESTS, flag, path, "--skip-invalid")
        assert result.exit_code == 1
        assert f"{flag} and FILE name the same file" in result.stderr
    assert path.read_bytes() == before


def test_rejects_never_replaces_or_removes_another_file(serve: Serve, tmp_path: Path) -> None:
    """`--rejects` naming a manifest deleted it after a clean run; `--rejects DIR` crashed."""
    path = write_jsonl(tmp_path / "seeds.jsonl", users(50))
    directory = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, directory)
    with serve() as server:
        env = cli_env(server)
        for other in sorted(directory.glob("*.yaml")):
            before = other.read_bytes()
            result = run_cli("seed", path, directory, "--rejects", other, env=env)
            assert result.exit_code == 1, result.output
            assert f"--rejects {other} exists and is not a rejects file" in result.stderr
            assert other.read_bytes() == before
        result = run_cli("seed", path, directory, "--rejects", tmp_path, env=env)
        assert result.exit_code == 1, result.output
        assert f"--rejects {tmp_path} is a directory" in result.stderr
        assert "bug" not in result.output
        assert sent(server) == 0
        earlier = tmp_path / "old.rejects.jsonl"
        kept = b'{"line":3,"errors":["x"],"record":{},"stage":"validation"}\n'
        earlier.write_bytes(kept)
        result = run_cli("seed", path, directory, "--rejects", earlier, env=env)
        assert result.exit_code == 0, result.output
        assert sent(server) > 0
    assert earlier.read_bytes() == kept
    assert f"{earlier} holds the rejects of an earlier run" in result.stderr


def test_a_run_stopped_by_invalid_users_does_not_say_it_refused_no_one(tmp_path: Path) -> None:
    """A rejects file of an earlier run beside a file with invalid users: the warning said
    "this run refused no one" right above "2 invalid user(s) ...; nothing was sent"."""
    bodies: list[Any] = list(users(3))
    for index in (0, 2):
        bodies[index]["calculated_attributes"]["workspace"][0]["seed"]["value"] = "lots"
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    earlier = tmp_path / "seeds.jsonl.rejects.jsonl"
    kept = b'{"line":3,"errors":["x"],"record":{},"stage":"validation"}\n'
    earlier.write_bytes(kept)
    result = run_cli("seed", path, MANIFESTS)
    assert result.exit_code == 1, result.output
    assert "2 invalid user(s) in the seed file; nothing was sent" in result.stderr
    assert "refused no one" not in result.stderr
    assert (
        f"Warning: {earlier} holds the rejects of an earlier run, not of this one, which "
        "stopped before writing any; it was left as it was"
    ) in result.stderr.replace("\n", " ")
    assert earlier.read_bytes() == kept


def test_a_rejects_path_that_cannot_be_created_is_refused_before_sending(
    serve: Serve, tmp_path: Path
) -> None:
    """`--rejects` below a file, or in a missing folder, ended in "unexpected
    NotADirectoryError ... This is a bug" (exit 3) at the first refused user."""
    bodies: list[Any] = list(users(5))
    bodies[1]["calculated_attributes"]["workspace"][0]["seed"]["value"] = "lots"
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    (tmp_path / "file").write_text("x")
    refused = {
        tmp_path / "file" / "r.jsonl": f"{tmp_path / 'file'} is a file, not a directory",
        tmp_path / "missing" / "r.jsonl": f"no such directory {tmp_path / 'missing'}",
    }
    with serve() as server:
        for rejects, why in refused.items():
            result = run_cli(
                "seed", path, MANIFESTS, "--skip-invalid", "--rejects", rejects,
                env=cli_env(server),
            )  # fmt: skip
            assert result.exit_code == 1, result.output
            assert f"Error: --rejects {rejects}: {why}\n" in result.stderr
        assert sent(server) == 0
    assert not (tmp_path / "missing").exists()


def test_a_stray_quote_in_a_csv_stops_the_run_where_it_is(serve: Serve, tmp_path: Path) -> None:
    """One unbalanced quote made every following row one cell: 10 of 13 users were lost
    and the run exited 0."""
    rows = [f"{1000 + n},development,{n}.5\n" for n in range(13)]
    rows[2] = rows[2].replace(",2.5", ',"2.5')
    path = tmp_path / "seeds.csv"
    path.write_text("mpid,environment,LTV\n" + "".join(rows))
    with serve() as server:
        result = seed(path, server)
        assert server.stats()["total"] == 0
    assert result.exit_code == 1
    assert "the seed file cannot be read; nothing was sent:" in result.stderr
    assert "seeds.csv:4: LTV: a quote opened here is never closed" in result.stderr


def test_seeds_over_100_values_warn_that_mparticle_keeps_the_first_100(tmp_path: Path) -> None:
    bodies = list(users(3))
    for index in (0, 2):
        bodies[index]["calculated_attributes"]["workspace"].append(
            {"attribute_name": "Screens Visited", "seed": {"list": [f"s{n}" for n in range(120)]}}
        )
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    result = run_cli("seed", path, MANIFESTS, "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        'CA "Screens Visited" (unique_list): 2 user(s) seed more than 100 distinct values; '
        "mParticle keeps only the first 100 it receives and drops the rest"
    ) in result.stderr.replace("\n", " ")


def test_a_csv_row_with_every_cell_empty_has_nothing_to_send(serve: Serve, tmp_path: Path) -> None:
    """Such a row was refused as "nothing to seed", and with it the whole file: it is a
    user with no value to send, counted and skipped."""
    path = write_csv(tmp_path / "seeds.csv", users(5))
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    identity = 4  # mpid, customer_id, email, environment; then the CAs and attributes
    rows[3] = rows[3][:identity] + [""] * (len(rows[0]) - identity)
    with path.open("w", newline="") as file:
        csv.writer(file).writerows(rows)
    with serve() as server:
        result = seed(path, server, "--format", "json")
        assert server.seeds(limit=0)["count"] == 4
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["users"]["nothing_to_send"] == 1
    assert (report["users"]["valid"], report["users"]["sent"]) == (4, 4)
    text = run_cli("seed", path, MANIFESTS, "--dry-run")
    assert "5 read, 4 valid, 1 with nothing to send (no value in the row)" in text.stdout


def test_skip_invalid_with_every_user_refused_is_an_error_not_done(
    serve: Serve, tmp_path: Path
) -> None:
    """README and docs/seeding.md: with --skip-invalid, refused users do not fail the run,
    as long as some user was seeded; a run that seeded no one is an error, and its
    summary never says "Done: 0 user(s) seeded." above it."""
    bodies = [{**body, "mpid": 1000 + index} for index, body in enumerate(users(3))]
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    with serve() as server:
        server.refuse_seeds(*(body["mpid"] for body in bodies))
        result = seed(path, server, "--skip-invalid")
        assert server.seeds(limit=0)["count"] == 0
    assert result.exit_code == 1
    assert "Done:" not in result.stdout
    assert "Error: no user was seeded: 3 user(s) were refused and none landed" in result.stderr


def test_a_dry_run_in_which_every_user_is_invalid_is_an_error(serve: Serve, tmp_path: Path) -> None:
    """As the real run would be (`--skip-invalid` and no user seeded: exit 1)."""
    bodies = [{**body, "mpid": "not a number"} for body in users(3)]
    path = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    with serve() as server:
        result = seed(path, server, "--skip-invalid", "--dry-run")
        assert server.stats()["total"] == 0
    assert result.exit_code == 1, result.output
    assert result.stderr.endswith(
        "Error: no user would be seeded: all 3 user(s) are invalid (listed above)\n"
    )


@pytest.mark.parametrize("set_by_user", [True, False])
def test_a_deadline_set_for_seed_bounds_the_whole_run_not_each_of_its_clients(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, set_by_user: bool
) -> None:
    """The check of the workspace and the sending are two clients, and each counted its own
    RECONCILER_DEADLINE from its start: 600 s allowed 600 for each. One deadline now, the
    run's; without one set, the check keeps its default and the sending has none."""
    made = recorded_deadlines(monkeypatch)
    path = write_jsonl(tmp_path / "seeds.jsonl", users(20))
    extra = {"RECONCILER_DEADLINE": "600"} if set_by_user else {}
    with serve() as server:
        result = run_cli("seed", path, MANIFESTS, env={**platform_env(server), **extra})
    assert result.exit_code == 0, result.output
    assert len(made) == 2  # the check, then the sending
    if set_by_user:
        assert made[0] is made[1]
        assert made[0].seconds == 600
    else:
        assert [deadline.seconds for deadline in made] == [1800, None]


def test_a_checkpoint_from_before_a_missing_ca_was_applied_says_so(tmp_path: Path) -> None:
    """The users of a CA the workspace lacked were left out of the batches: once it is
    applied, the checkpoint is another batching's. It was refused as "written for other
    manifests ... Re-run with the manifests as they were", though no manifest changed."""
    directory = write_manifests(tmp_path / "m", [ca("Kept", PURCHASES), ca("Later", PURCHASES)])
    embedded = {"RECONCILER_SEED_RATE": "1000000", "NO_COLOR": "1"}
    only_kept = run_cli("apply", directory, "--auto-approve", "--only", "Kept", env=embedded)
    assert only_kept.exit_code == 0, only_kept.output
    path = write_jsonl(
        tmp_path / "seeds.jsonl",
        [
            {
                "environment": "development",
                "mpid": 1000 + index,
                "calculated_attributes": {
                    "workspace": [{"attribute_name": name, "seed": {"value": index}}]
                },
            }
            for index, name in enumerate(["Kept", "Later"] * 5)
        ],
    )
    checkpoint = tmp_path / "seeds.checkpoint"
    args = ("seed", path, directory, "--skip-invalid", "--checkpoint", checkpoint)
    first = run_cli(*args, env=embedded)
    assert first.exit_code == 0, first.output
    assert "5 rejected" in first.stdout
    assert run_cli("apply", directory, "--auto-approve", env=embedded).exit_code == 0
    again = run_cli(*args, env=embedded)
    assert again.exit_code == 1, again.output
    assert (
        f"Error: {checkpoint} was written while the workspace would not take the seeds of "
        "other CAs (then: Later; now: none), whose users its batches left out: a CA was "
        "applied or changed in the workspace since. Delete the checkpoint to start over "
        "(seeds overwrite, so sending again is safe)"
    ) in " ".join(again.stderr.split())
    checkpoint.unlink()
    fresh = run_cli(*args, env=embedded)
    assert fresh.exit_code == 0, fresh.output
    assert "10 sent" in fresh.stdout


def test_force_color_draws_no_live_bars_into_a_log(tmp_path: Path) -> None:
    # FORCE_COLOR=1, which many CI workflows set for every tool's colours, made rich take
    # the log for a terminal: `seed` drew its bars there, redrawn ten times a second with
    # carriage returns and cursor codes (a line of megabytes in a long seed's log).
    path = write_jsonl(tmp_path / "seeds.jsonl", users(50))
    result = run_cli("seed", path, MANIFESTS, "--dry-run", env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "50 valid" in result.stdout
    assert "\r" not in result.stderr
    assert "\x1b[?25l" not in result.stderr  # the cursor hidden for a bar


def test_without_a_terminal_a_long_seed_says_how_far_it_came_once_a_minute() -> None:
    # Without a TTY (a CI log) `seed` wrote nothing between its last pacing announcement
    # and its summary: 50,000 users at 100/s were 8 silent minutes, 100,000 users more
    # than the 10 minutes after which CircleCI or Travis stop a job that writes nothing.

    now = [0.0]
    log = io.StringIO()
    progress = _Progress(Output(stdout=io.StringIO(), stderr=log), Heartbeat(60, lambda: now[0]))
    for second in range(0, 30, 10):  # validating, 30 s of a 3 MB file
        now[0] = second
        progress.reading(second * 100_000, 3_000_000)
    progress.sending(50_000, 1_000)
    for second in range(30, 600, 1):  # 100 users a second
        now[0] = second
        progress.confirmed(100)
    lines = log.getvalue().splitlines()
    assert lines[0] == "sending: 4,100 of 50,000 users confirmed (8%)"  # at 60 s
    assert lines[1] == "sending: 10,100 of 50,000 users confirmed (20%)"  # at 120 s
    assert len(lines) == 9  # one a minute, no more
    assert "\r" not in log.getvalue()


def test_without_a_terminal_a_long_validation_says_how_far_it_came() -> None:

    now = [0.0]
    log = io.StringIO()
    progress = _Progress(Output(stdout=io.StringIO(), stderr=log), Heartbeat(60, lambda: now[0]))
    for second in range(0, 150, 5):
        now[0] = second
        progress.reading(second * 10_000_000, 2_000_000_000)
    assert log.getvalue().splitlines() == [
        "validating: 600.0 of 2,000.0 MB read (30%)",
        "validating: 1,200.0 of 2,000.0 MB read (60%)",
    ]


def test_the_summary_names_the_first_few_cas_waited_for() -> None:
    # The summary's "waited:" line named every CA the Seeding API did not know yet.
    report = SeedReport(file="seeds.jsonl", format="jsonl", dry_run=False)
    report.propagation_retries = 12
    report.propagation_waited = [f"CA {n:03}" for n in range(400)]
    waited = [line for line in summary(report) if line.startswith("  waited:")]
    assert waited == [
        "  waited:   12 tries sent again while the Seeding API did not know "
        + ", ".join(f'"CA {n:03}"' for n in range(10))
        + " and 390 more"
    ]


def _over_the_limits(path: Path) -> Path:
    """Five users: 1 and 5 within mParticle's user attribute limits (exactly at them), 2
    with a value of 4,097 characters, 3 with a name of 5,000, 4 with 101 attributes."""
    lines: list[Any] = list(users(5))
    at_limit = [{"attribute_name": "n" * 256, "attribute_value": "v" * 4096}]
    lines[0]["user_attributes"]["workspace"] = at_limit
    lines[1]["user_attributes"]["workspace"] = [
        {"attribute_name": "Bio", "attribute_value": "v" * 4097}
    ]
    lines[2]["user_attributes"]["workspace"] = [
        {"attribute_name": "N" * 5000, "attribute_value": "gold"}
    ]
    lines[3]["user_attributes"]["workspace"] = [
        {"attribute_name": f"a{n}", "attribute_value": "x"} for n in range(101)
    ]
    lines[4]["user_attributes"]["workspace"] = [
        {"attribute_name": f"a{n}", "attribute_value": "x"} for n in range(100)
    ]
    return write_jsonl(path, lines)


LIMIT_ERRORS = [
    (
        2,
        'user_attributes.workspace[0].attribute_value: "Bio": the value is 4,097 characters '
        "long; mParticle takes user attribute values of at most 4,096 characters",
    ),
    (
        3,
        f'user_attributes.workspace[0].attribute_name: "{"N" * 60}"...: the name is 5,000 '
        "characters long; mParticle takes user attribute names of at most 256 characters",
    ),
    (
        4,
        "user_attributes.workspace: 101 user attributes; mParticle takes at most 100 per user",
    ),
]


def test_a_dry_run_names_each_user_attribute_over_mparticles_limits(tmp_path: Path) -> None:
    """The default service limits page ("Incoming Event Batches"): a value over a limit
    does not land as written, and in a bulk request it may fail every user of it."""
    path = _over_the_limits(tmp_path / "seeds.jsonl")
    result = run_cli("seed", path, MANIFESTS, "--dry-run")
    assert result.exit_code == 1
    assert "3 invalid user(s) in the seed file; nothing was sent:" in result.stderr
    for line, error in LIMIT_ERRORS:
        assert f"{path}:{line}: {error}" in result.stderr
    assert "N" * 61 not in result.output  # the name is never quoted whole
    assert "v" * 4097 not in result.output


def test_a_csv_names_the_column_of_a_user_attribute_over_the_limits(tmp_path: Path) -> None:
    path = tmp_path / "seeds.csv"
    name = "N" * 300
    path.write_text(
        f"mpid,environment,LTV,user_attributes.Bio,user_attributes.{name}\n"
        f"1,development,1,{'v' * 4096},\n"
        f"2,development,1,{'v' * 4097},\n"
        "3,development,1,,gold\n",
        encoding="utf-8",
    )
    result = run_cli("seed", path, MANIFESTS, "--dry-run")
    assert result.exit_code == 1
    assert "2 invalid user(s) in the seed file; nothing was sent:" in result.stderr
    assert (
        f"{path}:3: user_attributes.Bio: the value is 4,097 characters long; mParticle takes "
        "user attribute values of at most 4,096 characters"
    ) in result.stderr
    assert (
        f"{path}:4: user_attributes.{'N' * 64}... (316 characters): the name is 300 "
        "characters long; mParticle takes user attribute names of at most 256 characters"
    ) in result.stderr
    assert "N" * 65 not in result.output


def test_skip_invalid_never_sends_a_user_over_the_limits(serve: Serve, tmp_path: Path) -> None:
    path = _over_the_limits(tmp_path / "seeds.jsonl")
    bodies = list(users(5))
    with serve() as server:
        result = seed(path, server, "--skip-invalid", "--format", "json")
        requested = [entry["seeds"]["mpids"] for entry in server.log() if "seeds" in entry]
        stored = server.seeds()["users"]
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["users"]["sent"] == 2
    assert report["users"]["rejected"] == {"invalid": 3, "server": 0, "missing_ca": 0}
    written = rejects(tmp_path / "seeds.jsonl.rejects.jsonl")
    assert [(entry["line"], entry["stage"]) for entry in written] == [
        (line, "validation") for line, _ in LIMIT_ERRORS
    ]
    for entry, (_, error) in zip(written, LIMIT_ERRORS, strict=True):
        assert entry["errors"][0].startswith(error)
    # Never in a request (not sent and refused): one request, holding the two valid users.
    assert requested == [[bodies[4]["mpid"]]]
    assert sorted(user_key(user) for user in stored) == sorted(
        user_key(bodies[index]) for index in (0, 4)
    )


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (588, "588 bytes"),
        (358_900, "358.9 KB"),
        (4_200_000, "4.2 MB"),
        (2_000_000_000, "2,000.0 MB"),
    ],
)
def test_the_summary_says_a_size_in_the_unit_that_shows_it(count: int, said: str) -> None:
    """The three users of manifests/seeds.jsonl were `0.0 MB` in a dry run and in the
    summary of a run that sent them: a size of nothing."""
    report = SeedReport(file="seeds.jsonl", format="jsonl", dry_run=True, bytes=count)
    assert f"({said}); nothing was sent." in "\n".join(summary(report))


def test_the_summary_speaks_of_a_checkpoint_only_when_the_run_has_one() -> None:
    """A run without --checkpoint said `0 skipped (confirmed in the checkpoint)`, as if it
    had one; a resumed run says how many of its batches the checkpoint confirmed."""
    report = SeedReport(file="seeds.jsonl", format="jsonl", dry_run=False)
    report.batches_total = report.batches_sent = 1
    assert "  batches:  1 total, 1 sent" in summary(report)
    report.checkpoint = "seeds.ckpt"
    assert "  batches:  1 total, 1 sent, 0 skipped (confirmed in the checkpoint)" in summary(report)


@pytest.mark.parametrize(("name", "text"), [("seeds.jsonl", ""), ("seeds.csv", "mpid,LTV\r\n")])
def test_a_file_with_no_user_says_so(serve: Serve, tmp_path: Path, name: str, text: str) -> None:
    """An empty export (no line, a CSV header alone) said only `Done: 0 user(s) seeded.`:
    a backfill that did nothing, with nothing to tell why. It is warned of (still exit 0:
    nothing was wrong with what the file holds)."""
    path = tmp_path / name
    path.write_text(text)
    with serve() as server:
        result = seed(path, server, "--format", "json")
        assert server.stats()["total"] == 0
    assert result.exit_code == 0, result.output
    warning = f"{path} holds no user (no line, or a CSV header alone): nothing to send"
    assert warning in " ".join(result.stderr.split())
    assert json.loads(result.stdout)["warnings"][0].startswith(warning)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_what_the_seeding_state_says_while_the_bars_draw_is_a_line_above_them_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `reconciler seed` tells the records of `apply --seeds` it overwrites (seedstate) once
    # the file is read, with the bars drawing: written past them, the line was torn by
    # their redraw, and a CA named with `[...]` must not be taken for rich markup.
    monkeypatch.setenv("TERM", "xterm-256color")  # not a dumb terminal, whatever runs this
    terminal = _Terminal()
    output = Output(stdout=io.StringIO(), stderr=terminal)
    assert output.live
    with _Progress(output) as progress:
        progress.reading(1, 10)
        progress.info('a.jsonl: its seeds of "LTV [beta]" are no longer taken as landed')
    said = terminal.getvalue()
    assert '\x1b[2Ka.jsonl: its seeds of "LTV [beta]" are no longer taken as landed\n' in said
