"""The retry rules as a table: each kind of failure, met for real where it can be (a
refused connection, a name that does not resolve), is retried as its row says; waits are
fully jittered; the deadline stops waits that would outlast it."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from datetime import datetime, timezone

import httpx
import pytest

from reconciler.api.retrying import (
    MAX_RETRY_AFTER,
    Deadline,
    RetryPolicy,
    attempts_for,
    backoff,
    kind_of,
    never_sent,
    reason,
)
from reconciler.errors import (
    ApiError,
    RateLimited,
    ServerError,
    TransportError,
    duration,
    until,
)
from tests.support.servers import Request, running

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


def _wrapped(exc: BaseException, context: BaseException | None = None) -> TransportError:
    """The error Http makes of `exc` raised by httpx (itself raised while handling
    `context`, if given)."""
    exc.__context__ = context
    error = TransportError("failed")
    error.__cause__ = exc
    return error


async def _hang_up(request: Request, writer: asyncio.StreamWriter) -> None:
    """Reads the request, then closes the connection without a word."""
    writer.close()


def test_what_never_left_this_machine_is_told_from_what_may_have_reached_the_server() -> None:
    """A write whose every attempt failed so certainly did not take effect (the applier
    then looks nothing up): no connection was made, or no tunnel, or no free connection.
    Once the request went out (an answer that timed out, a connection closed or reset
    after it), the server may have carried it out."""
    before = [
        failure(f"http://127.0.0.1:{unused_port()}/"),  # refused
        failure("http://api.reconciler.invalid/"),  # the name does not resolve
        _wrapped(httpx.ConnectTimeout("connect timed out")),
        _wrapped(httpx.ProxyError("407 Proxy Authentication Required")),
        _wrapped(httpx.PoolTimeout("no connection came free")),
        _wrapped(httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER]")),  # a TLS handshake
        _wrapped(ConnectionRefusedError()),  # a transport raising the OS's error
    ]
    assert [never_sent(error) for error in before] == [True] * len(before)
    with running(_hang_up) as server:
        hung_up = failure(server.url)
    after = [
        hung_up,  # "Server disconnected without sending a response."
        _wrapped(httpx.ReadTimeout("read timed out")),
        _wrapped(httpx.ReadError("connection reset by peer")),
        _wrapped(httpx.WriteError("broken pipe")),
        _wrapped(TimeoutError()),  # no complete answer within the request timeout
        # httpx's own error decides, not one it was raised while handling.
        _wrapped(httpx.ReadError("reset"), context=httpx.ConnectError("refused")),
        ServerError("server error", status=503),
    ]
    assert [never_sent(error) for error in after] == [False] * len(after)


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


@pytest.mark.parametrize(
    ("kind", "alone", "checking"),
    [
        ("timeout", 2, 12),  # a hung server's second chance is not a check's limit
        ("refused", 3, 12),  # the write reached this host a moment ago
        ("connect timeout", 3, 12),
        ("proxy", 3, 12),
        ("dropped", 12, 12),
        ("throttled", 12, 12),
        ("server error", 12, 12),
        ("refused here", 12, 12),
        ("unresolved", 1, 1),  # what retrying cannot fix stays unretried
        ("tls", 1, 1),
        ("refusal", 1, 1),
    ],
)
def test_a_check_after_a_lost_answer_gets_every_attempt_of_the_policy(
    kind: str, alone: int, checking: int
) -> None:
    """The applier's look-up by name after a lost create, and its read-back after a lost
    activation, decide between writing again and not: given up after a timed-out read's
    two attempts, they failed an apply that would have converged."""
    assert attempts_for(kind, True, POLICY) == alone
    assert attempts_for(kind, True, POLICY, checking=True) == checking
    assert attempts_for(kind, True, RetryPolicy(attempts=4), checking=True) == min(checking, 4)


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


def test_a_lone_retry_after_waits_one_pause_and_half_of_one_more_at_most() -> None:
    rng = random.Random(7)
    tight = RetryPolicy(initial_wait=0.01, max_wait=0.2)
    error = ServerError("busy", status=503, retry_after=1.0)
    alone = [backoff(tight, 1, error, rng=rng) for _ in range(400)]
    assert min(alone) >= 1.0
    assert 1.4 < max(alone) <= 1.5


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
     (200, "3 min 20 s"), (1800, "30 min"), (86400 * 30, "720 h"), (999999999, "over a year"),
     (1e300, "over a year"), (float("inf"), "forever")],
)  # fmt: skip
def test_durations_read_well(seconds: float, text: str) -> None:
    assert duration(seconds) == text


#: 2026-03-29 00:59:50 UTC: ten seconds before the UK's clocks go forward (GMT -> BST).
BEFORE_THE_SWITCH = datetime(2026, 3, 29, 0, 59, 50, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("zone", "seconds", "shown"),
    [
        ("UTC", 5, "00:59:55 UTC"),  # a CI runner's log, read anywhere
        ("Europe/London", 5, "00:59:55 GMT"),
        ("Europe/London", 10, "02:00:00 BST"),  # across the switch: an hour on, said so
        ("America/St_Johns", 5, "22:29:55 NDT"),  # half an hour off UTC
        ("Pacific/Kiritimati", 5, "14:59:55 UTC+14"),  # no abbreviation: the offset
        ("Pacific/Niue", 5, "13:59:55 UTC-11"),
        ("Asia/Kathmandu", 5, "06:44:55 UTC+5:45"),
        ("UTC", 86_400, "2026-03-30 00:59:50 UTC"),  # not today: the day too
        ("Pacific/Kiritimati", 36_000, "2026-03-30 00:59:50 UTC+14"),  # midnight there
        ("UTC", 1e300, "after the year 9999"),  # `--wait-timeout 1e300`: no crash
        ("UTC", 1e12, "after the year 9999"),
    ],
)
def test_until_says_the_zone_and_the_day(
    zone: str, seconds: float, shown: str, local_zone: Callable[[str], None]
) -> None:
    """`until` is local time, so it says which: a bare `14:03:12` from a CI runner (UTC)
    read by someone in another zone, or from a laptop, is an hour or more off."""
    local_zone(zone)
    assert until(seconds, BEFORE_THE_SWITCH) == shown


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            ServerError("server error", status=503, messages=["Service unavailable."]),
            "503 Service unavailable.",
        ),
        (RateLimited("rate limited", messages=[]), "429"),
        (
            TransportError(
                "the connection was refused (is the server running?)",
                method="POST",
                path="http://127.0.0.1:8080/platform/.../calculatedattributes",
                messages=["All connection attempts failed"],
            ),
            "the connection was refused: All connection attempts failed",
        ),
        (
            TransportError("no complete answer within 60 s (RECONCILER_REQUEST_TIMEOUT)"),
            "no complete answer within 60 s",
        ),
    ],
)
def test_a_retry_notice_says_the_failure_in_words_that_read(error: ApiError, said: str) -> None:
    """A refused connection was announced as `the connection was refused All connection
    attempts failed`: our words and httpx's run together, with no stop between them."""
    assert reason(error) == said
