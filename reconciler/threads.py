"""The threads of a command's event loop: asyncio resolves host names (and the checkpoint
syncs its file) in the loop's default executor, where a call cannot be cancelled. A lookup
the request timeout gave up on goes on waiting for the resolver; ThreadPoolExecutor's
threads are joined when `asyncio.run` ends and again when Python exits, so a DNS server
that did not answer held a command that had already failed, silently, for as long as the
resolver's own timeouts (minutes with search domains), beyond every deadline. Here each
call gets a daemon thread, which nothing waits for once nobody waits for its result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class DetachedThreads(ThreadPoolExecutor):
    """A default executor (asyncio requires a ThreadPoolExecutor) whose calls each run in
    a daemon thread of their own, and whose shutdown waits for none of them."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def call() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=call, name="reconciler-call", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to join: a call still running is one nobody waits for any more."""


async def detached(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` with DetachedThreads as the loop's default executor."""
    asyncio.get_running_loop().set_default_executor(DetachedThreads())
    return await main


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, ending without waiting for a blocking call left running."""
    return asyncio.run(detached(main))
