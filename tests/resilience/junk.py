"""Junk for the bad-input fuzzers: hypothesis strategies for values of every wrong type
and text that breaks things, and ways to damage a valid document or its bytes."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Text that breaks things: control and format characters, other scripts, emoji, YAML's
#: own punctuation. (A lone surrogate, which no UTF-8 file can hold, is among the junk
#: bytes below: b"\xed\xa0\x80".)
NASTY_CHARACTERS = st.sampled_from(
    [
        *"\x00\x07\t\r\u202e\ufeff\u200b\u2028\x85éİ日🙂\U0010ffff'\":#&*!|>{[%@`\\",
        "\x1b[31m",
        "- ",
        "? ",
    ]
)
nasty_text = st.lists(st.one_of(NASTY_CHARACTERS, st.text(max_size=8)), max_size=8).map("".join)
#: Scalars YAML may read as something else (YAML 1.1 booleans, octal, hex, infinities) or
#: that look like dates and are not.
LOOKALIKES = [
    "2024-13-45",
    "0000-00-00",
    "2019-10-01T25:61:61",
    "yes",
    "on",
    "~",
    "0x1F",
    "0o17",
    "1e400",
    ".nan",
    "-.inf",
    "[]",
    "{}",
]
junk_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
    st.integers(min_value=1, max_value=200_000).map(lambda n: "x" * n),
    st.dates(min_value=date(1, 1, 1)).map(str),
    st.sampled_from(LOOKALIKES),
)


def _deep(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


junk_values = st.one_of(
    junk_scalars,
    st.lists(junk_scalars, max_size=3),
    st.dictionaries(nasty_text, junk_scalars, max_size=3),
    st.builds(_deep, st.integers(min_value=1, max_value=200), junk_scalars),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def damage(draw: st.DrawFn, document: Any) -> Any:
    """`document` with one to four nodes replaced by junk, dropped, added or renamed."""
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths(document)))
        if not path:
            document = draw(junk_values)
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        how = draw(st.sampled_from(["replace", "drop", "add", "rename"]))
        if how == "replace":
            parent[path[-1]] = draw(junk_values)
        elif how == "drop":
            del parent[path[-1]]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(nasty_text)] = draw(junk_values)
        elif how == "rename" and isinstance(parent, dict):
            parent[draw(nasty_text)] = parent.pop(path[-1])
    return document


def encoded(document: Any) -> bytes:
    """JSON (which is YAML too) as UTF-8; text that cannot be UTF-8 (a lone surrogate) is
    written as the bytes a careless editor would produce."""
    return json.dumps(document, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


JUNK_BYTES = st.sampled_from(
    [b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\x80", b"\xc3", b"\xed\xa0\x80", b"\r", b"\x1a"]
)


def splice_bytes(draw: st.DrawFn, raw: bytes) -> bytes:
    """`raw` with a junk byte sequence inserted somewhere."""
    cut = draw(st.integers(0, len(raw)))
    return raw[:cut] + draw(JUNK_BYTES) + raw[cut:]
