"""A real emulator server for tests: `running_emulator(**options)` starts
`python -m reconciler emulator --port 0 ...` as a subprocess (reconciler.emulator.process)
and stops it on exit; `EmulatorServer` adds helpers for the test routes tests use."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from reconciler.emulator import process
from reconciler.emulator.process import AUDIENCE, EmulatorError, command

__all__ = [
    "AUDIENCE",
    "EmulatorError",
    "EmulatorServer",
    "close_app",
    "emulator_command",
    "in_process",
    "running_emulator",
]

emulator_command = command


def close_app(app: Starlette) -> None:
    """Close the database of an emulator app served in this process, as a server's lifespan
    does: httpx's ASGI transport runs no lifespan, and Python 3.13 warns of a SQLite
    connection left open (an error under the suite's warning filter)."""
    app.state.emulator.store.close()


@asynccontextmanager
async def in_process(
    app: Starlette, base_url: str = "http://emulator"
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client of `app` in this process, as the embedded target uses it; the app's
    database closed afterwards."""
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=base_url
        ) as http:
            yield http
    finally:
        close_app(app)


class EmulatorServer(process.EmulatorProcess):
    """A running emulator process, with helpers for the `/_emulator` routes."""

    def platform_headers(self) -> dict[str, str]:
        """`Authorization: Bearer <fresh token>` for the Platform API."""
        return {"Authorization": f"Bearer {self.token()}"}

    def seeding_headers(self) -> dict[str, str]:
        """`Authorization: Basic <api_key:api_secret>` for the Seeding API."""
        key = self.options.get("api_key", "emulator")
        secret = self.options.get("api_secret", "emulator")
        return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}

    def reset(self) -> None:
        """Clear all data, counters and run-time settings."""
        self.control("POST", "reset")

    def seeds(self, limit: int | None = None, offset: int = 0) -> dict[str, Any]:
        """`{"count": N, "users": [...]}`: the seeded users in first-seen order."""
        params: dict[str, int] = {"offset": offset}
        if limit is not None:
            params["limit"] = limit
        result: dict[str, Any] = self.control("GET", "seeds", params=params).json()
        return result

    def log(self, since: int = 1) -> list[dict[str, Any]]:
        """The API requests since number `since`, in arrival order: `{"n", "method",
        "route", "at", "status", "ca": {"id", "name"}, "seeds": {"users", "cas", "mpids"},
        "fault", "committed"}` (the last four where they apply)."""
        entries: list[dict[str, Any]] = self.control("GET", "log", params={"since": since}).json()[
            "entries"
        ]
        return entries

    def set_audience_count(self, ca_id: int, count: int | None) -> None:
        """The count the answers give for the CA: any integer (-1 for "unknown"), or None
        for none (the key left out)."""
        self.control(
            "PUT",
            f"calculatedattributes/{ca_id}/audience_count",
            json={"audience_count": count},
        )

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Change run-time settings (max_active, retention_days, calculation_seconds,
        fault_rate, latency_ms, rate_limit, propagation_delay, business_rule_status,
        propagation_status); returns them all."""
        if changes:
            result: dict[str, Any] = self.control("PUT", "settings", json=changes).json()
        else:
            result = self.control("GET", "settings").json()
        return result

    def refuse_seeds(self, *mpids: int) -> None:
        """Make the Seeding API refuse (400) any request holding a user with these mpids:
        a refusal only the server makes, for bisection."""
        self.control("PUT", "seed_refusals", json={"mpids": list(mpids)})

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward (token expiry, calculation progress)."""
        self.control("POST", "clock", json={"advance_seconds": seconds})


#: Tests seed unthrottled unless they ask for the Seeding API's limit (`seed_limit=270`;
#: `seed_limit=None` leaves the command's own default).
TEST_DEFAULTS: dict[str, Any] = {"seed_limit": 0}


@contextmanager
def running_emulator(
    *, db: str | Path | None = None, startup_timeout: float = 30, **options: Any
) -> Iterator[EmulatorServer]:
    """A running emulator for the duration of the block, stopped (SIGTERM) at exit."""
    options = {**TEST_DEFAULTS, **options}
    with process.running(
        EmulatorServer, db=db, startup_timeout=startup_timeout, **options
    ) as server:
        yield server
