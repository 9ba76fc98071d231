"""Parsing many manifest files at once, in worker processes (one per core): the first load
of a large directory (no cache yet, as on a fresh CI runner) spends its time parsing YAML,
one file at a time, on one core. Part of manifest loading.

Workers are worth their start only for enough YAML (docs/performance.md): forking a process
that already has every module costs milliseconds, so on Linux, in a process running one
thread (where fork is safe), from about 768 KB of YAML (1,500 CAs); elsewhere (macOS,
Windows, or a process with threads running) each worker starts afresh and imports the
loader, which pays only past several megabytes. `RECONCILER_WORKERS=1` turns workers off.
Should the workers fail to start or die, what they had not done is done here: the results
never depend on them.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

# multiprocessing and the process pool are imported when workers are worth starting: a
# load from the cache (every plan after the first) never starts any.

log = logging.getLogger("reconciler.manifest")

Job = TypeVar("Job")
Result = TypeVar("Result")

#: Bytes of YAML from which workers pay for their start (measured: docs/performance.md;
#: in a whole plan, forked workers lost at 520 KB and won at 1 MB; spawned ones broke even
#: at 5 MB (loading alone)).
FORKED_FROM = 768 * 1024
SPAWNED_FROM = 8 * 1024 * 1024
#: Workers at most, however many cores: past a few, the parent reading results is the limit.
MAX_WORKERS = 8


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set, where the OS says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _threads() -> int:
    """Threads of this process, those of C libraries too where the OS lists them."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _context() -> BaseContext:
    """Fork where it is cheap and safe (Linux, and no other thread that could hold a lock
    the child would inherit held); a fresh interpreter per worker elsewhere."""
    import multiprocessing

    if sys.platform == "linux" and _threads() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def worth(size: int, jobs: int, limit: int | None) -> int:
    """How many workers to parse `jobs` files of `size` bytes in all (0: parse here).
    `limit` is RECONCILER_WORKERS (None: one per available core)."""
    count = min(limit if limit is not None else available_cores(), MAX_WORKERS, jobs)
    if count < 2 or size < FORKED_FROM:  # too little for any worker (asks nothing more)
        return 0
    forked = _context().get_start_method() == "fork"
    return count if forked or size >= SPAWNED_FROM else 0


def _worker_started() -> None:
    # Ctrl-C reaches the whole process group (and a CI runner's SIGTERM may): the command's
    # process stops the workers and says so once, instead of each worker printing a
    # traceback. Ctrl-C is ignored; SIGTERM ends a worker silently (its default, not the
    # command's handler that a forked worker inherits), for the pool ends its workers with
    # it: once one dies, Python 3.12+ waits for the others to end without asking them, so
    # a worker that ignored SIGTERM hung the command for good.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Parsing builds many objects and no cyclic garbage: collect rarely (as the CLI does).
    gc.set_threshold(50_000, 20, 20)


def mapped(work: Callable[[Job], Result], jobs: Sequence[Job], workers: int) -> Iterator[Result]:
    """`work` of each job, in the order of `jobs`, computed by `workers` processes (`work`
    must be a module-level function, its jobs and results picklable). Jobs the workers
    could not do (they failed to start, or died) are done in this process."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    chunk = max(1, len(jobs) // (workers * 4))  # small enough to keep every worker busy
    try:
        executor = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_started)
        try:
            for result in executor.map(work, jobs, chunksize=chunk):
                yield result
                done += 1
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
    except (BrokenProcessPool, OSError) as exc:
        log.debug("parsing in worker processes failed (%s): parsing here instead", exc)
    for job in jobs[done:]:
        yield work(job)
