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


@dataclass(frozen=True)
class RuntimeKnobs:
    """The knobs `PUT /_emulator/settings` may change while the emulator runs."""

    max_active: int
    retention_days: int | None
    calculation_seconds: float
    fault_rate: float
    latency_ms: float
    rate_limit: float | None

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> RuntimeKnobs:
        return cls(
            max_active=config.max_active,
            retention_days=config.retention_days,
            calculation_seconds=config.calculation_seconds,
            fault_rate=config.fault_rate,
            latency_ms=config.latency_ms,
            rate_limit=config.rate_limit,
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
            optional = name in ("retention_days", "rate_limit")
            integral = name in ("max_active", "retention_days")
            if value is None and optional:
                checked[name] = None
            elif isinstance(value, bool) or not isinstance(value, int | float):
                errors.append(f"{name} must be a number")
            elif integral and not isinstance(value, int):
                errors.append(f"{name} must be an integer")
            elif value < 0 or (name == "fault_rate" and value > 1):
                errors.append(f"{name} is out of range")
            elif name == "rate_limit" and value == 0:
                errors.append("rate_limit must be positive (null for no limit)")
            else:
                checked[name] = value
        if errors:
            return None, errors
        return replace(self, **checked), []


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
