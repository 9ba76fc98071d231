"""The answer of an HTTP request read as the typed error it means (used by `http`).

A non-2xx response becomes the ApiError of reconciler.errors for its status, with the
server's messages (every shape mParticle and its gateways answer in) and its `Retry-After`,
secrets redacted.
"""

from __future__ import annotations

import math
import time
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from reconciler.api.secrets import Redactor
from reconciler.errors import (
    ApiError,
    AuthError,
    BusinessRuleError,
    NotFoundError,
    RateLimited,
    ServerError,
    ValidationFailed,
)


def http_date(raw: str | None) -> float | None:
    """An HTTP date in epoch seconds, or None. Every HTTP date is in UTC, also the forms
    that do not say so (`Sun Nov  6 08:49:37 1994`, a `-0000` offset), which Python reads
    as naive: read in the local zone they would be off by its offset."""
    if not raw:
        return None
    try:
        moment = parsedate_to_datetime(raw)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    except (TypeError, ValueError, OverflowError):
        return None


#: The wait a 429 asks for, by the header's standard name and as the default service
#: limits page spells it ("respect the RetryAfter value"): either is read, the first first.
RETRY_AFTER_HEADERS = ("retry-after", "retryafter")


def retry_after_text(response: httpx.Response) -> str | None:
    """The raw wait the answer asks for, under either spelling of its header, or None."""
    for name in RETRY_AFTER_HEADERS:
        raw: str | None = response.headers.get(name)
        if raw:
            return raw
    return None


def _retry_after(response: httpx.Response) -> float | None:
    """The server's `Retry-After` in seconds (a number or an HTTP date), or None.

    A date is counted from the answer's own `Date` when it has one, so that a clock here
    that is off by an hour neither waits an hour too long nor retries at once."""
    raw = retry_after_text(response)
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        at = http_date(raw)
        if at is None:
            return None
        sent = http_date(response.headers.get("date"))
        seconds = at - (time.time() if sent is None else sent)
    return None if math.isnan(seconds) else max(seconds, 0.0)


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


def error_for(
    response: httpx.Response, method: str, path: str, redact: Redactor | None = None
) -> ApiError:
    """The typed error for a non-2xx response; the server's text with secrets hidden."""
    status = response.status_code
    messages = _messages(response)
    common: dict[str, Any] = {
        "status": status,
        "messages": [redact(m) for m in messages] if redact is not None else messages,
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
        return ServerError("server error", retry_after=_retry_after(response), **common)
    return ApiError(f"unexpected HTTP {status}", **common)
