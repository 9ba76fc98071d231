"""Batching: at most `batch_size` users and `max_bytes` of body per request, the same
batches from the same input every time, and a spool that hands the users back in order."""

from __future__ import annotations

import itertools

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.seeding.batches import MAX_BODY_BYTES, Batch, Spool, body_size, cut


def numbered(sizes: list[int]) -> list[tuple[int, bytes]]:
    """Users of the given JSON lengths, on lines 1, 2, ..."""
    return [(line, b'"' + b"x" * (size - 2) + b'"') for line, size in enumerate(sizes, start=1)]


def test_batches_hold_at_most_batch_size_users() -> None:
    batches = list(cut(numbered([10] * 250), batch_size=100))
    assert [len(b.users) for b in batches] == [100, 100, 50]
    assert [b.index for b in batches] == [0, 1, 2]
    assert [b.first_line for b in batches] == [1, 101, 201]


def test_batches_stay_under_the_byte_limit() -> None:
    # 1,000-byte users: 255 of them make 255,256 bytes with brackets and commas (under
    # 256,000); a 256th would make 256,257.
    batches = list(cut(numbered([1000] * 600), batch_size=1000))
    assert [len(b.users) for b in batches] == [255, 255, 90]
    assert all(b.size < MAX_BODY_BYTES for b in batches)
    assert batches[0].size == len(batches[0].body) == 255 * 1000 + 254 + 2


def test_a_user_just_under_the_limit_goes_alone() -> None:
    batches = list(cut(numbered([10, MAX_BODY_BYTES - 3, 10]), batch_size=100))
    assert [b.lines for b in batches] == [(1,), (2,), (3,)]
    assert batches[1].size == MAX_BODY_BYTES - 1


def test_a_body_is_always_under_256_kb_never_at_it() -> None:
    """The default service limits: "the total request size must be under 256kb": a body
    of exactly 256,000 bytes is not under 256 kB (kb read as 1,000 bytes)."""
    with pytest.raises(ValueError, match="line 1 is too large"):
        list(cut(numbered([MAX_BODY_BYTES - 2])))
    # Two users making exactly 256,000 bytes together go in two requests.
    half = (MAX_BODY_BYTES - 3) // 2
    batches = list(cut(numbered([half, MAX_BODY_BYTES - 3 - half]), batch_size=100))
    assert [b.lines for b in batches] == [(1,), (2,)]
    assert all(b.size < MAX_BODY_BYTES for b in batches)


def test_a_user_too_large_for_any_request_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1 is too large"):
        list(cut(numbered([MAX_BODY_BYTES - 1])))


def test_the_body_is_a_json_array_of_the_users() -> None:
    users = [orjson.dumps({"mpid": n}) for n in range(3)]
    batch = Batch(0, (1, 2, 3), tuple(users))
    assert orjson.loads(batch.body) == [{"mpid": 0}, {"mpid": 1}, {"mpid": 2}]
    assert batch.size == len(batch.body) == body_size(users)


def test_halves_split_users_and_lines_alike() -> None:
    first, second = Batch(4, (1, 2, 3), (b"1", b"2", b"3")).halves()
    assert (first.lines, first.users, first.index) == ((1,), (b"1",), 4)
    assert (second.lines, second.users) == ((2, 3), (b"2", b"3"))


@st.composite
def filling(draw: st.DrawFn) -> list[int]:
    """Users whose first few make a body of exactly the byte limit, or a byte either side
    of it, then any: the boundary that sizes drawn at random all but never land on."""
    count = draw(st.integers(3, 6))
    each = (MAX_BODY_BYTES - 2 - (count - 1)) // count
    first = [each + draw(st.integers(-500, 500)) for _ in range(count - 1)]
    before = 2 + sum(first) + count - 1  # the brackets, the first users, every comma
    last = MAX_BODY_BYTES + draw(st.sampled_from([-1, 0, 1])) - before
    return [*first, last, *draw(st.lists(st.integers(2, 90_000), max_size=10))]


@given(
    sizes=st.lists(st.integers(min_value=2, max_value=90_000), max_size=60) | filling(),
    batch_size=st.integers(min_value=1, max_value=20),
)
def test_same_input_same_batches_and_the_spool_counts_them(
    sizes: list[int], batch_size: int
) -> None:
    users = numbered(sizes)
    batches = list(cut(users, batch_size))
    assert batches == list(cut(users, batch_size))
    assert [line for b in batches for line in b.lines] == [line for line, _ in users]
    assert all(len(b.users) <= batch_size and b.size < MAX_BODY_BYTES for b in batches)
    # No batch could have taken the first user of the next one.
    for before, after in itertools.pairwise(batches):
        grown = before.size + 1 + len(after.users[0])
        assert len(before.users) == batch_size or grown >= MAX_BODY_BYTES
    with Spool(batch_size) as spool:
        for line, user in users:
            spool.add(line, user)
        assert spool.batches == len(batches)
        assert list(spool.read()) == users


def test_the_spool_reads_back_in_order_every_time() -> None:
    users = [(n * 3, orjson.dumps({"mpid": n, "note": "tab\there"})) for n in range(1, 1000)]
    with Spool() as spool:
        for line, user in users:
            spool.add(line, user)
        assert spool.users == 999
        assert list(spool.read()) == users
        assert list(spool.read()) == users
