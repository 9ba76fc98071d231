"""The CSV convention: header columns to identities, seeds and user attributes; each row to
a user in the API's body shape; problems named by column."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import manifest
from reconciler.errors import SeedFileError
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.columns import CsvLayout, locate
from tests.support.cli import run_cli
from tests.support.readme import DOCS, quotes
from tests.support.seeds import MANIFESTS

CATALOGUE = Catalogue.from_manifests(manifest.load(MANIFESTS))


def layout(*header: str) -> CsvLayout:
    return CsvLayout.from_header(list(header), CATALOGUE, "seeds.csv")


def header_problems(*header: str) -> list[str]:
    with pytest.raises(SeedFileError) as raised:
        layout(*header)
    return [f"{issue.path}: {issue.message}" for issue in raised.value.issues]


def test_a_row_becomes_a_user_in_the_api_shape() -> None:
    columns = layout(
        "mpid",
        "email",
        "environment",
        "LTV",
        "Orders",
        "Average Order Value.sum",
        "Average Order Value.count",
        "First Seen",
        "Last Search Term",
        "Products Viewed",
        "Favorite Category",
        "Wishlist Adds",
        "Wishlist Adds.cutoff_date",
        "user_attributes.Tier",
    )
    cells = [
        "42",
        "a@example.com",
        "production",
        "100.5",
        "7",
        "299.2",
        "20",
        "1582589378000",
        "00123",
        '["p1", "p2"]',
        '{"ice cream": 10}',
        "3",
        "2025-02-01",
        "Free",
    ]
    user, origin, problems = columns.user(cells, 2)
    assert problems == []
    assert user == {
        "mpid": 42,
        "identities": {"email": "a@example.com"},
        "environment": "production",
        "calculated_attributes": {
            "workspace": [
                {"attribute_name": "LTV", "seed": {"value": 100.5}},
                {"attribute_name": "Orders", "seed": {"value": 7}},
                {
                    "attribute_name": "Average Order Value",
                    "seed": {"key_value_pairs": {"sum": 299.2, "count": 20}},
                },
                {"attribute_name": "First Seen", "seed": {"value": 1582589378000}},
                # first/last occurrence are text: leading zeros stay
                {"attribute_name": "Last Search Term", "seed": {"value": "00123"}},
                {"attribute_name": "Products Viewed", "seed": {"list": ["p1", "p2"]}},
                {
                    "attribute_name": "Favorite Category",
                    "seed": {"key_value_pairs": {"ice cream": 10}},
                },
                {
                    "attribute_name": "Wishlist Adds",
                    "seed": {"value": 3},
                    "cutoff_date": "2025-02-01",
                },
            ]
        },
        "user_attributes": {"workspace": [{"attribute_name": "Tier", "attribute_value": "Free"}]},
    }
    assert locate(
        ("calculated_attributes", "workspace", 2, "seed", "key_value_pairs", "count"), origin
    ) == ("Average Order Value.count")
    assert locate(("calculated_attributes", "workspace", 7, "cutoff_date"), origin) == (
        "Wishlist Adds.cutoff_date"
    )
    assert locate(("calculated_attributes", "workspace", 5, "seed", "list", 1), origin) == (
        "Products Viewed"
    )
    assert locate(("user_attributes", "workspace", 0, "attribute_value"), origin) == (
        "user_attributes.Tier"
    )


def test_an_empty_cell_means_no_seed_no_identity_no_attribute() -> None:
    columns = layout("mpid", "customer_id", "LTV", "Orders", "user_attributes.Tier")
    user, _, problems = columns.user(["", "c1", "", "3", " "], 2)
    assert problems == []
    assert user == {
        "identities": {"customer_id": "c1"},
        "calculated_attributes": {
            "workspace": [{"attribute_name": "Orders", "seed": {"value": 3}}]
        },
    }


def test_an_average_may_be_one_json_column() -> None:
    user, _, problems = layout("mpid", "Average Order Value").user(
        ["1", '{"sum": 3, "count": 2}'], 2
    )
    assert problems == []
    assert user["calculated_attributes"]["workspace"][0]["seed"] == {
        "key_value_pairs": {"sum": 3, "count": 2}
    }


def test_a_cell_that_is_not_the_json_it_should_be_names_its_column() -> None:
    columns = layout("mpid", "Products Viewed", "Favorite Category")
    _, _, problems = columns.user(["1", "[p1, p2]", "{bad"], 2)
    assert [column for column, _ in problems] == ["Products Viewed", "Favorite Category"]
    assert problems[0][1].startswith("not a JSON array")
    assert problems[1][1].startswith("not a JSON object")


def test_half_an_average_is_a_problem_of_the_empty_column() -> None:
    columns = layout("mpid", "Average Order Value.sum", "Average Order Value.count")
    _, _, problems = columns.user(["1", "3", ""], 2)
    assert problems == [
        ("Average Order Value.count", "is empty but the other half of Average Order Value is not")
    ]


def test_a_row_with_too_many_or_too_few_cells() -> None:
    _, _, problems = layout("mpid", "LTV").user(["1", "2", "3"], 2)
    assert problems == [("", "has 3 cells but the header has 2")]


def test_unknown_columns_get_a_suggestion() -> None:
    assert header_problems("mpid", "LVT", "emial", "user_attributes.", "Orders.sum") == [
        "LVT: unknown column; did you mean `LTV`?",
        "emial: unknown column; did you mean `email`?",
        "user_attributes.: names no user attribute: use user_attributes.<name>",
        "Orders.sum: `.sum` columns are for average CAs; Orders is count: name the column `Orders`",
    ]


def test_the_header_needs_an_identity_and_something_to_seed() -> None:
    assert header_problems("LTV") == [
        ": no identity column: add `mpid` or an identity type (customer_id, email, ...)"
    ]
    assert header_problems("mpid", "environment") == [
        ": no CA or user attribute column: nothing to seed"
    ]


def test_inconsistent_columns_of_one_ca() -> None:
    assert header_problems(
        "mpid", "Average Order Value", "Average Order Value.sum", "Average Order Value.count"
    ) == [
        "Average Order Value: give Average Order Value either as one JSON column or as "
        "Average Order Value.sum and Average Order Value.count, not both"
    ]
    assert header_problems("mpid", "LTV", "Orders.cutoff_date") == [
        "Orders.cutoff_date: there is no seed column for Orders"
    ]
    assert header_problems("mpid", "LTV", "LTV", " ") == [
        "LTV: appears twice",
        "column 4: has no name",
    ]


def test_header_errors_are_one_error_at_line_one() -> None:
    with pytest.raises(SeedFileError) as raised:
        layout("mpid", "LVT", "Ordes")
    message = raised.value.message
    assert message.startswith("2 problems in the CSV header of seeds.csv; nothing was sent")
    assert "seeds.csv:1: LVT: unknown column; did you mean `LTV`?" in message
    assert "seeds.csv:1: Ordes: unknown column; did you mean `Orders`?" in message


def test_a_row_as_a_record_for_the_rejects_file() -> None:
    columns = layout("mpid", "LTV")
    assert columns.record(["1", "x"]) == {"mpid": "1", "LTV": "x"}
    assert columns.record(["1", "x", "extra"]) == {"mpid": "1", "LTV": "x", "column 3": "extra"}


def test_an_integer_beyond_64_bits_is_an_invalid_user_named_by_its_column(
    tmp_path: Path,
) -> None:
    seeds = tmp_path / "seeds.csv"
    big = "9" * 400  # beyond a float, too
    seeds.write_text(
        f"mpid,environment,LTV\n5,development,-9223372036854775809\n6,development,{big}\n"
    )
    result = run_cli("seed", seeds, MANIFESTS, "--dry-run")
    # It crashed (TypeError) encoding the user for sending: orjson takes 64-bit integers.
    assert result.exit_code == 1, result.output
    for line in (2, 3):
        assert f"seeds.csv:{line}: LTV: an integer beyond the 64-bit range" in result.stderr


@pytest.mark.parametrize(
    ("header", "cells"),
    [
        ("mpid,environment,Wishlist Adds", "3"),
        ("mpid,environment,Wishlist Adds,Wishlist Adds.cutoff_date", "3,2025-02-01"),
    ],
    ids=["no-cutoff-column", "cutoff-column"],
)
def test_a_ca_that_can_take_no_seeds_is_one_error_not_one_per_row(
    tmp_path: Path, header: str, cells: str
) -> None:
    """A CA whose manifest has no cutoff: 1,000 rows said `required` 1,000 times (or, with
    a `.cutoff_date` column, passed to be refused by the preflight, the workspace's
    definition having no cutoff either). It is one error naming the manifest's line, and
    the rows' own problems are still each said."""
    seeds = tmp_path / "seeds.csv"
    rows = [f"{mpid},development,{cells}" for mpid in range(5, 1005)]
    rows[500] = rows[500].replace("3", "lots", 1).replace("505,", "x,", 1)
    seeds.write_text(header + "\n" + "\n".join(rows) + "\n")
    result = run_cli("seed", seeds, MANIFESTS, "--dry-run")
    assert result.exit_code == 1, result.output
    assert result.stderr.count("can take no seeds") == 1, result.stderr
    assert (
        'seeds.csv: CA "Wishlist Adds" (seeded by 1,000 user(s), the first at line 2) can '
        f"take no seeds: its manifest ({MANIFESTS / 'unseedable.yaml'}:11) has no "
        "seeding.cutoff_date, and mParticle takes seeds only for a CA defined with one: add "
        "seeding.cutoff_date to it and apply (`reconciler apply`), then seed"
    ) in result.stderr
    assert "seeds.csv:502: mpid: must be an integer" in result.stderr
    assert "seeds.csv:502: Wishlist Adds: Seed value must be numeric" in result.stderr
    assert "more" not in result.stderr


def test_no_environment_column_is_one_header_error_when_no_flag_gives_one(
    tmp_path: Path,
) -> None:
    """Without the column and --environment, 1,000 rows were 1,000 errors, each saying
    `environment: required`; the header lacks it, so the header says so, once."""
    seeds = tmp_path / "seeds.csv"
    seeds.write_text("mpid,LTV\n" + "".join(f"{mpid},10\n" for mpid in range(1, 1001)))
    refused = run_cli("seed", seeds, MANIFESTS, "--dry-run")
    assert refused.exit_code == 1, refused.output
    text = " ".join(refused.stderr.split())
    assert "1 problem in the CSV header of" in text
    assert (
        "seeds.csv:1: no `environment` column, and no --environment: each user needs its "
        "environment (development or production). Add the column, or give `reconciler seed` "
        "--environment for a file of one environment (the columns: mpid, LTV)"
    ) in text
    assert "required" not in text
    documented = quotes(DOCS / "seeding.md")
    assert "seeds.csv:1: no `environment` column, and no --environment: ..." in documented
    assert "env: unknown column; did you mean `environment`?" in documented
    given = run_cli("seed", seeds, MANIFESTS, "--dry-run", "--environment", "production")
    assert given.exit_code == 0, given.output
    assert "1,000 read, 1,000 valid" in given.stdout


@pytest.mark.parametrize("near", ["env", "ENV", "Env"])
def test_a_column_meant_as_the_environment_gets_a_suggestion(near: str) -> None:
    """`env` is too short for a spelling distance to find `environment`: it was "unknown
    column; expected mpid, an identity type, environment, ..."."""
    needed = CsvLayout.from_header
    with pytest.raises(SeedFileError) as raised:
        needed(["mpid", near, "LTV"], CATALOGUE, "seeds.csv", needs_environment=True)
    # The unknown column names it; "no environment column" on top would say it twice.
    assert [f"{issue.path}: {issue.message}" for issue in raised.value.issues] == [
        f"{near}: unknown column; did you mean `environment`?"
    ]
    assert header_problems("mpid", near, "LTV") == [
        f"{near}: unknown column; did you mean `environment`?"
    ]
