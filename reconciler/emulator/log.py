"""The request log: every API request in arrival order, with what it concerned (the CA a
Platform API call named, the CAs and users a seeding request carried) and its status, so
that a test can check the order of things (`GET /_emulator/log`). The gate opens an entry
per request; the handlers add what only they know through `note`."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: Requests the log keeps (the oldest go first).
KEPT = 10_000

_CURRENT: ContextVar[dict[str, Any] | None] = ContextVar("emulator_log_entry", default=None)


def note(**fields: Any) -> None:
    """Add `fields` to the log entry of the request being handled (if any)."""
    entry = _CURRENT.get()
    if entry is not None:
        entry.update(fields)


class RequestLog:
    """The last `KEPT` API requests, numbered from 1 in arrival order."""

    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=KEPT)
        self._next = 1

    @contextmanager
    def request(self, method: str, route: str, at: float) -> Iterator[dict[str, Any]]:
        """Open the entry of one request; `note` reaches it while the block runs."""
        entry: dict[str, Any] = {"n": self._next, "method": method, "route": route, "at": at}
        entry["status"] = None
        self._next += 1
        self._entries.append(entry)
        token = _CURRENT.set(entry)
        try:
            yield entry
        finally:
            _CURRENT.reset(token)

    def since(self, number: int) -> dict[str, Any]:
        """Entries numbered `number` and later (those still kept), and the next number."""
        entries = [dict(entry) for entry in self._entries if entry["n"] >= number]
        return {"entries": entries, "next": self._next}
