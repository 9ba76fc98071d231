"""The runtime state of one emulator: its store, settings, clock, credentials, request
statistics, fault generator and rate limiter — shared by the routes and the middleware."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from reconciler.emulator.auth import Credentials
from reconciler.emulator.config import Clock, EmulatorConfig, RuntimeKnobs
from reconciler.emulator.faults import FaultDrawer, TokenBucket
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "total": self.total,
            "faults": dict(sorted(self.faults.items())),
            "fault_log": self.fault_log,
            "rate_limited": self.rate_limited,
            "seed_users_accepted": self.seed_users_accepted,
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
        self.faults = FaultDrawer(config.fault_seed)
        self.limiter = TokenBucket()

    def reset(self) -> None:
        """Clear all data, counters and run-time settings; restart the fault sequence."""
        self.store.reset()
        self.settings = RuntimeKnobs.from_config(self.config)
        self.clock.offset = 0.0
        self.stats = Stats()
        self.faults = FaultDrawer(self.config.fault_seed)
        self.limiter = TokenBucket()
