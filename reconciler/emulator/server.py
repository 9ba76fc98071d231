"""Serving the emulator over HTTP with uvicorn: bind first (so `--port 0` reports the real
port), announce readiness once the socket accepts, and stop cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from reconciler.emulator.app import create_app
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.faults import ConnectionDropped


class _QuietDrops(logging.Filter):
    """A dropped-connection fault is deliberate: keep its traceback out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


class _Server(uvicorn.Server):
    """uvicorn's server, announcing readiness and treating SIGINT/SIGTERM as a normal stop
    (uvicorn would re-raise the signal after shutdown, ending the process with it)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[int], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            self._on_ready(sockets[0].getsockname()[1])

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._stop) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (0 = a free port); raises OSError if that fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP; without it every response stalls ~40 ms (delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    config: EmulatorConfig,
    sock: socket.socket,
    *,
    db_path: str | Path | None = None,
    on_ready: Callable[[int], None] = lambda port: None,
    app: Starlette | None = None,
) -> None:
    """Serve an emulator on a bound socket until SIGINT/SIGTERM (or `should_exit`): `app`,
    else one made from `config` and `db_path`."""
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    server_config = uvicorn.Config(
        app if app is not None else create_app(config, db_path),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        # Longer than clients keep idle connections, so a busy test run does not race the
        # server closing a connection the client is about to reuse (a spurious ReadError).
        timeout_keep_alive=75,
    )
    _Server(server_config, on_ready).run(sockets=[sock])
