"""What stopped a command (Ctrl-C or SIGTERM), and the event loop a command runs in, which
either stops as Python 3.11's asyncio.run has Ctrl-C do: by cancelling the command's task,
so that requests in flight end and the command says what it did (apply prints its
report). Standard library only: the command line's frame (`reconciler.cli.app`, which
installs the SIGTERM handler) and the commands both use it."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # asyncio is imported by the commands that run a loop: not by --help
    import asyncio
    from types import FrameType

T = TypeVar("T")


class Signals:
    """What stopped the command, for its message and exit code; and the task of the
    command's event loop (`run_async`), for SIGTERM (or Ctrl-C on 3.10) to cancel."""

    terminated = False
    task: asyncio.Task[Any] | None = None


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, where the first Ctrl-C or SIGTERM cancels `main`, which may end
    its work and report; a second stops at once (KeyboardInterrupt). A `main` that lets
    the cancellation out ends in KeyboardInterrupt.

    Python 3.11's asyncio.run does so for Ctrl-C when SIGINT has Python's own handler;
    3.10's installs none (Ctrl-C raised KeyboardInterrupt wherever the loop was, and `main`
    was cancelled only while the loop shut down, too late to report), so it gets the same
    handler here. In a job started in the background SIGINT is ignored: SIGTERM then
    cancels the task recorded here (`reconciler.cli.app`), rather than raising
    KeyboardInterrupt into the loop, which left the ending to asyncio's shutdown and
    printed a traceback after the report. A blocking call left running in a thread (a
    host name the resolver has not answered for) does not hold the end (`threads`)."""
    import asyncio

    from reconciler.threads import DetachedThreads

    async def watched() -> T:
        asyncio.get_running_loop().set_default_executor(DetachedThreads())
        Signals.task = asyncio.current_task()
        try:
            return await main
        finally:
            Signals.task = None

    ours = (
        sys.version_info < (3, 11)
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if ours:  # else Ctrl-C is asyncio's (3.11+), ignored, or handled by whoever runs us
        _Interrupts.count = 0
        signal.signal(signal.SIGINT, _on_ctrl_c)
    try:
        return asyncio.run(watched())
    except asyncio.CancelledError:
        if Signals.terminated or _Interrupts.count:  # cancelled on a signal, and it ended so
            raise KeyboardInterrupt from None
        raise
    finally:
        if ours and signal.getsignal(signal.SIGINT) is _on_ctrl_c:
            signal.signal(signal.SIGINT, signal.default_int_handler)


class _Interrupts:
    """Ctrl-Cs met by the 3.10 handler of `run_async`."""

    count = 0


def cancel_command() -> bool:
    """Cancel the command's task and wake its loop; False when there is none running."""
    task = Signals.task
    if task is None or task.done():
        return False
    task.cancel()
    task.get_loop().call_soon_threadsafe(lambda: None)  # wake a loop blocked in select
    return True


def _on_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """Python 3.11's Ctrl-C handler for 3.10: the first cancels the command's task, a
    second (or one with no task running) raises KeyboardInterrupt."""
    _Interrupts.count += 1
    if _Interrupts.count == 1 and cancel_command():
        return
    raise KeyboardInterrupt
