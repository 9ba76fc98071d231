"""Waiting that something else may end: `until_stopped` awaits a wait or an event, which
comes first (Ctrl-C while seeding ends a request's wait at once; a pacer's waiter is woken
when the queue changes). Used by `http` and `pacing`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """The run was stopped (`Http.stop`) before this request's next attempt: it is left
    unsent, for a resume to send."""


async def until_stopped(wait: Awaitable[T], stopping: asyncio.Event) -> T:
    """Await `wait`, or raise Stopped as soon as `stopping` is set (ending the wait), also
    when it is set by the time `wait` ends."""
    if stopping.is_set():
        if asyncio.iscoroutine(wait):  # never started: else "was never awaited" on stderr
            wait.close()
        raise Stopped
    waiting = asyncio.ensure_future(wait)
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({waiting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, stopped):
            task.cancel()
        await asyncio.gather(waiting, stopped, return_exceptions=True)
    if stopping.is_set():
        raise Stopped
    return waiting.result()
