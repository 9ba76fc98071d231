"""The runtime state of one emulator: its store, settings, clock, credentials, request
statistics and log, fault generator, rate limiter and seeding limits — shared by the routes and
the middleware."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from reconciler.emulator.auth import Credentials
from reconciler.emulator.config import Clock, EmulatorConfig, RuntimeKnobs
from reconciler.emulator.faults import FaultDrawer, TokenBucket
from reconciler.emulator.limits import ACCELERATION, SPEED, SeedingLimits
from reconciler.emulator.log import RequestLog
from reconciler.emulator.store import Store


class Stats:
    """What the emulator saw, for tests: requests per route, faults, seeded users."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.total = 0
        self.faults: Counter[str] = Counter()
        self.fault_log: list[dict[str, Any]] = []
        self.rate_limited = 0
        self.seed_users_accepted = 0
        #: Seeding requests refused by the seeding limits, by `X-mp-rate-limit-exceeded`.
        self.seed_limited: Counter[str] = Counter()
        self.peak_percentage_used = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "total": self.total,
            "faults": dict(sorted(self.faults.items())),
            "fault_log": self.fault_log,
            "rate_limited": self.rate_limited,
            "seed_users_accepted": self.seed_users_accepted,
            "seed_limit": {
                "rate_limited": self.seed_limited[SPEED],
                "acceleration_limited": self.seed_limited[ACCELERATION],
                "peak_percentage_used": self.peak_percentage_used,
            },
        }


class EmulatorState:
    """Everything one emulator instance holds; `reset()` returns it to its start."""

    def __init__(self, config: EmulatorConfig, db_path: str | Path | None) -> None:
        self.config = config
        self.settings = RuntimeKnobs.from_config(config)
        self.clock = Clock()
        self.store = Store(db_path)
        self.credentials = Credentials(config, self.clock)
        self.stats = Stats()
        self.log = RequestLog()
        self.faults = FaultDrawer(config.fault_seed)
        self.limiter = TokenBucket()
        self.limits = self._seeding_limits()
        #: Users (by mpid) the Seeding API refuses: a test's way to stage a refusal that
        #: only the server makes.
        self.refused_mpids: frozenset[int] = frozenset()

    def _seeding_limits(self) -> SeedingLimits:
        config = self.config
        return SeedingLimits(
            limit=config.seed_limit,
            acceleration=config.acceleration_limit,
            live_share=config.live_traffic,
            window=config.limit_window,
            start=self.clock.now(),
        )

    def stats_dict(self) -> dict[str, Any]:
        """The statistics, the live traffic run up to the emulator's now."""
        self.limits.catch_up(self.clock.now())
        return {**self.stats.as_dict(), "live_traffic": self.limits.live.as_dict()}

    def reset(self) -> None:
        """Clear all data, counters and run-time settings; restart the fault sequence."""
        self.store.reset()
        self.settings = RuntimeKnobs.from_config(self.config)
        self.clock.offset = 0.0
        self.stats = Stats()
        self.log = RequestLog()
        self.faults = FaultDrawer(self.config.fault_seed)
        self.limiter = TokenBucket()
        self.limits = self._seeding_limits()
        self.refused_mpids = frozenset()
