"""A blocking call left running in a thread (a host name the resolver has not answered
for) must not hold the end of a command: asyncio.run joined the default executor's
threads, so a command that had failed on its request timeout stayed silent until the
resolver gave up."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from reconciler import threads
from reconciler.interrupts import run_async

#: How long the loop's end may take; a join of the stuck thread takes until it is released.
ENDS_WITHIN = 5.0


async def leave_a_call_blocked(release: threading.Event) -> str:
    """What a request timeout does to a DNS lookup: the call runs on, nobody awaits it."""
    loop = asyncio.get_running_loop()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        release.wait()

    loop.run_in_executor(None, stuck)
    await loop.run_in_executor(None, started.wait)  # the blocked call is under way
    return "done"


@pytest.mark.parametrize("runner", [run_async, threads.run], ids=["run_async", "threads.run"])
def test_a_call_still_blocked_in_a_thread_does_not_hold_the_end(
    runner: Callable[[Coroutine[Any, Any, str]], str],
) -> None:
    release = threading.Event()
    results: list[str] = []
    command = threading.Thread(target=lambda: results.append(runner(leave_a_call_blocked(release))))
    command.start()
    command.join(ENDS_WITHIN)
    ended = not command.is_alive()
    release.set()  # let the old code's join finish, so the test ends either way
    command.join(ENDS_WITHIN)
    assert ended, "the loop's end waited for a call nobody awaits"
    assert results == ["done"]


def test_a_call_still_gives_its_result_and_its_exception() -> None:
    async def main() -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        value = await loop.run_in_executor(None, sum, [1, 2, 3])
        with pytest.raises(ZeroDivisionError) as raised:
            await loop.run_in_executor(None, divmod, 1, 0)
        return value, type(raised.value).__name__

    assert threads.run(main()) == (6, "ZeroDivisionError")
