"""Reading YAML with positions: every duplicate key, alias limits, recursion, size, encoding."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from reconciler.manifest import composing
from reconciler.manifest import document as source
from reconciler.manifest.document import SourceError, parse_yaml, read_yaml


def issues_of(text: str) -> list[str]:
    with pytest.raises(SourceError) as caught:
        parse_yaml(text, "f.yaml")
    return [str(issue) for issue in caught.value.issues]


def test_positions_of_keys_and_values() -> None:
    document = parse_yaml("a:\n  b: [1, {c: x}]\n", "f.yaml")
    assert document.data == {"a": {"b": [1, {"c": "x"}]}}
    assert document.position(("a", "b", 1, "c")) == source.Position(2, 14)
    assert document.position(("a", "b"), key=True) == source.Position(2, 3)
    assert document.position(("a", "missing")) == source.Position(2, 3)


def test_every_duplicate_key_is_reported() -> None:
    found = issues_of("a: 1\na: 2\nb: {c: 1, c: 2}\n")
    assert found == [
        "f.yaml:2:1: a: duplicate key `a` (first at line 1); keep one",
        "f.yaml:3:11: b.c: duplicate key `c` (first at line 3); keep one",
    ]


def test_merge_keys_and_their_positions() -> None:
    text = "base: &b {event_type: custom_event, x: 1}\nca:\n  <<: *b\n  x: 2\n"
    document = parse_yaml(text, "f.yaml")
    assert document.data["ca"] == {"event_type": "custom_event", "x": 2}
    assert document.position(("ca", "event_type")) == source.Position(1, 23)
    assert document.position(("ca", "x")) == source.Position(4, 6)


def test_the_keys_of_a_large_mapping_are_read_once_for_every_position(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Finding each key of a mapping used to read its keys from the first: a test file of
    # 4,000 users asked 8 million key comparisons for their lines (4 s of a 9 s test run).
    count = 500
    text = "users:\n" + "".join(f"  u{n}: {{mpid: {n}}}\n" for n in range(count))
    text += "  u7: {mpid: -1}\n"  # a duplicate: the first written is the one found
    with pytest.raises(SourceError) as caught:
        parse_yaml(text, "t.yaml")
    document = caught.value.document
    assert document is not None
    read = 0
    is_text = composing._is_text

    def counted(node: Any) -> bool:
        nonlocal read
        read += 1
        return is_text(node)

    monkeypatch.setattr(composing, "_is_text", counted)
    lines = [document.position(("users", f"u{n}", "mpid")) for n in range(count)]
    assert read <= 2 * (count + 3)
    assert lines == [source.Position(n + 2, 13 + len(str(n))) for n in range(count)]
    assert document.position(("users", "u7"), key=True) == source.Position(9, 3)
    assert document.position(("users", "nobody")) == source.Position(2, 3)


def test_alias_bomb_fails_fast() -> None:
    lines = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    # 10**9 nodes once expanded: refused from sizes summed per node, without expanding.
    found = issues_of("\n".join(lines) + "\n")
    assert "aliases expand to more than 5,000,000 nodes" in found[0]


def test_recursive_alias_is_refused() -> None:
    assert "recursive YAML alias" in issues_of("a: &a [1, *a]\n")[0]


def test_deep_nesting_is_refused() -> None:
    assert "nesting deeper than 64 levels" in issues_of("x: " + "[" * 200 + "]" * 200 + "\n")[0]


def test_unsafe_tags_are_refused() -> None:
    assert "could not determine a constructor" in issues_of("a: !!python/object:os.system x\n")[0]


def test_several_documents_are_refused() -> None:
    assert "several YAML documents" in issues_of("a: 1\n---\nb: 2\n")[0]


def test_impossible_dates_stay_text_for_the_field_rule() -> None:
    assert parse_yaml("d: 2024-13-45\n", "f.yaml").data == {"d": "2024-13-45"}


def test_non_text_keys_are_refused() -> None:
    assert "keys must be text" in issues_of("1: a\n")[0]


def test_oversized_file_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "MAX_FILE_BYTES", 1024)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 2048 + "\n")
    with pytest.raises(SourceError) as caught:
        read_yaml(big, "big.yaml")
    assert "the limit is 0 MiB per manifest file; split it" in str(caught.value)


def test_fifty_megabytes_fail_with_a_clear_message(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(SourceError) as caught:
        read_yaml(big, "big.yaml")
    assert "file is 50.0 MiB; the limit is 32 MiB" in str(caught.value)


def test_non_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(SourceError) as caught:
        read_yaml(bad, "bad.yaml")
    assert str(caught.value) == "bad.yaml:2: not valid UTF-8 text; save the file as UTF-8"


@pytest.mark.parametrize(
    ("encoding", "named"),
    [
        *((encoding, "UTF-16") for encoding in ("utf-16", "utf-16-le", "utf-16-be")),
        # UTF-32's byte order mark begins with UTF-16's (FF FE), and its first character
        # with a NUL beside a byte: such a file was said to be "saved as UTF-16".
        *((encoding, "UTF-32") for encoding in ("utf-32", "utf-32-le", "utf-32-be")),
    ],
)
def test_a_file_saved_as_utf16_or_utf32_is_named_so(
    tmp_path: Path, encoding: str, named: str
) -> None:
    """With or without its byte order mark: not a UTF-8 error at some line, nor a NUL
    character YAML refuses, but what happened and what to do."""
    bad = tmp_path / "cas.yaml"
    bad.write_bytes("calculated_attributes: []\n".encode(encoding))
    with pytest.raises(SourceError) as caught:
        read_yaml(bad, "cas.yaml")
    assert str(caught.value) == (
        f"cas.yaml:1: saved as {named}; save it as UTF-8 (the YAML files are read as UTF-8)"
    )


def test_forbidden_characters_are_located() -> None:
    assert issues_of("a: 1\nb: x\x00y\n") == [
        "f.yaml:2:5: invalid YAML: character #x0000 is not allowed "
        "(control characters are not allowed)"
    ]
    assert issues_of("\x07")[0].startswith("f.yaml:1:1: invalid YAML: character #x0007")


#: Plain scalars of every form the YAML 1.2 rules tell apart, each written twice in one
#: document (the resolver remembers a document's scalars), quoted and tagged forms too.
_SCALARS = [
    "x",
    "yes",
    "on",
    "true",
    "True",
    "null",
    "~",
    "",
    "0777",
    "0o17",
    "0x1f",
    "1_000",
    "1:30",
    "12",
    "-3",
    "+4",
    "1.5",
    "1e3",
    ".inf",
    "-.Inf",
    ".nan",
    "2024-05-01",
    "2024-05-01T10:00:00Z",
    "'12'",
    '"true"',
    "!!str 12",
    "!!int '7'",
]


def _reference(text: str) -> Any:
    """What ruamel's own pure-Python loader reads (quietly: it warns of YAML 1.1 forms)."""
    from ruamel.yaml import YAML

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return YAML(typ="safe", pure=True).load(text)


@pytest.mark.parametrize("version", ["", "%YAML 1.1\n---\n", "%YAML 1.2\n---\n"])
def test_scalars_read_by_yaml_1_2_as_ruamel_reads_them_however_often_written(
    version: str,
) -> None:
    """Manifests are read by the YAML 1.2 rules, a `%YAML 1.1` line notwithstanding."""
    lines = []
    for n, scalar in enumerate(_SCALARS):
        lines += [f"k{n}: {scalar}", f"l{n}:", f"  - {scalar}", f"  - m: {scalar}"]
    lines += [f"again{n}: {scalar}" for n, scalar in enumerate(_SCALARS)]
    text = "\n".join(lines) + "\n"
    expected = _reference(text)
    document = parse_yaml(version + text, "f.yaml")
    assert document.data == expected
    for key, value in expected.items():  # the same values, of the same types
        assert type(document.data[key]) is type(value), key


def test_every_value_of_a_manifest_has_its_position() -> None:
    text = "cas:\n  - name: a\n    tags: [x, 2, {y: z}]\n    n: 3\n  - plain\n"
    document = parse_yaml(text, "f.yaml")
    assert document.position(("cas", 0, "name")) == source.Position(2, 11)
    assert document.position(("cas", 0, "tags", 0)) == source.Position(3, 12)
    assert document.position(("cas", 0, "tags", 1)) == source.Position(3, 15)
    assert document.position(("cas", 0, "tags", 2, "y")) == source.Position(3, 22)
    assert document.position(("cas", 0, "n")) == source.Position(4, 8)
    assert document.position(("cas", 1)) == source.Position(5, 5)
    assert document.position(("cas", 0, "n"), key=True) == source.Position(4, 5)


def test_without_libyaml_the_python_composer_reads_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where PyYAML has no libyaml, its Python parser composes, with the same rules."""
    import yaml

    class PythonLoader(composing.Yaml12, yaml.SafeLoader):
        pass

    text = (
        "cas:\n  - &a {name: x, n: 0o17, on: yes, when: 2024-05-01, none: ~}\n"
        "  - <<: *a\n    name: y\n  - [1.5, .inf, '12', !!str 7, 0777]\n"
    )
    expected = parse_yaml(text, "f.yaml")
    monkeypatch.setattr(composing, "_Loader", PythonLoader)
    document = parse_yaml(text, "f.yaml")
    assert document.data == expected.data == _reference(text)
    paths: list[tuple[str | int, ...]] = [
        ("cas", 0, "n"),
        ("cas", 1, "name"),
        ("cas", 1, "when"),
        ("cas", 2, 4),
    ]
    for path in paths:
        assert document.position(path) == expected.position(path)


def test_a_tab_in_the_indentation_says_to_use_spaces() -> None:
    """libyaml's own words ("found character that cannot start any token") do not say that
    the character is a tab, nor what to write instead."""
    for text in ("a:\n\tb: 1\n", "a:\n  b: 1\n\tc: 2\n", "- a\n\t- b\n"):
        (issue,) = issues_of(text)
        assert issue.endswith("(a tab): YAML indents with spaces only; replace the tab with spaces")
    assert "tab" not in issues_of("a: [1\n")[0]
