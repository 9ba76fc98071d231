"""Workspace settings: `reconciler.yaml`, environment and flags, resolved in SPEC §3 order.

Precedence: command-line flag > environment variable > reconciler.yaml > default.
Secrets only ever come from the environment and are kept out of every repr.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from reconciler.errors import SettingsError

Target = Literal["embedded", "mparticle"]

DEFAULT_API_URL = "https://api.mparticle.com"
DEFAULT_AUTH_URL = "https://sso.auth.mparticle.com/oauth/token"
DEFAULT_S2S_URL = "https://s2s.mparticle.com"
#: Seeding API hosts by pod (NOTES.md); `s2s_url` may name a pod instead of a URL.
S2S_PODS = {
    "us1": "https://s2s.us1.mparticle.com",
    "us2": "https://s2s.us2.mparticle.com",
    "eu1": "https://s2s.eu1.mparticle.com",
    "au1": "https://s2s.au1.mparticle.com",
}
EMULATOR_CREDENTIAL = "emulator"
#: Workspace ids are 64-bit integers in the API; a larger one can only be a typo.
MAX_WORKSPACE_ID = 2**63 - 1
WorkspaceId = Annotated[int, Field(gt=0, le=MAX_WORKSPACE_ID)]
EMBEDDED_URL = "http://emulator.invalid"

#: Keys that must never be written in a file; the environment variable to use instead.
SECRET_KEYS = {
    "client_secret": "MPARTICLE_CLIENT_SECRET",
    "api_secret": "MPARTICLE_API_SECRET",
    "secret": "MPARTICLE_CLIENT_SECRET or MPARTICLE_API_SECRET",
    "password": "MPARTICLE_API_SECRET",
    "client_id": "MPARTICLE_CLIENT_ID",
    "api_key": "MPARTICLE_API_KEY",
}

#: Platform API requests per second: the range a rate limit may take, wherever it is set.
MIN_RATE_LIMIT = 0.01
MAX_RATE_LIMIT = 10_000.0
RateLimit = Annotated[float, Field(ge=MIN_RATE_LIMIT, le=MAX_RATE_LIMIT)]
#: A command's overall deadline when RECONCILER_DEADLINE is not set (seed has none).
DEFAULT_DEADLINE = 1800.0


class SettingsFile(BaseModel):
    """`reconciler.yaml`: the non-secret settings of one workspace."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    workspace_id: WorkspaceId | None = None
    target: Target | None = None
    prune: StrictBool | None = None
    api_url: str | None = None
    auth_url: str | None = None
    s2s_url: str | None = None
    #: Platform API requests per second (the shared rate limiter); none = unlimited.
    rate_limit: RateLimit | None = None


@dataclass(frozen=True)
class Flags:
    """Settings given on the command line (None = not given)."""

    workspace_id: int | None = None
    target: Target | None = None
    prune: bool | None = None
    api_url: str | None = None
    rate_limit: float | None = None


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
)


def _knob_value(knob: _Knob, raw: str) -> float:
    """The value of one knob, or a SettingsError naming the variable and its range."""
    try:
        value = knob.parse(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and knob.low <= value <= knob.high):
        low, high = (f"{bound:g}" for bound in (knob.low, knob.high))
        raise SettingsError(f"{knob.env}={raw!r}: must be {knob.meaning} between {low} and {high}")
    return value


def _cache_dir(env: Mapping[str, str]) -> Path | None:
    """RECONCILER_CACHE_DIR (empty: no cache), else the XDG cache directory."""
    configured = env.get("RECONCILER_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reconciler"


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
    cache_dir: Path | None = None

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
        return cls(
            retry_attempts=int(values.get("retry_attempts", default.retry_attempts)),
            retry_initial_wait=values.get("retry_initial_wait", default.retry_initial_wait),
            retry_max_wait=values.get("retry_max_wait", default.retry_max_wait),
            request_timeout=values.get("request_timeout", default.request_timeout),
            deadline=values.get("deadline"),
            wait_interval=values.get("wait_interval", default.wait_interval),
            rate_limit=values.get("rate_limit"),
            cache_dir=_cache_dir(env),
        )

    def command_deadline(self, default: float | None = DEFAULT_DEADLINE) -> float | None:
        """Seconds the command may take: RECONCILER_DEADLINE, else the command's default."""
        return self.deadline if self.deadline is not None else default


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach the workspace."""

    directory: Path
    workspace_id: int
    target: Target
    prune: bool
    api_url: str
    auth_url: str
    s2s_url: str
    rate_limit: float | None
    tuning: Tuning = field(default_factory=Tuning)
    client_id: str = field(default="", repr=False)
    client_secret: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)

    @property
    def emulator_db(self) -> Path:
        """The embedded target's state, beside reconciler.yaml."""
        return self.directory / ".reconciler" / "emulator.db"

    def require_platform_credentials(self) -> None:
        if self.target == "mparticle" and not (self.client_id and self.client_secret):
            raise SettingsError(
                "target mparticle needs Platform API credentials: set MPARTICLE_CLIENT_ID and "
                "MPARTICLE_CLIENT_SECRET in the environment"
            )

    def require_seeding_credentials(self) -> None:
        if self.target == "mparticle" and not (self.api_key and self.api_secret):
            raise SettingsError(
                "seeding needs workspace credentials: set MPARTICLE_API_KEY and "
                "MPARTICLE_API_SECRET in the environment"
            )


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a workspace id (a positive integer)") from None
    if not 0 < value <= MAX_WORKSPACE_ID:
        raise SettingsError(f"{name}={raw!r} is not a workspace id (a positive 64-bit integer)")
    return value


def _first(*candidates: str | None) -> str | None:
    return next((c for c in candidates if c), None)


def resolve(
    directory: Path,
    file: SettingsFile,
    flags: Flags = Flags(),
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Combine flag > environment > file > default into Settings (raises SettingsError)."""
    env = os.environ if environ is None else environ
    env_target = env.get("RECONCILER_TARGET", "").strip() or None
    if env_target is not None and env_target not in ("embedded", "mparticle"):
        raise SettingsError(f"RECONCILER_TARGET={env_target!r}: use embedded or mparticle")
    env_api_url = env.get("MPARTICLE_API_URL", "").strip() or None
    target: Target = (
        flags.target
        or env_target  # type: ignore[assignment]
        or ("mparticle" if (flags.api_url or env_api_url) else None)
        or file.target
        or ("mparticle" if file.api_url else "embedded")
    )
    workspace_id = (
        flags.workspace_id or _env_int(env, "MPARTICLE_WORKSPACE_ID") or file.workspace_id
    )
    if workspace_id is None:
        raise SettingsError(
            f"no workspace id: set workspace_id in {directory / 'reconciler.yaml'}, "
            "MPARTICLE_WORKSPACE_ID, or --workspace-id"
        )
    s2s = _first(env.get("MPARTICLE_S2S_URL"), file.s2s_url) or DEFAULT_S2S_URL
    s2s = S2S_PODS.get(s2s, s2s)
    embedded = target == "embedded"
    tuning = Tuning.from_env(env)
    rate_limit = flags.rate_limit or tuning.rate_limit or file.rate_limit
    return Settings(
        directory=directory,
        workspace_id=workspace_id,
        target=target,
        prune=flags.prune if flags.prune is not None else bool(file.prune),
        api_url=(
            EMBEDDED_URL
            if embedded
            else (_first(flags.api_url, env_api_url, file.api_url) or DEFAULT_API_URL).rstrip("/")
        ),
        auth_url=(
            f"{EMBEDDED_URL}/oauth/token"
            if embedded
            else _first(env.get("MPARTICLE_AUTH_URL"), file.auth_url) or DEFAULT_AUTH_URL
        ),
        s2s_url=EMBEDDED_URL if embedded else s2s.rstrip("/"),
        rate_limit=rate_limit,
        tuning=tuning,
        client_id=EMULATOR_CREDENTIAL if embedded else env.get("MPARTICLE_CLIENT_ID", ""),
        client_secret=EMULATOR_CREDENTIAL if embedded else env.get("MPARTICLE_CLIENT_SECRET", ""),
        api_key=EMULATOR_CREDENTIAL if embedded else env.get("MPARTICLE_API_KEY", ""),
        api_secret=EMULATOR_CREDENTIAL if embedded else env.get("MPARTICLE_API_SECRET", ""),
    )
