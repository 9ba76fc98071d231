"""Reading seed files: JSONL and CSV edge cases, line numbers, and the content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconciler.errors import SeedFileError
from reconciler.seeding.reader import Record, SeedFile, detect


def read(path: Path) -> tuple[list[str] | None, list[Record]]:
    header, records = SeedFile(path).read()
    return header, list(records)


def test_jsonl_lines_keep_their_numbers_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    path.write_bytes(b'{"mpid": 1}\n\n   \n{"mpid": 2}\r\n{"mpid": 3}')
    header, records = read(path)
    assert header is None
    assert [(r.line, r.data) for r in records] == [
        (1, {"mpid": 1}),
        (4, {"mpid": 2}),
        (5, {"mpid": 3}),
    ]


def test_a_line_that_is_not_json_is_a_record_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    path.write_bytes(b'{"mpid": 1}\n{"mpid": \n[1, 2]\n\xff\xfe\n')
    _, records = read(path)
    assert records[0].error is None
    assert records[1].line == 2
    assert records[1].error is not None
    assert records[1].error.startswith("not valid JSON")
    assert records[1].data == '{"mpid":'
    assert records[2].data == [1, 2]  # JSON, though not a user: the validator says so
    assert records[3].error is not None  # not UTF-8


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    jsonl = tmp_path / "seeds.jsonl"
    jsonl.write_bytes(b'\xef\xbb\xbf{"mpid": 1}\n')
    assert read(jsonl)[1][0].data == {"mpid": 1}
    table = tmp_path / "seeds.csv"
    table.write_bytes(b"\xef\xbb\xbfmpid,LTV\n1,2\n")
    header, rows = read(table)
    assert header == ["mpid", "LTV"]
    assert rows[0].data == ["1", "2"]


def test_csv_quoting_commas_newlines_and_doubled_quotes(tmp_path: Path) -> None:
    path = tmp_path / "seeds.csv"
    path.write_text(
        "mpid,Products Viewed,Last Search Term\r\n"
        '1,"[""a"", ""b""]","red, ""big""\nshoes"\r\n'
        "2,,plain\r\n",
        newline="",
    )
    header, rows = read(path)
    assert header == ["mpid", "Products Viewed", "Last Search Term"]
    assert rows[0].data == ["1", '["a", "b"]', 'red, "big"\nshoes']
    # A quoted cell spanning two lines: the next row keeps its own line number.
    assert [row.line for row in rows] == [2, 4]
    assert rows[1].data == ["2", "", "plain"]


def test_csv_blank_rows_and_rows_of_empty_cells_are_not_users(tmp_path: Path) -> None:
    path = tmp_path / "seeds.csv"
    path.write_text("\n\nmpid,LTV\n1,2\n\n,\n3,4\n")
    header, rows = read(path)
    assert header == ["mpid", "LTV"]
    assert [(row.line, row.data) for row in rows] == [(4, ["1", "2"]), (7, ["3", "4"])]


def test_an_empty_csv_has_no_header_and_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "seeds.csv"
    path.write_text("")
    assert read(path) == (None, [])


def test_a_csv_row_that_is_not_utf8_is_a_record_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "seeds.csv"
    path.write_bytes(b"mpid,Last Search Term\n1,caf\xc3\xa9\n3,\xe9t\xe9\n4,ok\n")
    _, rows = read(path)
    assert [(row.line, row.data, row.error) for row in rows] == [
        (2, ["1", "caf\u00e9"], None),
        (3, ["3", "\ufffdt\ufffd"], "not UTF-8 text: export the file as UTF-8"),
        (4, ["4", "ok"], None),
    ]


def test_format_by_extension_else_by_first_character(tmp_path: Path) -> None:
    assert detect(tmp_path / "a.CSV") == "csv"
    assert detect(tmp_path / "a.ndjson") == "jsonl"
    sniffed = tmp_path / "export.txt"
    sniffed.write_bytes(b'\xef\xbb\xbf  {"mpid": 1}\n')
    assert detect(sniffed) == "jsonl"
    sniffed.write_text("mpid,LTV\n")
    assert detect(sniffed) == "csv"


def test_the_hash_covers_every_byte_and_the_head_hash_the_start(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    content = b"".join(b'{"mpid": %d}\n' % i for i in range(20_000))
    path.write_bytes(content)
    seed_file = SeedFile(path)
    _, records = seed_file.read()
    assert sum(1 for _ in records) == 20_000
    assert seed_file.sha256 == hashlib.sha256(content).hexdigest()
    assert seed_file.bytes_read == len(content) == seed_file.size
    assert seed_file.head_sha256() == hashlib.sha256(content[: 64 * 1024]).hexdigest()


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SeedFileError, match=r"cannot read the seed file .*No such file"):
        SeedFile(tmp_path / "missing.jsonl")
    with pytest.raises(SeedFileError, match="is not a file"):
        SeedFile(tmp_path)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        # One stray quote among 13 users: every row after it would be one LTV cell.
        ("mpid,LTV\n1,10\n2,20\n3,\"30\n" + "".join(f"{n},{n}0\n" for n in range(4, 14)),
         4, "LTV"),
        # A legitimate multi-line cell first: the stray quote is two lines below the row.
        ('mpid,Note,LTV\n1,"two\nlines",x\n2,ok,"5\n3,ok,6\n', 4, "LTV"),
        ('mpid,"LTV\n1,2\n', 1, "column 2"),  # in the header itself
    ],
)  # fmt: skip
def test_a_quote_that_is_never_closed_is_refused_where_it_opens(
    tmp_path: Path, text: str, line: int, column: str
) -> None:
    path = tmp_path / "seeds.csv"
    path.write_text(text, newline="")
    with pytest.raises(SeedFileError) as raised:
        read(path)
    (issue,) = raised.value.issues
    assert (issue.line, issue.path) == (line, column)
    assert "a quote opened here is never closed" in issue.message


def test_text_after_a_closing_quote_is_refused_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "seeds.csv"
    path.write_text('mpid,LTV\n1,2\n2,"5"0\n3,4\n')
    with pytest.raises(SeedFileError) as raised:
        read(path)
    (issue,) = raised.value.issues
    assert issue.line == 3
    assert "cannot read as CSV: ',' expected after '\"'" in issue.message
