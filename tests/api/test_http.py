"""The HTTP seam (api/http.py): typed errors from statuses and bodies, Retry-After, the
retry policy (what repeats and what does not), and redaction of what is logged.

Unit tests answer through httpx.MockTransport; the retry scenarios run against emulator
servers over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

import httpx
import pytest

from reconciler.api.http import Http, RetryPolicy, Stopped, error_for, watching
from reconciler.errors import (
    ApiError,
    AuthError,
    BusinessRuleError,
    DeadlineExceeded,
    NotFoundError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from reconciler.settings import Tuning
from tests.conftest import StartEmulator
from tests.support.emulator import EmulatorServer
from tests.support.faketime import FakeTime
from tests.support.platform import Sleeps, body, client_for
from tests.support.readme import output


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ValidationFailed),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (422, BusinessRuleError),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (418, ApiError),
    ],
)
def test_each_status_has_its_error(status: int, kind: type[ApiError]) -> None:
    error = error_for(httpx.Response(status), "GET", ".../calculatedattributes")
    assert type(error) is kind
    assert error.status == status
    assert f"(GET .../calculatedattributes -> {status})" in error.message


@pytest.mark.parametrize(
    ("answer", "messages"),
    [
        ({"errors": [{"code": "X", "message": "Invalid recipe type"}]}, ["Invalid recipe type"]),
        ({"errors": ["plain", {"code": "Y"}]}, ["plain", "{'code': 'Y'}"]),
        ({"error": "access_denied", "error_description": "wrong"}, ["wrong"]),
        ({"message": "gone"}, ["gone"]),
        ("just text", ["just text"]),
        ({"nothing": "here"}, []),
    ],
)
def test_the_servers_messages_are_read_from_every_shape(
    answer: object, messages: list[str]
) -> None:
    error = error_for(httpx.Response(400, json=answer), "POST", "x")
    assert list(error.messages) == messages


def test_a_body_that_is_not_json_is_quoted_as_text() -> None:
    error = error_for(httpx.Response(502, text="  Bad gateway  "), "GET", "x")
    assert error.messages == ("Bad gateway",)


def _limited(retry_after: str) -> RateLimited:
    error = error_for(httpx.Response(429, headers={"retry-after": retry_after}), "GET", "x")
    assert isinstance(error, RateLimited)
    return error


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert _limited("3").retry_after == 3.0
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    seconds = _limited(format_datetime(later, usegmt=True)).retry_after
    assert seconds is not None
    assert 25 <= seconds <= 30


@pytest.mark.parametrize("zone", ["Pacific/Niue", "Pacific/Kiritimati", "America/St_Johns"])
@pytest.mark.parametrize(
    "retry_after",
    [
        "Mon, 30 Nov 2026 14:00:30 GMT",
        "Monday, 30-Nov-26 14:00:30 GMT",
        "Mon Nov 30 14:00:30 2026",  # asctime: no zone written, UTC all the same
        "Mon, 30 Nov 2026 14:00:30 -0000",
    ],
)
def test_a_retry_after_date_is_utc_and_counted_from_the_answers_date(
    retry_after: str, zone: str, local_zone: Callable[[str], None]
) -> None:
    """RFC 9110: an HTTP date is UTC in each of its three forms. And it is the server's
    clock: counted from the answer's `Date`, this machine's clock being off by an hour
    (here: the answer came, by our clock, an hour later) changes nothing."""
    local_zone(zone)
    headers = {"retry-after": retry_after, "date": "Mon, 30 Nov 2026 14:00:00 GMT"}
    skewed = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc).timestamp()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: skewed)
        error = error_for(httpx.Response(429, headers=headers), "GET", "x")
    assert error.retry_after == 30.0


def test_a_retry_after_date_without_a_date_header_is_counted_from_our_clock(
    local_zone: Callable[[str], None],
) -> None:
    local_zone("Pacific/Niue")
    now = datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc).timestamp()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: now)
        asked = _limited("Mon Nov 30 14:00:30 2026").retry_after
        past = _limited("Mon, 30 Nov 2026 13:00:00 GMT").retry_after
    assert (asked, past) == (30.0, 0.0)


@pytest.mark.parametrize("header", ["Retry-After", "RetryAfter", "retryafter"])
def test_retry_after_is_read_under_both_spellings_of_the_docs(header: str) -> None:
    """HTTP names it `Retry-After`; the default service limits page says "respect the
    RetryAfter value". Whichever a 429 carries is the wait it asks for."""
    error = error_for(httpx.Response(429, headers={header: "7"}), "GET", "x")
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7.0
    both = error_for(
        httpx.Response(429, headers={"Retry-After": "2", "RetryAfter": "9"}), "GET", "x"
    )
    assert isinstance(both, RateLimited)
    assert both.retry_after == 2.0  # the standard name first


def test_retry_after_is_kept_as_asked_and_garbage_is_ignored() -> None:
    # Not capped: a wait beyond the command's deadline is refused at once instead
    # (tests/resilience/test_waiting.py), rather than shortened and repeated in silence.
    assert _limited("100000").retry_after == 100000.0
    assert _limited("-5").retry_after == 0.0
    assert _limited("soon").retry_after is None
    assert _limited("nan").retry_after is None


@pytest.mark.parametrize("retry_after", ["inf", "1e400"])
async def test_a_retry_after_of_forever_fails_at_once_and_says_so(retry_after: str) -> None:
    """The pacer took the rate from an infinite Retry-After (none a second), and the next
    step divided by it: "unexpected ZeroDivisionError ... This is a bug in reconciler"."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(429, headers={"retry-after": retry_after})

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, policy=RetryPolicy(attempts=5), sleep=Sleeps())
    with pytest.raises(DeadlineExceeded) as raised:
        await http.request("GET", "https://api.example/x", idempotent=True)
    assert "the server asked to wait forever (Retry-After)" in raised.value.message
    assert seen == ["GET"]


def test_the_policy_takes_the_knobs_settings_read() -> None:
    tuning = Tuning.from_env(
        {"RECONCILER_RETRY_ATTEMPTS": "3", "RECONCILER_RETRY_INITIAL_WAIT": "0.5"}
    )
    policy = RetryPolicy.from_tuning(tuning, deadline=90)
    assert (policy.attempts, policy.initial_wait, policy.max_wait) == (3, 0.5, 20.0)
    assert (policy.request_timeout, policy.deadline) == (60.0, 90)


def _answering(*statuses: int) -> tuple[Http, list[str]]:
    """An Http whose server answers `statuses` in turn (then 200), recording requests."""
    seen: list[str] = []
    answers = list(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(answers.pop(0) if answers else 200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    policy = RetryPolicy(attempts=5, initial_wait=0, max_wait=0)
    return Http(client, policy=policy, sleep=Sleeps()), seen


async def test_a_500_is_retried_only_for_idempotent_calls() -> None:
    http, seen = _answering(500, 500)
    assert (await http.request("PUT", "https://api.example/x", idempotent=True)).status_code == 200
    assert seen == ["PUT"] * 3
    http, seen = _answering(500)
    with pytest.raises(ServerError):
        await http.request("POST", "https://api.example/x", idempotent=False)
    assert seen == ["POST"]


async def test_unprocessed_answers_are_retried_for_every_call() -> None:
    http, seen = _answering(429, 502, 503, 504)
    answer = await http.request("POST", "https://api.example/x", idempotent=False)
    assert answer.status_code == 200
    assert len(seen) == 5
    assert http.retries == 4


def _in_turn(answers: list[httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: answers.pop(0)


async def test_a_retry_after_on_a_502_503_or_504_is_the_least_wait_as_on_a_429() -> None:
    """SPEC §4.3: the statuses retried honour Retry-After, a 503's as a 429's."""
    for status in (429, 502, 503, 504):
        sleeps = Sleeps()
        answers = [httpx.Response(status, headers={"retry-after": "3"}), httpx.Response(204)]
        client = httpx.AsyncClient(transport=httpx.MockTransport(_in_turn(answers)))
        http = Http(client, policy=RetryPolicy(attempts=3, initial_wait=0.01), sleep=sleeps)
        answer = await http.request("POST", "https://api.example/x", idempotent=False)
        assert answer.status_code == 204
        assert sleeps.waits, status
        assert all(wait >= 3 for wait in sleeps.waits), (status, sleeps.waits)
    server_error = error_for(httpx.Response(503, headers={"retry-after": "7"}), "GET", "x")
    assert isinstance(server_error, ServerError)
    assert server_error.retry_after == 7.0
    plain = error_for(httpx.Response(500), "GET", "x")
    assert isinstance(plain, ServerError)
    assert plain.retry_after is None


async def test_a_stop_ends_a_retry_wait_and_sends_nothing_more() -> None:
    """Ctrl-C while seeding (`Http.stop`): a request waiting to be tried again raises
    Stopped at once instead of going out, and so does any request made afterwards."""
    seen: list[str] = []
    started = asyncio.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(503, headers={"retry-after": "60"})

    async def forever(seconds: float) -> None:
        started.set()
        await asyncio.Event().wait()

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, policy=RetryPolicy(attempts=5), sleep=forever)
    waiting = asyncio.ensure_future(http.request("POST", "https://api.example/x", idempotent=True))
    await asyncio.wait_for(started.wait(), 5)
    assert not waiting.done()
    assert http.on_the_wire == 0  # answered, waiting for its retry
    http.stop()
    with pytest.raises(Stopped):
        await asyncio.wait_for(waiting, 5)
    with pytest.raises(Stopped):
        await http.request("GET", "https://api.example/x", idempotent=True)
    assert seen == ["POST"]


async def test_a_stop_wakes_the_requests_waiting_for_their_turn_after_a_429() -> None:
    """Requests held in the pacer's queue (not sleeping a back-off of their own) raise
    Stopped at once too, and the queue is left empty."""
    seen: list[str] = []
    started = asyncio.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(429, headers={"retry-after": "60"})

    async def forever(seconds: float) -> None:
        started.set()
        await asyncio.Event().wait()

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, policy=RetryPolicy(attempts=5), sleep=forever)
    waiting = [
        asyncio.ensure_future(http.request("GET", "https://api.example/x", idempotent=True))
        for _ in range(3)
    ]
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.01)
    assert not any(request.done() for request in waiting)
    http.stop()
    for request in waiting:
        with pytest.raises(Stopped):
            await asyncio.wait_for(request, 5)
    assert len(seen) == 3  # each refused once, none sent again
    assert not http.pacer._waiting


async def test_a_request_made_after_a_stop_leaves_no_coroutine_unawaited() -> None:
    """After a 429 (the pacer in use) and a stop, the next request raises Stopped without
    starting its wait for a turn: that wait was made and dropped, and Python printed
    "RuntimeWarning: coroutine 'Pacer.turn' was never awaited" after the Ctrl-C."""
    answers = [httpx.Response(429, headers={"retry-after": "0"})]
    client = httpx.AsyncClient(transport=httpx.MockTransport(_in_turn(answers)))
    http = Http(client, policy=RetryPolicy(attempts=1), sleep=Sleeps())
    with pytest.raises(RateLimited):
        await http.request("GET", "https://api.example/x", idempotent=True)
    assert http.pacer.rate is not None
    http.stop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Stopped):
            await http.request("GET", "https://api.example/x", idempotent=True)
        gc.collect()
    assert [str(w.message) for w in caught] == []


async def test_requests_held_by_another_requests_429_are_announced_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every wait is announced: a 429's pause holds the other requests too, and says so
    once, with when it ends at the latest."""
    answers = [httpx.Response(429, headers={"retry-after": "30"})] + [httpx.Response(204)] * 2
    client = httpx.AsyncClient(transport=httpx.MockTransport(_in_turn(answers)))
    sleeps = Sleeps()
    http = Http(client, policy=RetryPolicy(attempts=1), sleep=sleeps)
    with pytest.raises(RateLimited):  # its last attempt: the pause it asked for remains
        await http.request("POST", "https://api.example/x", idempotent=False)
    with caplog.at_level(logging.INFO, logger="reconciler.http"):
        await asyncio.gather(
            http.request("GET", "https://api.example/x", idempotent=True),
            http.request("GET", "https://api.example/x", idempotent=True),
        )
    held = [record.getMessage() for record in caplog.records]
    assert len(held) == 1, held
    assert re.fullmatch(
        r"holding requests for \d+ s \(until (?:\S+ )?\d\d:\d\d:\d\d \S+\), then sending one "
        r"request every \d+ s, more often as they succeed: the API asked to slow down \(429.*\)",
        held[0],
    ), held[0]
    assert len(sleeps.waits) == 2
    assert all(wait >= 29 for wait in sleeps.waits), sleeps.waits


async def test_a_pause_moved_on_by_a_moment_is_not_announced_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each 429 answering a request already out moves the pause's end on by milliseconds:
    at --concurrency 64 that printed the same "holding requests" line two to five times at
    the same moment. It is said again only when the end moves on by NOTICE_AFTER."""
    http = Http(httpx.AsyncClient(transport=httpx.MockTransport(_in_turn([]))), sleep=Sleeps())
    held = []
    with caplog.at_level(logging.INFO, logger="reconciler.http"):
        for moved_on in (30.0, 0.004, 0.003, 5.0):  # the end of the pause, moved on by
            end = max(http.pacer.hold_until, time.monotonic()) + moved_on
            refusal = RateLimited("slow", retry_after=end - time.monotonic())
            http.pacer.refused(time.monotonic(), refusal, 0.25)
            await http._pace("GET https://api.example/x")
            held.append(sum("holding requests" in r.getMessage() for r in caplog.records))
    assert held == [1, 1, 1, 2]


SUMMARY = (
    r"rate limited: (\d+) more 429s in the last (\d+) s; pacing at \S+ requests? a second, "
    r"more often as they succeed"
)


def _rate_limited_rounds(rounds: int, last_pause: int) -> tuple[FakeTime, asyncio.Future[None]]:
    """`rounds` POSTs one after the other, each refused once (Retry-After: 1) and then
    accepted, and a last one refused with Retry-After `last_pause`: about `rounds` seconds."""
    answers = [("429", "1"), ("204", "")] * rounds + [("429", str(last_pause)), ("204", "")]
    answers.reverse()
    fake = FakeTime()

    def answer(request: httpx.Request) -> httpx.Response:
        status, pause = answers.pop()
        return httpx.Response(int(status), headers={"retry-after": pause} if pause else {})

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, sleep=fake.sleep, clock=fake.clock)

    async def run() -> None:
        for _ in range(rounds + 1):
            await http.request("POST", "https://api.example/x", idempotent=False)

    return fake, asyncio.ensure_future(run())


async def test_a_long_rate_limited_run_says_its_first_hold_then_a_line_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An apply of 2,000 creates against a rate-limited API said `retrying 2/12 POST ...
    in 1 s` and `holding requests for 1 s ...` one and a half times a second. Now: the
    first retry and hold, then a line a minute counting the 429s, and still every wait of a
    few seconds or more in full, with when it ends (SPEC §4)."""
    fake, rounds = _rate_limited_rounds(200, last_pause=30)
    with caplog.at_level(logging.INFO, logger="reconciler.http"):
        await fake.run(rounds)
    said = [record.getMessage() for record in caplog.records]
    assert said[0].startswith("retrying 2/12 POST https://api.example/x in 1 s (at "), said
    assert said[1].startswith("holding requests for 1 s (until "), said
    summaries = said[2:-2]
    assert fake.now > 200
    assert 3 <= len(summaries) <= fake.now / 60, said
    counted = 0
    for line in summaries:
        found = re.fullmatch(SUMMARY, line)
        assert found is not None, line
        assert int(found[2]) >= 60
        counted += int(found[1])
    assert 200 - 1 - 60 < counted < 200
    # The long wait at the end: said in full at once, with when it ends.
    assert said[-2].startswith("retrying 2/12 POST https://api.example/x in 30 s (at "), said
    assert said[-1].startswith("holding requests for 30 s (until "), said


async def test_the_429s_since_the_last_summary_are_summed_up_when_the_client_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A line a minute at most summed up the 429s: those of the run's last minute were
    never said, and the log under-reported them. Closing the client says them, once, and
    a client without any left to say says nothing."""
    answers = [("429", "1"), ("204", "")] * 150
    answers.reverse()
    fake = FakeTime()

    def answer(request: httpx.Request) -> httpx.Response:
        status, pause = answers.pop()
        return httpx.Response(int(status), headers={"retry-after": pause} if pause else {})

    http = Http(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)), sleep=fake.sleep, clock=fake.clock
    )

    async def run() -> None:
        for _ in range(150):
            await http.request("POST", "https://api.example/x", idempotent=False)

    with caplog.at_level(logging.INFO, logger="reconciler.http"):
        await fake.run(asyncio.ensure_future(run()))
        fake.now += 7
        await http.aclose()
        await http.aclose()  # nothing left to say
    said = [record.getMessage() for record in caplog.records]
    assert said[0].startswith("retrying 2/12 POST "), said
    assert said[1].startswith("holding requests for 1 s "), said
    counted = [re.fullmatch(SUMMARY, line) for line in said[2:-1]]
    assert all(counted), said
    last = re.fullmatch(r"rate limited: (\d+) more 429s in the last (\d+) s", said[-1])
    assert last is not None, said
    assert 7 <= int(last[2]) < 60
    # Every 429 but the first (said in full) is counted in a line, none twice.
    assert sum(int(found[1]) for found in counted if found) + int(last[1]) == 149

    quiet = Http(httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="reconciler.http"):
        await quiet.aclose()
    assert caplog.records == []


async def test_429s_without_retry_after_are_counted_and_summed_up_though_none_is_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 429 without `Retry-After` waits a quarter of a second, too short to say in full:
    an apply slowed forty-fold by 30% of such 429s (86 s for 600 steps, 2 s without) said
    nothing of them at all, and no summary either, since none had been said before."""
    answers = [("429", ""), ("204", "")] * 300
    answers.reverse()
    fake = FakeTime()

    def answer(request: httpx.Request) -> httpx.Response:
        status, _ = answers.pop()
        return httpx.Response(int(status))

    http = Http(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)), sleep=fake.sleep, clock=fake.clock
    )

    async def run() -> None:
        for _ in range(300):
            await http.request("POST", "https://api.example/x", idempotent=False)

    with caplog.at_level(logging.INFO, logger="reconciler.http"):
        await fake.run(asyncio.ensure_future(run()))
        await http.aclose()
    said = [record.getMessage() for record in caplog.records]
    assert fake.now > 60
    assert said, "the 429s were never said"
    assert not any(line.startswith(("retrying", "holding")) for line in said), said
    found = [
        re.fullmatch(r"rate limited: (\d+) 429s in the last (\d+) s; pacing at .+", said[0]),
        *(
            re.fullmatch(r"rate limited: (\d+) more 429s in the last \d+ s(; .+)?", line)
            for line in said[1:]
        ),
    ]
    assert all(found), said
    assert 1 <= len(said) <= fake.now / 60 + 1, said
    first = found[0]
    assert first is not None
    assert int(first[2]) >= 60
    assert sum(int(line[1]) for line in found if line) == 300  # each counted once


def test_the_readme_shows_429s_as_they_are_said() -> None:
    first, hold, summary = output("### Waiting, retries and deadlines", index=1)
    assert re.fullmatch(r"retrying 2/12 POST https://\S+ in 1 s \(at [\d:]+ UTC\): 429 .*", first)
    assert hold.startswith("holding requests for 1 s (until ")
    assert re.fullmatch(SUMMARY, summary)


async def test_with_debug_every_429_retry_is_said(caplog: pytest.LogCaptureFixture) -> None:
    fake, rounds = _rate_limited_rounds(100, last_pause=1)
    with caplog.at_level(logging.DEBUG, logger="reconciler.http"):
        await fake.run(rounds)
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying 2/12 POST")]
    assert len(retries) == 101


async def test_a_crowd_refused_together_comes_back_within_a_few_pauses() -> None:
    """64 requests refused together (Retry-After: 1), then welcome: they wait the pause,
    then go one at a time, sooner with each success, all within about 1 + ln 64 pauses.
    Before, the jitter spread them over 2 * 63 pauses (--concurrency 64 took 113 s)."""
    answers = [429] * 64

    def answer(request: httpx.Request) -> httpx.Response:
        status = answers.pop() if answers else 200
        return httpx.Response(status, headers={"retry-after": "1"})

    sleeps = Sleeps()
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, policy=RetryPolicy(attempts=3), sleep=sleeps)
    crowd = [http.request("GET", "https://api.example/x", idempotent=True) for _ in range(64)]
    assert all(a.status_code == 200 for a in await asyncio.gather(*crowd))
    assert max(sleeps.waits) < 1 + math.log(64) + 1, max(sleeps.waits)
    assert min(sleeps.waits) == 1.0  # Retry-After is the least wait
    assert http.retries == 64  # one 429 each: no request was refused twice


async def test_client_errors_are_not_retried() -> None:
    for status in (400, 401, 404, 422):
        http, seen = _answering(status)
        with pytest.raises(ApiError):
            await http.request("GET", "https://api.example/x", idempotent=True)
        assert len(seen) == 1


async def test_retry_after_is_obeyed_and_shared(start_emulator: StartEmulator) -> None:
    server = start_emulator(rate_limit=2)
    sleeps = Sleeps(real=True)
    policy = RetryPolicy(attempts=8, initial_wait=0.01, max_wait=0.05)
    async with client_for(server.url, sleep=sleeps, policy=policy) as client:
        await asyncio.gather(*(client.list() for _ in range(6)))
    assert server.stats()["requests"]  # the server saw the burst
    assert any(wait >= 1.0 for wait in sleeps.waits), sleeps.waits


async def test_rate_limited_error_after_the_last_attempt(start_emulator: StartEmulator) -> None:
    server = start_emulator(rate_limit=2)  # the token and the first list pass, then no more
    async with client_for(
        server.url, sleep=Sleeps(), policy=RetryPolicy(attempts=1, initial_wait=0, max_wait=0)
    ) as client:
        await client.list()
        with pytest.raises(RateLimited) as caught:
            await client.list()
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1


async def test_authorization_is_never_logged(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(emulator.url, secret="emulator") as client:
        await client.list()
        token = await client.tokens.get()
    text = caplog.text
    assert "Bearer" not in text
    assert token not in text
    assert "[redacted]" in text


async def test_connection_refused_is_retried_for_writes_too() -> None:
    # Nothing listens on this port: the request never left, so even a create may repeat.
    sleeps = Sleeps()
    async with client_for("http://127.0.0.1:9", sleep=sleeps) as client:
        with pytest.raises(TransportError):
            await client.tokens.get()
    assert len(sleeps.waits) == 3  # attempts=4


Answer = Callable[[httpx.Request], httpx.Response]


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("All connection attempts failed", request=request)


def _hung_up(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def _unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503)


def _in_order(answers: Sequence[Answer]) -> tuple[Http, list[str]]:
    """An Http whose server answers with each of `answers` in turn, the last one again
    and again; the methods it was asked, in order."""
    seen: list[str] = []
    left = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return (left.pop(0) if len(left) > 1 else left[0])(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    policy = RetryPolicy(attempts=5, initial_wait=0, max_wait=0)
    return Http(client, policy=policy, sleep=Sleeps()), seen


@pytest.mark.parametrize(
    ("method", "answers", "unsent"),
    [
        ("POST", [_refused], True),  # three tries, none connected: a create did not land
        ("POST", [_unavailable, _refused], False),  # the first reached the server
        ("PUT", [_refused, _hung_up, _refused], False),  # the second went out
    ],
)
async def test_a_request_that_never_left_this_machine_says_so(
    method: str, answers: list[Answer], unsent: bool
) -> None:
    """The final error says whether any attempt may have reached the server: a create
    refused at every attempt certainly did not take effect, and the applier does not look
    for it (a dead server cost another twelve attempts of a look-up)."""
    http, seen = _in_order(answers)
    with pytest.raises(ApiError) as caught:
        await http.request(method, "https://api.example/x", idempotent=method == "PUT")
    assert len(seen) == 3
    assert caught.value.unsent is unsent
    assert "gave up after 3 attempts" in caught.value.message


async def test_a_retry_notice_names_what_the_request_is_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two creates retried at once said `retrying 5/12 POST .../calculatedattributes`
    each, with nothing to tell which CA a line was about."""
    http, _ = _in_order([_refused])
    with caplog.at_level(logging.DEBUG, logger="reconciler.http"), pytest.raises(ApiError):
        await http.request("POST", "https://api.example/x", idempotent=False, purpose='create "A"')
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert [line.split(" in ")[0] for line in said] == [
        'retrying 2/3 create "A" (POST https://api.example/x)',
        'retrying 3/3 create "A" (POST https://api.example/x)',
    ]
    caplog.clear()
    http, _ = _in_order([_refused])
    with caplog.at_level(logging.DEBUG, logger="reconciler.http"), pytest.raises(ApiError):
        await http.request("POST", "https://api.example/x", idempotent=False)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert said[0].startswith("retrying 2/3 POST https://api.example/x in "), said


def _reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("", request=request)


def _garbled(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("illegal status line: bytearray(b'HTTP/1.1 2OO')")


@pytest.mark.parametrize(
    ("answer", "failed", "said"),
    [
        # A reset mid-answer (httpx says nothing more): once just `connection failed`.
        (
            _reset,
            "the connection was lost before the answer came (ReadError)",
            "the connection was lost before the answer came",
        ),
        (
            _hung_up,
            "the connection was lost before the answer came (RemoteProtocolError)",
            "the connection was lost before the answer came: Server disconnected without "
            "sending a response.",
        ),
        (
            _garbled,
            "the answer broke the HTTP protocol (RemoteProtocolError)",
            "the answer broke the HTTP protocol: illegal status line: bytearray(b'HTTP/1.1 2OO')",
        ),
        # Refused, the request certainly never reached the server: said apart from lost.
        (
            _refused,
            "the connection was refused",
            "the connection was refused: All connection attempts failed",
        ),
    ],
)
async def test_a_connection_lost_mid_answer_says_so_apart_from_a_refused_one(
    answer: Answer, failed: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The retry notice and the final error say what became of the connection: a reset
    after the request went out read `connection failed`, as if it had never connected."""
    http, _ = _in_order([answer])
    with (
        caplog.at_level(logging.DEBUG, logger="reconciler.http"),
        pytest.raises(ApiError) as caught,
    ):
        await http.request("GET", "https://api.example/x", idempotent=True)
    assert caught.value.message.startswith(f"{failed} (GET https://api.example/x)")
    notices = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert notices, caplog.text
    assert all(notice.split("): ", 1)[1] == said for notice in notices), notices


async def test_ambiguous_write_failures_are_not_repeated(start_emulator: StartEmulator) -> None:
    """Within one create call, every POST but the last drew a 503 or 429 (never processed):
    after a 500, a dropped connection or commit-then-500 the client stops and says so."""
    server = start_emulator(fault_rate=0.9, fault_seed=7)
    create_route = "POST /platform/v2/workspaces/{workspace_id}/calculatedattributes"
    not_processed = {"service_unavailable", "too_many_requests"}
    async with client_for(
        server.url, sleep=Sleeps(), policy=RetryPolicy(attempts=6, initial_wait=0, max_wait=0)
    ) as client:
        server.settings(fault_rate=0)
        await client.tokens.get()
        server.settings(fault_rate=0.9)
        ambiguous = 0
        for n in range(30):
            before = server.stats()
            try:
                await client.create(body(f"CA {n}"))
            except (ServerError, TransportError):
                ambiguous += 1
            except RateLimited:
                pass
            after = server.stats()
            posts = after["requests"].get(create_route, 0) - before["requests"].get(create_route, 0)
            faults = [f["fault"] for f in after["fault_log"][len(before["fault_log"]) :]]
            assert posts == len(faults) or posts == len(faults) + 1
            assert all(kind in not_processed for kind in faults[: posts - 1]), faults
    assert ambiguous > 0


async def test_a_wait_for_the_local_rate_limit_is_announced_before_it_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At RECONCILER_RATE_LIMIT=0.1 the second request of a plan waited 10 s in silence,
    and only then was it said that it had waited, with no time it would end."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(204)))
    # One request a 100 s, on the limiter's real clock: no stall of a loaded machine
    # gives the second its slot before the checks below.
    http = Http(client, rate_limit=0.01, sleep=Sleeps())
    await http.request("GET", "https://api.example/first", idempotent=True)  # the slot
    with caplog.at_level(logging.INFO, logger="reconciler.http"):
        waiting = [
            asyncio.ensure_future(http.request("GET", f"https://api.example/{n}", idempotent=True))
            for n in ("second", "third")
        ]
        for _ in range(5):
            await asyncio.sleep(0)
        announced = [r.getMessage() for r in caplog.records]
        assert not any(task.done() for task in waiting)  # still in line: 100 s a request
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    assert len(announced) == 1, announced  # the third is in the second's announced wait
    assert re.fullmatch(
        r"pacing requests at 0.01 a second \(RECONCILER_RATE_LIMIT or rate_limit\): "
        r"https://api.example/second waits for its turn, at most 100 s "
        r"\(until [-\d ]*\d\d:\d\d:\d\d \S+\)",  # the day too past midnight, the zone
        announced[0],
    ), announced[0]
    assert http._in_line == 0  # the cancelled waits left the line


async def test_a_request_timeout_shorter_than_a_slow_answer_announces_no_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With RECONCILER_REQUEST_TIMEOUT under SLOW_ANSWER, a request that timed out
    announced a wait for its answer "until" a time already past, then failed at once."""

    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    client = httpx.AsyncClient(transport=httpx.MockTransport(never))
    http = Http(client, policy=RetryPolicy(attempts=1, request_timeout=0.05), sleep=Sleeps())
    with caplog.at_level(logging.INFO, logger="reconciler.http"), pytest.raises(TransportError):
        await http.request("GET", "https://api.example/x", idempotent=True)
    assert [r.getMessage() for r in caplog.records] == []


async def test_a_slow_answer_is_announced_naming_the_step_it_is_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Eight creates of an apply waiting on a slow server were announced as eight lines of
    `waiting for the answer to POST https://.../calculatedattributes`, none saying which
    CA it was for (a retry's notice says `create "LTV" (POST ...)`)."""
    announced = asyncio.Event()

    class Heard(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            announced.set()

    async def slow(request: httpx.Request) -> httpx.Response:
        await announced.wait()  # answers once the wait for it was announced
        return httpx.Response(200, json=7)

    http = Http(httpx.AsyncClient(transport=httpx.MockTransport(slow)), sleep=Sleeps())
    http.slow_answer = 0.001
    heard = Heard(logging.INFO)
    logging.getLogger("reconciler.http").addHandler(heard)
    try:
        with caplog.at_level(logging.INFO, logger="reconciler.http"):
            await http.request(
                "POST",
                "https://api.example/platform/v2/workspaces/1/calculatedattributes",
                path="/platform/.../calculatedattributes",
                idempotent=False,
                purpose='create "LTV"',
            )
    finally:
        logging.getLogger("reconciler.http").removeHandler(heard)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1, said
    assert re.fullmatch(
        r'waiting for the answer to create "LTV" \(POST https://api.example/platform/\.\.\./'
        r"calculatedattributes\), until [-\d ]*\d\d:\d\d:\d\d \S+ at the latest",
        said[0],
    ), said[0]


@pytest.mark.parametrize(
    ("method", "answers", "reached"),
    [
        ("POST", ["429", "204"], True),  # carried out, the second time
        ("POST", ["429", "429"], False),  # refused: not processed
        ("POST", ["refused", "refused"], False),  # never left this machine
        ("POST", ["500"], True),  # may have taken effect
        ("POST", ["dropped"], True),  # lost on its way back
        ("DELETE", ["503", "503"], True),
        ("GET", ["500", "204"], False),  # reads change nothing
    ],
)
async def test_a_step_s_writes_are_watched_for_any_that_may_have_reached_the_server(
    method: str, answers: list[str], reached: bool
) -> None:
    """What the applier reads when Ctrl-C interrupts a step: before, any step cut off was
    "interrupted on its way: it may or may not have been carried out", also one waiting
    to be tried again after a 429."""
    left = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        kind = left.pop(0)
        if kind == "refused":
            raise httpx.ConnectError("All connection attempts failed", request=request)
        if kind == "dropped":
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(int(kind), headers={"retry-after": "0"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, policy=RetryPolicy(attempts=len(answers)), sleep=Sleeps())
    with watching() as writes, contextlib.suppress(ApiError):
        await http.request(method, "http://127.0.0.1:9/x", idempotent=method != "POST")
    assert writes.reached is reached
    assert not left


async def test_an_attempt_the_deadline_cuts_short_keeps_the_last_answer() -> None:
    """The last attempt before the deadline, sent with a moment left and unanswered in it,
    ended "no answer before this command's deadline" alone: the 503s the server had
    answered until then were gone from the message (test_waiting's endless 503s, on a
    loaded machine)."""
    answers = ["503"]

    async def answer(request: httpx.Request) -> httpx.Response:
        if answers:
            answers.pop()
            return httpx.Response(503, text="Service unavailable")
        await asyncio.Event().wait()  # the next attempt: no answer before the deadline
        raise AssertionError("unreachable")

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, policy=RetryPolicy(attempts=5, deadline=1.0), sleep=Sleeps())
    with pytest.raises(DeadlineExceeded) as caught:
        await http.request("GET", "https://api.example/x", idempotent=True)
    said = caught.value.message
    assert "no answer before this command's deadline" in said, said
    assert said.endswith(
        "The last answer: server error (GET https://api.example/x -> 503): Service unavailable"
    ), said
    assert caught.value.status == 503


async def test_a_deadline_passed_during_a_wait_keeps_the_last_answer() -> None:
    # On a loaded machine a backoff can end after the deadline although it was asked to
    # end before: the message still says what the server last answered.
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="Service unavailable")

    async def overshooting(seconds: float) -> None:
        await asyncio.sleep(seconds + 0.3)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    policy = RetryPolicy(attempts=100, initial_wait=0.01, max_wait=0.01, deadline=0.2)
    http = Http(client, policy=policy, sleep=overshooting)
    with pytest.raises(DeadlineExceeded) as caught:
        await http.request("GET", "https://api.example/x", idempotent=True)
    assert "deadline of 0.2 s has passed" in caught.value.message
    assert "The last answer: " in caught.value.message
    assert "Service unavailable" in caught.value.message
    assert caught.value.status == 503


@pytest.mark.parametrize(
    ("method", "idempotent", "said"),
    [("GET", True, False), ("POST", False, True), ("PUT", True, True), ("DELETE", True, True)],
)
async def test_a_write_unanswered_by_the_deadline_may_have_taken_effect(
    method: str, idempotent: bool, said: bool
) -> None:
    """A create the deadline cut off after it was sent failed with "no answer" alone: the
    report did not say that the CA may exist now (the next plan reads it, so nothing is
    created twice, but the user was not told to look)."""

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)  # never in time: the deadline below ends the wait
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, policy=RetryPolicy(attempts=1, deadline=0.05))
    with pytest.raises(DeadlineExceeded) as caught:
        await http.request(method, "https://api.example/x", idempotent=idempotent)
    assert "no answer before this command's deadline" in caught.value.message
    assert ("the server may have acted on it all the same" in caught.value.message) is said


class _Searches(MetaPathFinder):
    """Counts how often a module is searched for (found by the finders after it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        self.count += fullname == self.name
        return None


async def test_requests_do_not_search_for_a_module_again_and_again(
    emulator: EmulatorServer,
) -> None:
    # httpcore asks for `sniffio` several times a request. Without it installed (anyio 4
    # no longer brings it) every ask searched each sys.path entry again: applying 4,000
    # steps spent 1.7 s of 7.4 s of CPU on it. It is a dependency now.
    searches = _Searches("sniffio")
    sys.meta_path.insert(0, searches)
    try:
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            for _ in range(5):
                (await client.get("/_emulator/stats")).raise_for_status()
    finally:
        sys.meta_path.remove(searches)
    assert searches.count <= 1
