"""The network seam shared by the Platform API client and the seeding sender.

One httpx.AsyncClient (any transport: the network, or the emulator's ASGI app), a shared
rate limiter, retries per SPEC §4.3 (tenacity: capped exponential backoff with jitter,
`Retry-After` honoured and shared by every request), and HTTP failures as typed errors.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from reconciler.errors import (
    ApiError,
    AuthError,
    BusinessRuleError,
    NotFoundError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)

log = logging.getLogger("reconciler.http")

#: Statuses retried for every call (the request was not processed, or a proxy failed).
RETRY_ALWAYS = frozenset({429, 502, 503, 504})
#: Longest `Retry-After` we obey; longer ones are capped (the caller can re-run).
MAX_RETRY_AFTER = 120.0
REDACTED_HEADERS = frozenset({"authorization", "cookie", "set-cookie"})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Environment overrides exist for tests and impatient users."""

    attempts: int = 12
    initial_wait: float = 0.25
    max_wait: float = 20.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            attempts=int(env.get("RECONCILER_RETRY_ATTEMPTS", default.attempts)),
            initial_wait=float(env.get("RECONCILER_RETRY_INITIAL_WAIT", default.initial_wait)),
            max_wait=float(env.get("RECONCILER_RETRY_MAX_WAIT", default.max_wait)),
        )


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(when - time.time(), 0.0), MAX_RETRY_AFTER)


def _messages(response: httpx.Response) -> list[str]:
    """The server's error messages: `{"errors":[{"message"}]}`, OAuth or plain text."""
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        text = response.text.strip()
        return [text[:500]] if text else []
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            found = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
            return [m for m in found if m]
        for key in ("message", "error_description", "error", "detail"):
            if isinstance(body.get(key), str):
                return [body[key]]
    if isinstance(body, str):
        return [body]
    return []


def error_for(response: httpx.Response, method: str, path: str) -> ApiError:
    """The typed error for a non-2xx response."""
    status = response.status_code
    messages = _messages(response)
    common: dict[str, Any] = {
        "status": status,
        "messages": messages,
        "method": method,
        "path": path,
    }
    if status == 429:
        return RateLimited("rate limited", retry_after=_retry_after(response), **common)
    if status in (401, 403):
        what = "missing credentials" if status == 401 else "credentials refused"
        return AuthError(f"authentication failed ({what})", **common)
    if status == 404:
        return NotFoundError("not found", **common)
    if status == 400:
        return ValidationFailed("the API rejected the request", **common)
    if status == 422:
        return BusinessRuleError("the API refused the change", **common)
    if status >= 500:
        return ServerError("server error", **common)
    return ApiError(f"unexpected HTTP {status}", **common)


class Http:
    """Sends requests with the shared limiter and retry policy; 2xx or a typed error."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        rate_limit: float | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self._sleep = sleep
        self.policy = policy or RetryPolicy.from_env()
        self.limiter = AsyncLimiter(rate_limit, 1.0) if rate_limit else None
        self._resume_at = 0.0
        self.retries = 0
        self.requests = 0

    async def aclose(self) -> None:
        await self.client.aclose()

    def _retryable(self, idempotent: bool) -> Any:
        def decide(exc: BaseException) -> bool:
            if isinstance(exc, TransportError):
                # A request that never reached the server is safe to repeat; any other
                # transport failure may have taken effect, so only idempotent calls repeat.
                return idempotent or isinstance(
                    exc.__cause__, (httpx.ConnectError, httpx.ConnectTimeout)
                )
            if isinstance(exc, ApiError) and exc.status is not None:
                return exc.status in RETRY_ALWAYS or (idempotent and exc.status == 500)
            return False

        return retry_if_exception(decide)

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(
            multiplier=self.policy.initial_wait, max=self.policy.max_wait
        )
        delay = float(backoff(state))
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            # The server said when; a little jitter keeps concurrent callers from a stampede.
            return exc.retry_after + random.uniform(0, min(1.0, 0.1 * exc.retry_after))
        return delay

    async def _before_sleep(self, state: RetryCallState) -> None:
        self.retries += 1
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.debug("retry %d in %.2fs after %s", state.attempt_number, wait, exc)

    async def _pace(self) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            await self._sleep(delay)
        if self.limiter is not None:
            await self.limiter.acquire()

    async def _send_once(
        self,
        method: str,
        url: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> httpx.Response:
        await self._pace()
        self.requests += 1
        request_headers = dict(headers)
        if body is not None:
            request_headers.setdefault("content-type", "application/json")
        _log_request(method, url, request_headers)
        try:
            response = await self.client.request(method, url, content=body, headers=request_headers)
        except httpx.TimeoutException as exc:
            raise TransportError(
                f"timed out ({type(exc).__name__})", method=method, path=path
            ) from exc
        except httpx.TransportError as exc:
            raise TransportError(
                f"connection failed ({type(exc).__name__}: {exc})", method=method, path=path
            ) from exc
        log.debug("<- %s %s %s", response.status_code, method, path)
        if response.is_success:
            return response
        error = error_for(response, method, path)
        if isinstance(error, RateLimited):
            pause = error.retry_after if error.retry_after is not None else self.policy.initial_wait
            self._resume_at = max(self._resume_at, time.monotonic() + pause)
        raise error

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
    ) -> httpx.Response:
        """Send with retries; the final failure raises its typed ApiError."""
        body = (
            content if content is not None else (orjson.dumps(json) if json is not None else None)
        )
        shown = path or url
        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=self._retryable(idempotent),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(method, url, shown, headers or {}, body)
        raise AssertionError("unreachable: tenacity re-raises the last error")


def _log_request(method: str, url: str, headers: Mapping[str, str]) -> None:
    if log.isEnabledFor(logging.DEBUG):
        shown = {
            k: ("[redacted]" if k.lower() in REDACTED_HEADERS else v) for k, v in headers.items()
        }
        log.debug("-> %s %s %s", method, url, shown)
