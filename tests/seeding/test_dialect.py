"""A seed file that is not comma-separated UTF-8 says so once, at its header's line: a
CSV split by `;` (as spreadsheets in many languages save one), a tab or `|`, and a UTF-16
file, whatever the number of rows."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from reconciler import manifest
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.columns import known_column
from reconciler.seeding.dialect import Unplaced, other_delimiter, without_environment
from tests.support.cli import Result, run_cli
from tests.support.readme import DOCS, quotes
from tests.support.seeds import MANIFESTS

CATALOGUE = Catalogue.from_manifests(manifest.load(MANIFESTS))
ROWS = 1000


def known(name: str) -> bool:
    return known_column(name, CATALOGUE)


def dry_run(path: Path, *args: str) -> Result:
    return run_cli("seed", path, MANIFESTS, "--dry-run", *args)


def said(result: Result) -> str:
    """stderr as one line: a long message may be wrapped to the terminal's width."""
    return " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("delimiter", "named", "decimal"),
    [(";", "semicolons (;)", True), ("\t", "tabs", False), ("|", "vertical bars (|)", False)],
    ids=["semicolon", "tab", "bar"],
)
def test_a_csv_of_another_delimiter_is_one_error_at_its_header(
    tmp_path: Path, delimiter: str, named: str, decimal: bool
) -> None:
    """Split on commas, `mpid;environment;LTV` is one unknown column: the file was said to
    have a header of `mpid;environment;LTV` and no identity column, with no word of why."""
    seeds = tmp_path / "seeds.csv"
    header = delimiter.join(["mpid", "environment", "LTV", "Average Order Value.sum"])
    rows = [delimiter.join([str(n), "production", "10", "2"]) for n in range(1, ROWS + 1)]
    seeds.write_text("\n".join([header, *rows]) + "\n")
    result = dry_run(seeds)
    assert result.exit_code == 1, result.output
    text = said(result)
    assert "Error: the seed file is not comma-separated; nothing was sent:" in text
    assert (
        f"seeds.csv:1: the header is separated by {named}, not commas: mpid, environment, "
        "LTV, Average Order Value.sum. Seed files are comma-separated CSV (RFC 4180): save "
        "or export it comma-separated"
    ) in text
    assert ("10.5, not 10,5" in text) is decimal
    documented = quotes(DOCS / "seeding.md")
    assert (
        "seeds.csv:1: the header is separated by semicolons (;), not commas: mpid, "
        "environment, LTV. Seed files are comma-separated CSV (RFC 4180): save or export it "
        "comma-separated, ..."
    ) in documented
    assert text.count("seeds.csv:") == 1
    assert "unknown column" not in text
    assert "Traceback" not in result.output


def test_a_semicolon_header_in_quotes_is_named_not_an_unreadable_quote(tmp_path: Path) -> None:
    """Quoted cells, as spreadsheets write them: `"mpid";"LTV"` failed the strict reading
    with `',' expected after '"'`, which says nothing of the semicolons."""
    seeds = tmp_path / "seeds.csv"
    seeds.write_bytes(codecs.BOM_UTF8 + b'\r\n"mpid" ; "LTV"\r\n' + b'"1";"10"\r\n' * ROWS)
    result = dry_run(seeds)
    assert result.exit_code == 1, result.output
    text = said(result)
    assert "seeds.csv:2: the header is separated by semicolons (;), not commas: mpid, LTV." in text
    assert "expected after" not in text


def test_a_utf16_file_is_one_error_not_garbage_or_one_per_line(tmp_path: Path) -> None:
    """A spreadsheet's "Unicode Text" is UTF-16: its header read as UTF-8 was a column
    named `\\xff\\xfem\\x00p\\x00...`, and a JSONL file so saved was an error per line."""
    for name, text in (
        ("seeds.csv", "mpid\tenvironment\tLTV\n1\tproduction\t10\n"),
        ("seeds.jsonl", '{"environment": "production", "mpid": 1}\n' * 3),
    ):
        seeds = tmp_path / name
        seeds.write_bytes(text.encode("utf-16"))
        result = dry_run(seeds)
        assert result.exit_code == 1, result.output
        assert "Error: the seed file is not UTF-8; nothing was sent:" in said(result)
        assert f"{name}:1: the file is UTF-16 text" in said(result)
        assert said(result).count(f"{name}:") == 1


@pytest.mark.parametrize(
    "header",
    [
        "mpid,environment,LTV",
        "mpid;x,environment,LTV",  # a comma split finds known columns: read as CSV
        "a;b;c",  # nothing known either way: the header's own problems are said
        "LTV",  # one column: nothing to split
        "",
    ],
)
def test_a_header_that_commas_explain_or_nothing_explains_is_left_to_the_reader(
    header: str,
) -> None:
    assert other_delimiter(header, known) is None


def test_the_delimiter_that_finds_most_columns_is_named() -> None:
    # `;` splits it into one known column, a tab into two.
    assert other_delimiter("mpid\tLTV;x\tOrders", known) == ("\t", ["mpid", "LTV;x", "Orders"])
    assert other_delimiter(" MPID ; Email ; LTV \r\n", known) == (";", ["MPID", "Email", "LTV"])


def test_a_jsonl_file_of_users_without_environment_is_one_error_at_its_first_user(
    tmp_path: Path,
) -> None:
    """1,000 lines with no `environment` and no --environment were 1,000 errors, each
    `environment: required`, as a CSV without the column was before its header said it."""
    seeds = tmp_path / "seeds.jsonl"
    line = '{"mpid": %d, "calculated_attributes": {"workspace": [{"attribute_name": "LTV", "seed": {"value": 10}}]}}\n'  # noqa: E501
    seeds.write_text("\n" + "".join(line % mpid for mpid in range(1, ROWS + 1)))
    result = dry_run(seeds)
    assert result.exit_code == 1, result.output
    text = said(result)
    assert "Error: the seed file gives its users no environment; nothing was sent:" in text
    assert (
        "seeds.jsonl:2: no line has an `environment` member (all 1,000 lines of users lack "
        "it), and no --environment: each user needs its environment (development or "
        'production). Add `"environment": "production"` (or "development") to each line, or '
        "give `reconciler seed` --environment for a file of one environment"
    ) in text
    assert text.count("seeds.jsonl:") == 1
    assert "required" not in text
    documented = quotes(DOCS / "seeding.md")
    assert "seeds.jsonl:1: no line has an `environment` member (all 1,000 lines ..." in documented
    given = dry_run(seeds, "--environment", "production")
    assert given.exit_code == 0, given.output
    assert "1,000 read, 1,000 valid" in given.stdout
    # A member meant as it is named: it was "unknown field `env`" on every line as well.
    meant = tmp_path / "meant.jsonl"
    meant.write_text(seeds.read_text().replace('{"mpid"', '{"env": "production", "mpid"'))
    named = said(dry_run(meant))
    assert (
        "meant.jsonl:2: no line has an `environment` member (all 1,000 lines of users lack it; "
        "did you mean `environment` for `env`?), and no --environment"
    ) in named
    assert named.count("meant.jsonl:") == 1
    # As a CSV with the column and some empty cells: the users that lack it, each at its line.
    with seeds.open("a") as more:
        more.write('{"environment": "production", "mpid": 1001}\n')
    some = said(dry_run(seeds))
    assert "seeds.jsonl:2: environment: required" in some
    assert "no line has" not in some


def test_without_environment_counts_users_and_stops_at_the_first_with_one(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_bytes(codecs.BOM_UTF8 + b'not json\n[1]\n{"mpid": 1}\n\n{"mpid": 2}\n')
    assert without_environment(seeds) == Unplaced(3, 2)
    seeds.write_text('{"mpid": 1, "Env": "production"}\n{"mpid": 2, "enviroment": "x"}\n')
    assert without_environment(seeds) == Unplaced(1, 2, "Env")
    seeds.write_text('{"mpid": 1, "enviroment": "production"}\n')
    assert without_environment(seeds) == Unplaced(1, 1, "enviroment")
    seeds.write_text('{"mpid": 1}\n{"environment": null}\nnot json\n')
    assert without_environment(seeds) is None
    seeds.write_text("not json\n")
    assert without_environment(seeds) is None


@pytest.mark.parametrize(
    ("column", "cell"),
    [("LTV", "1,5"), ("LTV", "1,500"), ("Orders", "1.234,5"), ("mpid", "-7,346")],
)
def test_a_number_written_with_a_comma_is_one_error_at_its_row_and_column(
    tmp_path: Path, column: str, cell: str
) -> None:
    """A comma CSV from a spreadsheet set to a language of decimal commas quotes `"1,5"`:
    each such row was refused (`Seed value must be numeric, not "1,5"`), 1,000 errors for
    1,000 rows, and none said why."""
    seeds = tmp_path / "seeds.csv"
    values = {"mpid": "7", "LTV": "10", "Orders": "2"}
    rows = ["mpid,environment,LTV,Orders,user_attributes.Tier,Average Order Value,Last Search Term"]
    # A comma in text or JSON is only a comma.
    rows.append('1,production,2,3,"1,5","{""sum"": 3, ""count"": 2}","1,5"')
    rows += [f"{n},production,10,2,Gold,,shoes" for n in range(2, 11)]
    values[column] = f'"{cell}"'
    rows += [f"{values['mpid']},production,{values['LTV']},{values['Orders']},Gold,,"] * ROWS
    seeds.write_text("\n".join(rows) + "\n")
    for args in ((), ("--skip-invalid",)):
        result = dry_run(seeds, *args)
        assert result.exit_code == 1, result.output
        text = said(result)
        assert "Error: the seed file writes numbers with commas; nothing was sent:" in text
        assert (
            f'seeds.csv:12: {column}: "{cell}" reads as a number with a decimal comma (as a '
            "spreadsheet set to a language that writes 1,5 for 1.5 exports it), but a comma "
            "may as well separate thousands (1,500): no number is guessed. This is the first "
            "such cell: export the file with decimal points and no thousands separators "
            "(1.5, 1500), or as JSONL"
        ) in text
        assert text.count("seeds.csv:") == 1
    seeds.write_text(seeds.read_text().replace(f'"{cell}"', "15"))
    assert dry_run(seeds).exit_code == 0
    documented = quotes(DOCS / "seeding.md")
    assert 'seeds.csv:12: LTV: "1,5" reads as a number with a decimal comma ...' in documented
