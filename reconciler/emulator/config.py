"""Emulator configuration: the start-up options, the knobs tests may change at run time,
and the emulator's clock (wall time plus an offset tests can advance)."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class EmulatorConfig:
    """How an emulator instance behaves; every field has a working default."""

    workspace_id: int | None = None
    client_id: str = "emulator"
    client_secret: str = "emulator"
    api_key: str = "emulator"
    api_secret: str = "emulator"
    latency_ms: float = 0
    rate_limit: float | None = None
    fault_rate: float = 0
    fault_seed: int | None = None
    max_active: int = 100
    retention_days: int | None = None
    calculation_seconds: float = 30
    token_ttl: int = 28800
    #: Seeding API: batches (users) per second, shared with live traffic (0 = no limit).
    seed_limit: float = 270
    #: How much the rate may grow from one window to the next, batches/s (0 = no limit).
    acceleration_limit: float = 0
    #: The share of `seed_limit` the workspace's own live Events API traffic uses.
    live_traffic: float = 0
    #: Seconds of the sliding windows both limits are measured over.
    limit_window: float = 10
    #: Seconds after a CA is created or changed before seeds naming it are accepted.
    propagation_delay: float = 0


#: The statuses a setting may choose, where the docs leave the status open.
STATUS_CHOICES: dict[str, tuple[int | None, ...]] = {
    "business_rule_status": (None, 400, 409, 422),
    "propagation_status": (400, 404),
}


@dataclass(frozen=True)
class RuntimeKnobs:
    """The knobs `PUT /_emulator/settings` may change while the emulator runs."""

    max_active: int
    retention_days: int | None
    calculation_seconds: float
    fault_rate: float
    latency_ms: float
    rate_limit: float | None
    propagation_delay: float = 0
    #: The status of the business-rule refusals (name taken, name read-only, active-CA
    #: limit, no draft): the docs give none. None: 400 for a taken name (it is in the
    #: validation table), 422 for the others (the v1 table's business rules).
    business_rule_status: int | None = None
    #: The status of "No matching calculated attribute definition found" while a CA
    #: propagates (the seeding page shows it as a 400 body; the CA guide says NOT FOUND).
    propagation_status: int = 400

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> RuntimeKnobs:
        return cls(
            max_active=config.max_active,
            retention_days=config.retention_days,
            calculation_seconds=config.calculation_seconds,
            fault_rate=config.fault_rate,
            latency_ms=config.latency_ms,
            rate_limit=config.rate_limit,
            propagation_delay=config.propagation_delay,
        )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def updated(self, changes: dict[str, Any]) -> tuple[RuntimeKnobs | None, list[str]]:
        """A copy with `changes` applied, or the reasons the changes are invalid."""
        errors: list[str] = []
        known = {f.name for f in fields(self)}
        for name in sorted(set(changes) - known):
            errors.append(f"unknown setting {name!r}; known: {', '.join(sorted(known))}")
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                continue
            problem = _problem(name, value)
            if problem is None:
                checked[name] = value
            else:
                errors.append(problem)
        if errors:
            return None, errors
        return replace(self, **checked), []


def _problem(name: str, value: object) -> str | None:
    """Why `value` cannot be the setting `name`, or None."""
    if name in STATUS_CHOICES:
        if isinstance(value, bool) or value not in STATUS_CHOICES[name]:
            return f"{name} must be one of {', '.join(map(str, STATUS_CHOICES[name]))}"
        return None
    if value is None and name in ("retention_days", "rate_limit"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} must be a number"
    if name in ("max_active", "retention_days") and not isinstance(value, int):
        return f"{name} must be an integer"
    if value < 0 or (name == "fault_rate" and value > 1):
        return f"{name} is out of range"
    if name == "rate_limit" and value == 0:
        return "rate_limit must be positive (null for no limit)"
    return None


class Clock:
    """Wall-clock seconds since the epoch, shifted by an offset tests can advance.

    Token expiry and calculation progress read this clock, so a test can move time
    forward instead of sleeping.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
