"""The `RECONCILER_*` knobs of the environment (retries, timeouts, the deadline, rate limits,
the cache, workers): every one read and validated here, once, into `Tuning`, with a named
error and its range for a bad value."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import SettingsError
from reconciler.settings.file import (
    MAX_ACTIVE_LIMIT,
    MAX_RATE_LIMIT,
    MAX_SEED_RATE,
    MAX_SEED_RATE_CEILING,
    MIN_RATE_LIMIT,
    MIN_SEED_RATE,
    MIN_SEED_RATE_CEILING,
)

#: A command's overall deadline when RECONCILER_DEADLINE is not set (seed has none).
DEFAULT_DEADLINE = 1800.0


@dataclass(frozen=True)
class _Knob:
    """One environment variable of Tuning: how to read it and what it may be."""

    env: str
    field: str
    parse: Callable[[str], float]
    low: float
    high: float
    meaning: str


def _integer(raw: str) -> float:
    return int(raw)


_KNOBS = (
    _Knob("RECONCILER_RETRY_ATTEMPTS", "retry_attempts", _integer, 1, 100, "a number of attempts"),
    _Knob("RECONCILER_RETRY_INITIAL_WAIT", "retry_initial_wait", float, 0, 600, "seconds"),
    _Knob("RECONCILER_RETRY_MAX_WAIT", "retry_max_wait", float, 0, 3600, "seconds"),
    _Knob("RECONCILER_REQUEST_TIMEOUT", "request_timeout", float, 0.01, 3600, "seconds"),
    _Knob("RECONCILER_DEADLINE", "deadline", float, 0.01, 7 * 24 * 3600, "seconds"),
    _Knob("RECONCILER_WAIT_INTERVAL", "wait_interval", float, 0.01, 3600, "seconds"),
    _Knob(
        "RECONCILER_RATE_LIMIT",
        "rate_limit",
        float,
        MIN_RATE_LIMIT,
        MAX_RATE_LIMIT,
        "a number of requests per second",
    ),
    _Knob(
        "RECONCILER_SEED_RATE",
        "seed_rate",
        float,
        MIN_SEED_RATE,
        MAX_SEED_RATE,
        "a number of users per second",
    ),
    _Knob(
        "RECONCILER_SEED_RATE_CEILING",
        "seed_rate_ceiling",
        float,
        MIN_SEED_RATE_CEILING,
        MAX_SEED_RATE_CEILING,
        "a percentage",
    ),
    _Knob("RECONCILER_ACTIVE_LIMIT", "active_limit", int, 1, MAX_ACTIVE_LIMIT, "a number of CAs"),
    _Knob("RECONCILER_WORKERS", "workers", _integer, 1, 64, "a number of processes"),
)


#: Every environment variable the settings read (besides an environment's own
#: `MPARTICLE_<ENV>_*` credentials and workspace id): the README's tables list them, and
#: the resilience suite drives each with junk.
ENVIRONMENT_VARIABLES = (
    *(knob.env for knob in _KNOBS),
    "RECONCILER_TARGET",
    "RECONCILER_ENV",
    "RECONCILER_CACHE_DIR",
    "RECONCILER_TRUSTED_HOSTS",
    "MPARTICLE_WORKSPACE_ID",
    "MPARTICLE_API_URL",
    "MPARTICLE_AUTH_URL",
    "MPARTICLE_S2S_URL",
    "MPARTICLE_CLIENT_ID",
    "MPARTICLE_CLIENT_SECRET",
    "MPARTICLE_API_KEY",
    "MPARTICLE_API_SECRET",
)


def _knob_value(knob: _Knob, raw: str) -> float:
    """The value of one knob, or a SettingsError naming the variable and its range."""
    try:
        value = knob.parse(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and knob.low <= value <= knob.high):
        # As the README writes them: 10000000, not 1e+07.
        low, high = (f"{bound:f}".rstrip("0").rstrip(".") for bound in (knob.low, knob.high))
        raise SettingsError(f"{knob.env}={raw!r}: must be {knob.meaning} between {low} and {high}")
    return value


def _cache_dir(env: Mapping[str, str]) -> tuple[Path | None, str | None]:
    """RECONCILER_CACHE_DIR (empty: no cache), else the XDG cache directory; or no cache
    and why, when `~` names no folder (no HOME, and a user id without a passwd entry:
    a container run as an arbitrary user)."""
    configured = env.get("RECONCILER_CACHE_DIR")
    try:
        if configured is not None:
            return (Path(configured).expanduser() if configured.strip() else None), None
        base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:
        return None, "no home directory: HOME is not set and the user has no passwd entry"
    return Path(base) / "reconciler", None


@dataclass(frozen=True)
class Tuning:
    """How hard and how long to try, and where to keep the cache: every RECONCILER_*
    knob of the environment, read and validated here and passed down from here."""

    retry_attempts: int = 12
    retry_initial_wait: float = 0.25
    retry_max_wait: float = 20.0
    #: Longest one HTTP request may take, answer included (a trickling server too).
    request_timeout: float = 60.0
    #: The command's overall deadline in seconds; None: the command's own default.
    deadline: float | None = None
    #: Seconds between polls of `apply --wait`.
    wait_interval: float = 5.0
    rate_limit: float | None = None
    #: Seeding's users per second and rate-limit ceiling (percent); None: not set here.
    seed_rate: float | None = None
    seed_rate_ceiling: float | None = None
    #: The account's active-CA limit; None: not set here.
    active_limit: int | None = None
    cache_dir: Path | None = None
    #: Why there is no cache_dir though the cache is not turned off (said once, as a warning).
    cache_unusable: str | None = None
    #: Processes that parse manifest files on a first load; None: one per core.
    workers: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Tuning:
        """The knobs set in the environment (empty = not set); SettingsError names a bad one."""
        env = os.environ if environ is None else environ
        values: dict[str, float] = {}
        for knob in _KNOBS:
            raw = env.get(knob.env, "").strip()
            if raw:
                values[knob.field] = _knob_value(knob, raw)
        default = cls()
        cache_dir, cache_unusable = _cache_dir(env)
        return cls(
            retry_attempts=int(values.get("retry_attempts", default.retry_attempts)),
            retry_initial_wait=values.get("retry_initial_wait", default.retry_initial_wait),
            retry_max_wait=values.get("retry_max_wait", default.retry_max_wait),
            request_timeout=values.get("request_timeout", default.request_timeout),
            deadline=values.get("deadline"),
            wait_interval=values.get("wait_interval", default.wait_interval),
            rate_limit=values.get("rate_limit"),
            seed_rate=values.get("seed_rate"),
            seed_rate_ceiling=values.get("seed_rate_ceiling"),
            active_limit=int(values["active_limit"]) if "active_limit" in values else None,
            cache_dir=cache_dir,
            cache_unusable=cache_unusable,
            workers=int(values["workers"]) if "workers" in values else None,
        )

    def command_deadline(self, default: float | None = DEFAULT_DEADLINE) -> float | None:
        """Seconds the command may take: RECONCILER_DEADLINE, else the command's default."""
        return self.deadline if self.deadline is not None else default
