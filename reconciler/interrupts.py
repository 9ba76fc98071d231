"""What stopped a command (Ctrl-C or SIGTERM), and the event loop a command runs in, for
SIGTERM to stop it as Ctrl-C does. Standard library only: the command line's frame
(`reconciler.cli.app`, which installs the SIGTERM handler) and the commands both use it."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


class Signals:
    """What stopped the command, for its message and exit code; and the task of the
    command's event loop (`run_async`), for SIGTERM to cancel."""

    terminated = False
    task: asyncio.Task[Any] | None = None


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, which SIGTERM stops as Ctrl-C does: by cancelling `main`, so
    that requests in flight end and the command reports what it did.

    asyncio cancels the task on Ctrl-C only when SIGINT has Python's own handler. In a job
    started in the background SIGINT is ignored: SIGTERM then cancels the task recorded
    here (`reconciler.cli.app`), rather than raising KeyboardInterrupt into the loop, which
    left the command's ending to asyncio's shutdown: an apply's report was followed by
    "unhandled exception during asyncio.run() shutdown" and a traceback."""
    import asyncio

    async def watched() -> T:
        Signals.task = asyncio.current_task()
        try:
            return await main
        finally:
            Signals.task = None

    try:
        return asyncio.run(watched())
    except asyncio.CancelledError:
        if Signals.terminated:  # cancelled on SIGTERM, and it ended so
            raise KeyboardInterrupt from None
        raise
