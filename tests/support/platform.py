"""A Platform API client for tests, over loopback HTTP to an emulator server, with the
waits it asks for recorded instead of slept (unless told) and a clock tests can move."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from reconciler.api import transports
from reconciler.api.client import PlatformClient
from reconciler.api.http import Http, RetryPolicy
from reconciler.api.retrying import Deadline
from tests.support.workspace import SESSIONS, api_definition


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records the waits the retry policy asks for; waits for real only if told to."""

    def __init__(self, real: bool = False) -> None:
        self.waits: list[float] = []
        self.real = real

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds if self.real else 0)


@asynccontextmanager
async def client_for(
    url: str,
    *,
    secret: str = "emulator",
    sleep: Callable[[float], Awaitable[None]] | None = None,
    policy: RetryPolicy | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[PlatformClient]:
    http = Http(
        httpx.AsyncClient(timeout=10),
        policy=policy or RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05),
        sleep=sleep or asyncio.sleep,
    )
    client = PlatformClient(
        http,
        api_url=url,
        workspace_id=1234,
        auth_url=f"{url}/oauth/token",
        client_id="emulator",
        client_secret=secret,
    )
    if clock is not None:
        client.tokens._clock = clock
    try:
        yield client
    finally:
        await client.aclose()


def body(name: str) -> dict[str, Any]:
    """A create body for a valid CA called `name`."""
    return {"name": name, "description": "", "draft_definition": api_definition(SESSIONS)}


def mocked_client(
    answer: Callable[[httpx.Request], httpx.Response],
    *,
    workspace_id: int = 1,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    api_url: str = "https://api.example",
    auth_url: str = "https://sso.example/oauth/token",
) -> PlatformClient:
    """A client whose server is `answer` (httpx.MockTransport): for what no emulator says,
    such as the docs' printed answers or a server misbehaving on cue."""
    http = Http(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)), sleep=sleep or asyncio.sleep
    )
    return PlatformClient(
        http,
        api_url=api_url,
        workspace_id=workspace_id,
        auth_url=auth_url,
        client_id="your_client_id",
        client_secret="your_client_secret",
    )


def recorded_deadlines(monkeypatch: pytest.MonkeyPatch) -> list[Deadline]:
    """The deadline of every HTTP client the command makes from now on, in order (each
    client its own, or one it shares)."""
    made: list[Deadline] = []

    class Recorded(Http):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self.deadline)

    monkeypatch.setattr(transports, "Http", Recorded)
    return made
