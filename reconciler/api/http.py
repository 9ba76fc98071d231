"""The network seam shared by the Platform API client and the seeding sender.

One httpx.AsyncClient (any transport: the network, or the emulator's ASGI app), a shared
rate limiter, retries per SPEC §4.3 (the rules in `retrying`), a deadline for each request
and for the command, and HTTP failures as typed errors that name the host (`answers`); the
pace after a 429 is `pacing`'s. Text made here about a request (errors, traces) has its
secrets redacted and its control characters escaped; waits of more than a few seconds are
announced on the `reconciler.http` log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from aiolimiter import AsyncLimiter

from reconciler.api.answers import error_for
from reconciler.api.pacing import ALWAYS_SAID, NOTICE_AFTER, Pacer
from reconciler.api.retrying import (
    UNREACHABLE,
    Deadline,
    RetryPolicy,
    attempts_for,
    backoff,
    beyond_deadline,
    failed_how,
    kind_of,
    never_sent,
    retry_line,
)
from reconciler.api.secrets import Redactor
from reconciler.api.stopping import Stopped, until_stopped
from reconciler.errors import (
    ApiError,
    DeadlineExceeded,
    RateLimited,
    TransportError,
    duration,
    until,
)

__all__ = [
    "Http",
    "RetryPolicy",
    "Stopped",
    "Writes",
    "checking",
    "error_for",
    "until_stopped",
    "watching",
]

log = logging.getLogger("reconciler.http")

#: An answer slower than this is announced while it is awaited: the longest a request may
#: keep the terminal silent (at 10 s, with every worker of an apply waiting on a slow
#: server, nothing was said for 9 s at a time).
SLOW_ANSWER = ALWAYS_SAID


class Writes:
    """Whether a request that writes (any but GET and HEAD) was sent, in the task of a
    `watching` block, in a way that may have reached the server: every attempt counts but
    one that never left this machine or was answered 429 (not processed)."""

    def __init__(self) -> None:
        self.reached = False


_WRITES: ContextVar[Writes | None] = ContextVar("writes", default=None)


@contextmanager
def watching() -> Iterator[Writes]:
    """Watch the writes sent in this block by this task (the applier's step: interrupted,
    whether it may have been carried out)."""
    writes = Writes()
    token = _WRITES.set(writes)
    try:
        yield writes
    finally:
        _WRITES.reset(token)


_CHECKING: ContextVar[bool] = ContextVar("checking", default=False)


@contextmanager
def checking() -> Iterator[None]:
    """The requests of this block (in this task) check whether a write whose answer was
    lost took effect: each gets every attempt of the policy (`retrying.attempts_for`),
    within the deadline and announced as any retry."""
    token = _CHECKING.set(True)
    try:
        yield
    finally:
        _CHECKING.reset(token)


def _reached(method: str) -> None:
    """A request of `method` may have reached the server (see `Writes`)."""
    writes = _WRITES.get()
    if writes is not None and method not in ("GET", "HEAD"):
        writes.reached = True


def shown_url(url: str, path: str = "") -> str:
    """What messages call a request: scheme and host always (which server failed matters
    most), then `path` (a readable stand-in for a long one) or the URL's own path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{path or parts.path}"


class Http:
    """Sends requests with the shared limiter and retry policy; 2xx or a typed error."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        rate_limit: float | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        redact: Redactor | None = None,
        proxied: frozenset[str] = frozenset(),
        deadline: Deadline | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        #: The origins (`https://host`) reached through the environment's proxy: a failure
        #: to reach one is the proxy's as much as the host's, and said so.
        self.proxied = proxied
        self._sleep = sleep
        self._clock = clock
        self.policy = policy or RetryPolicy()
        #: The command's deadline: its own (from the policy), or one the command shares
        #: between the clients it makes (`transports.http_for`).
        self.deadline = deadline if deadline is not None else Deadline(self.policy.deadline, clock)
        self.redact = redact if redact is not None else Redactor()
        self.limiter = _limiter(rate_limit) if rate_limit else None
        #: After a 429: holds every request for its Retry-After, then paces them.
        self.pacer = Pacer(self.deadline, sleep, clock)
        #: Requests waiting for a slot of the local rate limit, and when the last wait
        #: announced for one ends at the latest.
        self._in_line = 0
        self._paced_until = 0.0
        self.retries = 0
        self.requests = 0
        #: Requests sent and not answered yet (one waiting to be tried again is not one).
        self.on_the_wire = 0
        self._stopping = asyncio.Event()
        #: Seconds an answer may keep us waiting before the wait is announced.
        self.slow_answer = SLOW_ANSWER

    async def aclose(self) -> None:
        """Close the connections; the 429s not summed up yet are (`RateNotices.finish`)."""
        self.pacer.notices.finish()
        await self.client.aclose()

    def stop(self) -> None:
        """Send nothing more: the requests on the wire get their answers, but none is
        tried again, and a request waiting for its turn (a 429's pause, its back-off)
        raises Stopped at once instead of going out (Ctrl-C while seeding)."""
        self._stopping.set()

    async def _pace(self, shown: str, refusals: int = 0, least: float = 0.0) -> bool:
        """Wait for this request's turn after a 429 (see `pacing`) and for the local rate
        limit; whether the pacer held it back. `refusals`: the 429s it has had; `least`:
        its own Retry-After."""
        waited = False
        if self.pacer.rate is not None:
            turn = self.pacer.turn(refusals, shown, least)
            waited = await until_stopped(turn, self._stopping)
        if self.limiter is not None:
            await until_stopped(self._slot(shown), self._stopping)
        if self._stopping.is_set():
            raise Stopped
        return waited

    async def _slot(self, shown: str) -> None:
        """A slot of the local rate limit, within the deadline. A wait that may last a
        second or more is announced before it starts, with when it ends at the latest:
        each request in line takes one slot, 1/rate seconds. While an announced wait
        lasts, the requests joining the line are not announced again (at --concurrency 8
        that was a line per request)."""
        assert self.limiter is not None
        rate = self.limiter.max_rate / self.limiter.time_period
        if not self.limiter.has_capacity():
            longest = (self._in_line + 1) / rate
            now = self._clock()
            if longest >= NOTICE_AFTER and now >= self._paced_until:
                self._paced_until = now + longest
                log.info(
                    "pacing requests at %g a second (RECONCILER_RATE_LIMIT or rate_limit): "
                    "%s waits for its turn, at most %s (until %s)",
                    rate,
                    shown,
                    duration(longest),
                    until(longest),
                )
        self._in_line += 1
        try:
            await asyncio.wait_for(self.limiter.acquire(), self.deadline.remaining())
        except asyncio.TimeoutError:
            raise DeadlineExceeded(
                f"gave up on {shown}: the command's deadline passed while waiting for the "
                "rate limit (RECONCILER_DEADLINE, RECONCILER_RATE_LIMIT)"
            ) from None
        finally:
            self._in_line -= 1

    def _attempt_timeout(self, shown: str, last: ApiError | None) -> tuple[float, bool]:
        """Seconds this attempt may take, and whether the command's deadline is what
        limits it (raises DeadlineExceeded when it has passed already, with the answer
        to the attempt before, if any: a wait can end later than asked)."""
        remaining = self.deadline.remaining()
        limit = self.policy.request_timeout
        if remaining is None or remaining > limit:
            return limit, False
        if remaining <= 0:
            before = f". The last answer: {last.message}" if last is not None else ""
            raise DeadlineExceeded(
                f"gave up on {shown}: this command's deadline of "
                f"{duration(self.policy.deadline or 0)} has passed (RECONCILER_DEADLINE)"
                f"{before}",
                status=last.status if last is not None else None,
            )
        return remaining, True

    async def _answer(
        self, sending: Awaitable[httpx.Response], request: str, timeout: float
    ) -> httpx.Response | None:
        """The response, or None when none came complete within `timeout` seconds (a
        hung or trickling server): the whole answer counts, not each read. `request`:
        how the announcement of a slow answer names it (its purpose, as a retry's does)."""
        task = asyncio.ensure_future(sending)
        slow = self.slow_answer
        try:
            done, _ = await asyncio.wait({task}, timeout=min(slow, timeout))
            if not done and timeout > slow:  # else its time is up: nothing to announce
                log.info(
                    "waiting for the answer to %s, until %s at the latest",
                    request,
                    until(timeout - slow),
                )
                done, _ = await asyncio.wait({task}, timeout=timeout - slow)
            return task.result() if done else None
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _send_once(
        self,
        method: str,
        url: str,
        shown: str,
        headers: Mapping[str, str],
        body: bytes | None,
        last: ApiError | None = None,
        refusals: int = 0,
        request: str = "",
    ) -> httpx.Response:
        """One attempt; `request` names it in announcements (default: method and URL)."""
        least = (last.retry_after or 0.0) if isinstance(last, RateLimited) else 0.0
        waited = await self._pace(shown, refusals, least)
        sent = self._clock()
        timeout, by_deadline = self._attempt_timeout(shown, last)
        self.requests += 1
        request_headers = dict(headers)
        if body is not None:
            request_headers.setdefault("content-type", "application/json")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("-> %s %s %s", method, self.redact(url), self.redact.headers(request_headers))
        sending = self.client.request(method, url, content=body, headers=request_headers)
        self.on_the_wire += 1
        try:
            response = await self._answer(sending, request or f"{method} {shown}", timeout)
        except httpx.TransportError as exc:
            if not never_sent(exc):
                _reached(method)
            raise self._transport_error(exc, method, shown) from exc
        except BaseException:  # cancelled on its way (Ctrl-C, SIGTERM)
            _reached(method)
            raise
        finally:
            self.on_the_wire -= 1
        if response is None or response.status_code != 429:
            _reached(method)
        if response is None:
            if by_deadline:
                # Sent, with no answer: a write may have taken effect all the same.
                landed = "" if method == "GET" else "; the server may have acted on it all the same"
                before = f". The last answer: {last.message}" if last is not None else ""
                raise DeadlineExceeded(
                    f"gave up on {shown}: no answer before this command's deadline "
                    f"({duration(self.policy.deadline or 0)}, RECONCILER_DEADLINE){landed}"
                    f"{before}",
                    status=last.status if last is not None else None,
                )
            raise TransportError(
                f"no complete answer within {duration(timeout)} (RECONCILER_REQUEST_TIMEOUT)",
                method=method,
                path=shown,
            ) from TimeoutError()
        log.debug("<- %s %s %s", response.status_code, method, shown)
        if response.is_success:
            self.pacer.succeeded(sent, waited)
            return response
        error = error_for(response, method, shown, self.redact)
        if isinstance(error, RateLimited):
            self.pacer.refused(sent, error, self.policy.initial_wait)
        raise error

    def _transport_error(
        self, exc: httpx.TransportError, method: str, shown: str
    ) -> TransportError:
        parts = urlsplit(shown)
        kind = kind_of(exc, parts.hostname or "")
        what = UNREACHABLE.get(kind) or failed_how(exc)
        if kind != "proxy" and f"{parts.scheme}://{parts.netloc}" in self.proxied:
            what += " (through the proxy HTTPS_PROXY, HTTP_PROXY or ALL_PROXY names)"
        detail = self.redact(str(exc)) if str(exc) else ""
        return TransportError(what, method=method, path=shown, messages=[detail] if detail else [])

    async def request(
        self,
        method: str,
        url: str,
        *,
        path: str = "",
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        purpose: str = "",
    ) -> httpx.Response:
        """Send with retries; the final failure raises its typed ApiError, `unsent` when
        no attempt left this machine.

        `path` stands for the URL's path in messages (the host is always named);
        `purpose`, what the request is for (`create "LTV"`), is named in its retry notices.
        """
        body = (
            content if content is not None else (orjson.dumps(json) if json is not None else None)
        )
        shown = shown_url(url, path)
        request = f"{purpose} ({method} {shown})" if purpose else f"{method} {shown}"
        attempt = refusals = 0
        last: ApiError | None = None
        unsent = True  # no attempt so far can have reached the server
        while True:
            attempt += 1
            try:
                return await self._send_once(
                    method, url, shown, headers or {}, body, last, refusals, request
                )
            except DeadlineExceeded:
                raise
            except ApiError as error:
                refusals += isinstance(error, RateLimited)
                unsent = unsent and never_sent(error)
                error.unsent = unsent
                await self._before_retry(error, attempt, idempotent, request, shown, refusals)
                last = error

    async def settle(self, round_: int, error: ApiError, what: str) -> None:
        """Wait before checking and trying a write again whose answer was lost or a 5xx
        (`round_`, 1-based, of the caller's own rounds): the back-off of a retry, within
        the deadline and announced as one, so that a server in trouble for a moment is not
        asked again at once, round after round (the applier's create and activation)."""
        await self._wait(backoff(self.policy, round_, error), error, what, f"trying {what} again")

    async def _wait(self, wait: float, error: ApiError, shown: str, doing: str) -> None:
        """Sleep `wait` seconds before `doing` (a retry of `shown`), within the deadline;
        announced when it is a second or more, and ended at once by `stop`."""
        if not self.deadline.allows(wait):
            raise beyond_deadline(self.deadline, wait, shown, error) from error
        _announce(wait, error, doing)
        await until_stopped(self._sleep(wait), self._stopping)

    async def _before_retry(
        self,
        error: ApiError,
        attempt: int,
        idempotent: bool,
        request: str,
        shown: str,
        refusals: int,
    ) -> None:
        """Wait before the next attempt, announced (`request`: how the notice names it);
        or re-raise `error` when there is none. After a 429 the wait is the pacer's
        (announced here, waited in `_pace`)."""
        kind = kind_of(error, urlsplit(shown).hostname or "")
        allowed = attempts_for(kind, idempotent, self.policy, checking=_CHECKING.get())
        if attempt >= allowed:
            if attempt > 1:
                error.message += f" (gave up after {attempt} attempts)"
                error.args = (error.message,)
            raise error
        if self._stopping.is_set():
            raise Stopped
        if isinstance(error, RateLimited):
            wait = self.pacer.estimate(refusals, error.retry_after or 0.0)
        else:
            wait = backoff(self.policy, attempt, error)
        if not self.deadline.allows(wait):
            raise beyond_deadline(self.deadline, wait, shown, error) from error
        self.retries += 1
        doing = f"retrying {attempt + 1}/{allowed} {request}"
        if isinstance(error, RateLimited):
            self.pacer.announce_retry(wait, error, doing)  # waited in `_pace`, in its queue
        else:
            await self._wait(wait, error, shown, doing)


def _announce(wait: float, error: ApiError, doing: str) -> None:
    """`retrying 2/12 GET ... in 4 s (at 14:03:07): 503 ...`: INFO from a second on."""
    level = logging.INFO if wait >= NOTICE_AFTER else logging.DEBUG
    log.log(level, "%s", retry_line(wait, error, doing))


def _limiter(rate: float) -> AsyncLimiter:
    """`rate` requests a second, in bursts of up to a second's worth; below one a second,
    one request per 1/rate seconds (a bucket must hold at least one request)."""
    return AsyncLimiter(rate, 1.0) if rate >= 1 else AsyncLimiter(1, 1 / rate)
