"""The retry rules as a table: each kind of failure, met for real where it can be (a
refused connection, a name that does not resolve), is retried as its row says; waits are
fully jittered; the deadline stops waits that would outlast it."""

from __future__ import annotations

import random
import socket

import httpx
import pytest

from reconciler.api.retrying import (
    MAX_RETRY_AFTER,
    Deadline,
    RetryPolicy,
    Window,
    attempts_for,
    backoff,
    duration,
    kind_of,
)
from reconciler.errors import RateLimited, ServerError, TransportError

POLICY = RetryPolicy(attempts=12, initial_wait=0.25, max_wait=20)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def failure(url: str) -> TransportError:
    """The error Http makes of really trying `url`."""
    try:
        httpx.get(url, timeout=5)
    except httpx.TransportError as exc:
        error = TransportError("failed")
        error.__cause__ = exc
        return error
    raise AssertionError(f"{url} answered")


def test_a_refused_connection_is_retried_in_full_only_on_this_machine() -> None:
    refused = failure(f"http://127.0.0.1:{unused_port()}/")
    assert kind_of(refused, "127.0.0.1") == "refused here"
    assert kind_of(refused, "localhost") == "refused here"
    assert kind_of(refused, "::1") == "refused here"
    assert attempts_for("refused here", False, POLICY) == 12
    # The same refusal from another host: a couple of tries, then the message.
    assert kind_of(refused, "10.1.2.3") == "refused"
    assert kind_of(refused, "api.mparticle.com") == "refused"
    assert attempts_for("refused", False, POLICY) == 3


def test_a_name_that_does_not_resolve_is_not_retried() -> None:
    unresolved = failure("http://api.reconciler.invalid/")
    assert kind_of(unresolved, "api.reconciler.invalid") == "unresolved"
    assert attempts_for("unresolved", True, POLICY) == 1


@pytest.mark.parametrize(
    ("status", "idempotent", "attempts"),
    [
        (429, False, 12),
        (503, False, 12),
        (502, True, 12),
        (500, True, 12),
        (500, False, 1),  # may have taken effect: a write is not repeated blindly
        (400, True, 1),
        (404, True, 1),
        (422, True, 1),
    ],
)
def test_statuses_follow_spec_4_3(status: int, idempotent: bool, attempts: int) -> None:
    error = ServerError("x", status=status)
    assert attempts_for(kind_of(error, "api.mparticle.com"), idempotent, POLICY) == attempts


def test_a_timeout_gets_one_second_chance_and_only_when_idempotent() -> None:
    timeout = TransportError("no complete answer")
    timeout.__cause__ = TimeoutError()
    assert kind_of(timeout, "api.mparticle.com") == "timeout"
    assert attempts_for("timeout", True, POLICY) == 2
    assert attempts_for("timeout", False, POLICY) == 1
    assert attempts_for("timeout", True, RetryPolicy(attempts=1)) == 1


def test_waits_are_full_jitter_under_a_doubling_cap() -> None:
    rng = random.Random(5)
    error = ServerError("x", status=503)
    for attempt, cap in ((1, 0.25), (2, 0.5), (3, 1.0), (8, 20.0), (40, 20.0)):
        waits = [backoff(POLICY, attempt, error, rng=rng) for _ in range(400)]
        assert 0 <= min(waits) < cap * 0.1  # from nothing...
        assert cap * 0.9 < max(waits) <= cap  # ...to the cap


def test_retry_after_is_the_least_wait_and_its_window_widens() -> None:
    rng = random.Random(6)
    error = RateLimited("slow", retry_after=1.0)
    spreads = []
    for attempt in (1, 2, 3, 4, 5, 6):
        waits = [backoff(POLICY, attempt, error, rng=rng) for _ in range(400)]
        assert min(waits) >= 1.0
        spreads.append(max(waits) - min(waits))
    assert spreads == sorted(spreads)
    assert spreads[4] > 6  # five refusals in: spread over eight seconds
    assert spreads[-1] <= POLICY.max_wait


def test_requests_refused_together_are_spread_one_pause_apart() -> None:
    """Eight requests refused by a server that takes one a second: each comes back in the
    next fifteen seconds (about one a second on average), however small max_wait is; a
    lone refusal waits one Retry-After and a jitter of half of one more at most."""
    rng = random.Random(7)
    tight = RetryPolicy(initial_wait=0.01, max_wait=0.2)
    error = RateLimited("slow", retry_after=1.0)
    waits = [backoff(tight, 1, error, contenders=8, rng=rng) for _ in range(400)]
    assert 1.0 <= min(waits) < 1.2
    assert 14.5 < max(waits) <= 15.0
    assert 7 < sum(waits) / len(waits) < 9
    alone = [backoff(tight, 1, error, contenders=1, rng=rng) for _ in range(400)]
    assert min(alone) >= 1.0
    assert max(alone) <= 1.5


def test_a_429_halves_the_window_once_for_each_crowd_refused_together() -> None:
    """The clock is the caller's: times are given, nothing sleeps. A crowd of 64 refused
    together cuts the window once, to 32; a 429 to a request sent after that cut is a new
    crowd and cuts again, from the requests then out when they are fewer; one at least."""
    assert Window().places is None
    window = Window()
    assert window.allows(1000)
    assert window.crowd(64, 1.0) == 64  # before any cut: one pause each, the old caution
    assert window.refused(on_the_wire=64, sent_at=10.0, now=10.5)
    assert window.places == 32
    for _ in range(63):  # the rest of the crowd: sent before the cut
        assert not window.refused(on_the_wire=63, sent_at=10.2, now=10.6)
    assert (window.places, window.cuts) == (32, 1)
    assert window.allows(31)
    assert not window.allows(32)
    assert window.refused(on_the_wire=10, sent_at=10.7, now=11.0)
    assert window.places == 5  # half of what was out, not of the window
    for when in (12.0, 13.0, 14.0, 15.0):
        window.refused(on_the_wire=5, sent_at=when, now=when + 0.5)
    assert window.places == 1
    assert window.allows(0)
    assert not window.allows(1)


def test_the_window_grows_back_by_one_place_a_window_of_successes() -> None:
    window = Window()
    window.refused(on_the_wire=64, sent_at=0.0, now=1.0)
    successes = 0
    while window.places == 32:
        window.succeeded()
        successes += 1
    assert window.places == 33
    assert 32 <= successes <= 34
    for _ in range(10_000):
        window.succeeded()
    assert (window.places or 0) > 64  # no ceiling of its own
    untouched = Window()
    untouched.succeeded()
    assert untouched.places is None


def test_a_crowd_is_counted_in_windows_not_in_requests() -> None:
    """64 requests refused together behind a window of 32 come back over two pauses, not
    64: the server took a window's worth a pause, so the jitter spreads them that wide."""
    window = Window(counted_from=0.0)
    window.refused(on_the_wire=64, sent_at=0.0, now=1.0)  # no success counted: rate 0
    assert [window.crowd(n, 1.0) for n in (0, 1, 32, 33, 64)] == [0, 1, 1, 2, 2]
    rng = random.Random(8)
    error = RateLimited("slow", retry_after=1.0)
    waits = [backoff(POLICY, 1, error, window.crowd(64, 1.0), rng=rng) for _ in range(400)]
    assert min(waits) >= 1.0
    assert max(waits) <= 3.0
    old = [backoff(POLICY, 1, error, 64, rng=rng) for _ in range(400)]
    assert max(old) > 100  # 126 pauses of jitter: what made concurrency 64 slower


def test_a_crowd_is_counted_in_what_the_server_admitted_between_two_refusals() -> None:
    """A server that took 50 requests in the 1.25 s between two crowds took 40 a second:
    80 refused come back over two 1-second pauses even when the window is down to 8; one
    that took a request a pause gets one request a pause, as before windows."""
    window = Window(counted_from=0.0)
    window.refused(on_the_wire=16, sent_at=0.0, now=1.0)
    assert window.places == 8
    for _ in range(50):
        window.succeeded()
    assert window.refused(on_the_wire=8, sent_at=2.0, now=2.25)
    assert window.admitted == pytest.approx(40.0)
    assert window.places is not None
    assert window.places < 40
    assert window.crowd(80, 1.0) == 2
    assert window.crowd(80, 0.5) == 4  # 20 in half a second
    slow = Window(counted_from=0.0)
    for second in range(1, 9):
        slow.succeeded()
        slow.refused(on_the_wire=8, sent_at=second - 0.5, now=float(second))
    assert slow.places == 1
    assert slow.crowd(8, 1.0) == 8


def test_the_deadline_refuses_waits_that_would_outlast_it() -> None:
    now = [100.0]
    deadline = Deadline(10.0, clock=lambda: now[0])
    assert deadline.allows(9.9)
    assert not deadline.allows(10.0)
    now[0] = 108.0
    assert deadline.remaining() == pytest.approx(2.0)
    assert not deadline.allows(2.5)
    unbounded = Deadline(None)
    assert unbounded.remaining() is None
    assert unbounded.allows(MAX_RETRY_AFTER - 1)
    assert not unbounded.allows(999999999)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.05, "0.05 s"), (0.4, "0.4 s"), (2.5, "2.5 s"), (4, "4 s"), (12.3, "12 s"),
     (200, "3 min 20 s"), (1800, "30 min"), (999999999, "277,778 h")],
)  # fmt: skip
def test_durations_read_well(seconds: float, text: str) -> None:
    assert duration(seconds) == text
