"""Misbehaving HTTP servers on loopback, for what the emulator cannot do: answer one byte
at a time, never answer, answer with an absurd `Retry-After`, or echo what it was sent.

Each runs a raw asyncio server in a thread of its own; `running(behaviour)` yields its URL
and counts the requests it read. A behaviour is a coroutine given the request and the
stream writer; it writes whatever it likes (or nothing) and returns.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Behaviour = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    url: str
    requests: list[Request] = field(default_factory=list)
    #: The listening socket's server: a behaviour (run in its loop) that closes it plays a
    #: server gone, every new connection refused, the open ones left as they are.
    listener: asyncio.Server | None = None


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps({"errors": [{"message": message}]}).encode()
    return response(status, body, {"content-type": "application/json", **(headers or {})})


async def _read(reader: asyncio.StreamReader) -> Request | None:
    head = await reader.readuntil(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")
    method, path, _ = first.split(" ", 2)
    headers = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", 0)))
    return Request(method, path, headers, body)


@contextmanager
def running(behaviour: Behaviour, greeting: bytes = b"") -> Iterator[Server]:
    """A server on a free loopback port for the duration of the block; `greeting` is
    written as soon as a connection opens, before anything is read."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    server = Server("")
    holder: list[asyncio.Server] = []
    # The connections' handlers, held until they end: once its client has gone, a handler
    # that never answers is held by nothing else, and the collector could destroy it (its
    # socket unclosed: a ResourceWarning, an error here) before the loop below cancels it.
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            if greeting:
                writer.write(greeting)
                await writer.drain()
            while (request := await _read(reader)) is not None:
                server.requests.append(request)
                await behaviour(request, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            handlers.discard(task)

    async def start() -> None:
        listening = await asyncio.start_server(handle, "127.0.0.1", 0)
        holder.append(listening)
        server.listener = listening
        port = listening.sockets[0].getsockname()[1]
        server.url = f"http://127.0.0.1:{port}"
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()
        # Stop whatever handlers still wait (a hung answer) before the loop closes.
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield server
    finally:
        if holder:
            loop.call_soon_threadsafe(holder[0].close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def trickling(interval: float) -> Behaviour:
    """Headers at once, then the promised body one byte per `interval` seconds, forever:
    every read succeeds, so only a deadline on the whole answer ends it."""

    async def behaviour(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n")
        while True:
            await writer.drain()
            writer.write(b" ")
            await asyncio.sleep(interval)

    return behaviour


async def hanging(request: Request, writer: asyncio.StreamWriter) -> None:
    """Reads the request and never answers."""
    await asyncio.Event().wait()


def answering(status: int, message: str, headers: dict[str, str] | None = None) -> Behaviour:
    """The same error answer to every request."""

    async def behaviour(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(json_error(status, message, headers))

    return behaviour


#: Request headers a forwarding server does not pass on (its HTTP client sets its own),
#: and answer headers it sets itself.
_HOP = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"}
)
_OWN = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection"})


@contextmanager
def forwarding(upstream: str, instead: Callable[[Request], bytes | None]) -> Iterator[Server]:
    """A server that passes every request on to `upstream` (an emulator) and its answer
    back, except where `instead(request)` gives an answer of its own (nothing is sent on)."""
    import httpx

    async def behaviour(request: Request, writer: asyncio.StreamWriter) -> None:
        own = instead(request)
        if own is not None:
            writer.write(own)
            return
        headers = {k: v for k, v in request.headers.items() if k not in _HOP}
        answer = await asyncio.to_thread(
            client.request, request.method, request.path, headers=headers, content=request.body
        )
        passed = {k: v for k, v in answer.headers.items() if k.lower() not in _OWN}
        writer.write(response(answer.status_code, answer.content, passed))

    with httpx.Client(base_url=upstream, timeout=30) as client, running(behaviour) as server:
        yield server
