"""Workspace settings: `reconciler.yaml`, environment and flags, resolved in SPEC §3 order.

Precedence: command-line flag > environment variable > reconciler.yaml > default.
Secrets only ever come from the environment and are kept out of every repr.
With `environments:` (SPEC §7) one file describes several workspaces: an environment's
settings are the top level's with its own on top, and each command picks one (`--env`).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    StrictBool,
    WithJsonSchema,
)

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


#: `--env all` plans every environment, so no environment may be called that.
ALL_ENVIRONMENTS = "all"
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _environment_name(value: str) -> str:
    if not _ENVIRONMENT_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an environment name: use letters, digits, `-` and `_`, "
            "starting with a letter or digit"
        )
    if value.lower() == ALL_ENVIRONMENTS:
        raise ValueError("`all` is reserved (`--env all` plans every environment)")
    return value


EnvironmentName = Annotated[
    str,
    AfterValidator(_environment_name),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{_ENVIRONMENT_NAME.pattern}$",
            "not": {"pattern": "^[Aa][Ll][Ll]$"},
            "description": "An environment of reconciler.yaml (`all` is reserved).",
        }
    ),
]
Drafts = Literal["discard", "preserve"]


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an API address (None when it can): it must be http:// or
    https://, name a host and, if any, a port in range, and hold no space or control
    character."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "holds a space or a control character"
    try:
        parts = urlsplit(url)
        _port = parts.port  # reading it checks its range
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "names no host"
    return None


def _api_url(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(f"{value!r} {problem}")
    return value


def _s2s_url(value: str) -> str:
    return value if value in S2S_PODS else _api_url(value)


ApiUrl = Annotated[str, AfterValidator(_api_url)]
#: A Seeding API URL, or the name of a pod (us1, us2, eu1, au1).
S2sUrl = Annotated[str, AfterValidator(_s2s_url)]


def is_loopback(url: str) -> bool:
    """Whether `url` stays on this machine (localhost, 127.0.0.0/8, ::1)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SafetyPolicy(BaseModel):
    """The `safety:` block (SPEC §8): limits a plan must keep unless a rule is allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: Updates and deletes of active CAs, as a share of the in-scope workspace (rule
    #: `threshold`).
    max_change_percent: Annotated[float, Field(ge=0, le=100)] = 30
    #: Workspaces with fewer CAs (in scope) are exempt from `threshold`.
    min_workspace_size: NonNegativeInt = 10
    #: false: every delete is refused (rule `delete`).
    allow_delete: StrictBool = True
    #: More activations in one plan are refused (rule `activations`); none = no limit.
    max_activations: NonNegativeInt | None = None


class WorkspaceSettings(BaseModel):
    """The settings of one workspace: the top level of `reconciler.yaml`, and each
    environment's block (every field here may be set per environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    workspace_id: WorkspaceId | None = None
    target: Target | None = None
    prune: StrictBool | None = None
    api_url: ApiUrl | None = None
    auth_url: ApiUrl | None = None
    s2s_url: S2sUrl | None = None
    #: Platform API requests per second (the shared rate limiter); none = unlimited.
    rate_limit: RateLimit | None = None
    #: Seeding: the most users (Events API batches) per second; none = the seed default.
    seed_rate: PositiveFloat | None = None
    #: Seeding: the X-mp-rate-limit-percentage-used to stay under; none = the default.
    seed_rate_ceiling: Annotated[float, Field(gt=0, le=100)] | None = None
    #: Name globs (fnmatch, case-sensitive) of the CAs this repository owns (SPEC §8).
    scope: list[str] | None = None
    safety: SafetyPolicy | None = None
    #: discard: a draft made outside Git is discarded; preserve: kept, never overwritten.
    drafts: Drafts | None = None
    #: The account's limit on active CAs (SPEC §9, rule `active-limit`); none = unknown
    #: (the embedded target: its emulator enforces this, else its own default).
    active_limit: PositiveInt | None = None
    #: The account's retention period in days: `since` dates and `within` windows beyond
    #: it are validation errors (offline); none = not checked.
    retention_days: PositiveInt | None = None
    #: The embedded target's database, relative to this file's folder (default
    #: `.reconciler/emulator.db`; `.reconciler/<env>/emulator.db` per environment).
    #: `export` writes it so that its output plans against the same embedded workspace.
    emulator_db: str | None = None


class EnvironmentSettings(WorkspaceSettings):
    """One entry of `environments:`: its own settings over the top level's."""

    #: The promotion gate: a change planned here must already be active there.
    promote_from: EnvironmentName | None = None


class SettingsFile(WorkspaceSettings):
    """`reconciler.yaml`: the non-secret settings of one workspace, or of several
    (`environments:`); without environments it is one unnamed environment, as before."""

    default_environment: EnvironmentName | None = None
    environments: dict[EnvironmentName, EnvironmentSettings | None] | None = None


@dataclass(frozen=True)
class Flags:
    """Settings given on the command line (None = not given)."""

    workspace_id: int | None = None
    target: Target | None = None
    prune: bool | None = None
    api_url: str | None = None
    rate_limit: float | None = None
    seed_rate: float | None = None
    seed_rate_ceiling: float | None = None
    #: `--env NAME` or `all` (None = RECONCILER_ENV, else default_environment).
    environment: str | None = None


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
    _Knob("RECONCILER_SEED_RATE", "seed_rate", float, 0.01, 1e7, "a number of users per second"),
    _Knob("RECONCILER_SEED_RATE_CEILING", "seed_rate_ceiling", float, 0.01, 100, "a percentage"),
    _Knob("RECONCILER_ACTIVE_LIMIT", "active_limit", int, 1, 10**9, "a number of CAs"),
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
    #: Seeding's users per second and rate-limit ceiling (percent); None: not set here.
    seed_rate: float | None = None
    seed_rate_ceiling: float | None = None
    #: The account's active-CA limit; None: not set here.
    active_limit: int | None = None
    cache_dir: Path | None = None
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
            cache_dir=_cache_dir(env),
            workers=int(values["workers"]) if "workers" in values else None,
        )

    def command_deadline(self, default: float | None = DEFAULT_DEADLINE) -> float | None:
        """Seconds the command may take: RECONCILER_DEADLINE, else the command's default."""
        return self.deadline if self.deadline is not None else default


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach the workspace (of one environment)."""

    directory: Path
    workspace_id: int
    target: Target
    prune: bool
    api_url: str
    auth_url: str
    s2s_url: str
    rate_limit: float | None
    #: Seeding's rate and ceiling (None: the seeding defaults, 100 users/s and 80%).
    seed_rate: float | None = None
    seed_rate_ceiling: float | None = None
    tuning: Tuning = field(default_factory=Tuning)
    client_id: str = field(default="", repr=False)
    client_secret: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)
    #: The environment's name; None for the unnamed one (no `environments:`).
    environment: str | None = None
    scope: tuple[str, ...] | None = None
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)
    drafts: Drafts = "discard"
    promote_from: str | None = None
    #: The account's active-CA limit (RECONCILER_ACTIVE_LIMIT > active_limit); None = unknown.
    active_limit: int | None = None
    retention_days: int | None = None
    #: The `emulator_db` setting, resolved against the manifest directory.
    database: Path | None = None

    @property
    def emulator_db(self) -> Path:
        """The embedded target's state: the `emulator_db` setting, else beside
        reconciler.yaml, one database per environment (`.reconciler/<env>/emulator.db`),
        the unnamed one as before."""
        if self.database is not None:
            return self.database
        if self.environment is None:
            return self.directory / ".reconciler" / "emulator.db"
        return self.directory / ".reconciler" / self.environment / "emulator.db"

    @property
    def where(self) -> str:
        """The workspace for messages: `workspace 333 (environment prod)`."""
        named = f" (environment {self.environment})" if self.environment else ""
        return f"workspace {self.workspace_id}{named}"

    def require_platform_credentials(self) -> None:
        if self.target == "mparticle" and not (self.client_id and self.client_secret):
            raise SettingsError(
                "target mparticle needs Platform API credentials: set "
                f"{_credential_names(self.environment, 'CLIENT_ID', 'CLIENT_SECRET')} "
                "in the environment"
            )

    def require_seeding_credentials(self) -> None:
        if self.target == "mparticle" and not (self.api_key and self.api_secret):
            raise SettingsError(
                "seeding needs workspace credentials: set "
                f"{_credential_names(self.environment, 'API_KEY', 'API_SECRET')} "
                "in the environment"
            )


def environment_prefix(name: str) -> str:
    """`MPARTICLE_<ENV>_`: the name upper-cased, anything not a letter or digit as `_`."""
    return "MPARTICLE_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"


def _credential_names(environment: str | None, *keys: str) -> str:
    plain = " and ".join(f"MPARTICLE_{key}" for key in keys)
    if environment is None:
        return plain
    prefix = environment_prefix(environment)
    return f"{' and '.join(prefix + key for key in keys)} (or {plain})"


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


def _workspace_id(
    directory: Path,
    file: SettingsFile,
    layer: EnvironmentSettings,
    flags: Flags,
    env: Mapping[str, str],
    environment: str | None,
    fallback: int | None = None,
) -> int:
    """Flag > MPARTICLE_<ENV>_WORKSPACE_ID > the environment's own workspace_id >
    MPARTICLE_WORKSPACE_ID > the top level's. A more specific source beats a general one;
    a plain MPARTICLE_WORKSPACE_ID that disagrees with an environment's own id is refused
    rather than silently ignored."""
    plain = _env_int(env, "MPARTICLE_WORKSPACE_ID")
    if environment is None:
        chosen = flags.workspace_id or plain or file.workspace_id
    else:
        own = (file.environments or {}).get(environment)
        written = own.workspace_id if own is not None else None
        prefixed = _env_int(env, environment_prefix(environment) + "WORKSPACE_ID")
        overridden = flags.workspace_id is not None or prefixed is not None
        if not overridden and written and plain and plain != written:
            raise SettingsError(
                f"MPARTICLE_WORKSPACE_ID={plain} disagrees with environment {environment}'s "
                f"workspace_id {written} in reconciler.yaml: override one environment's "
                f"workspace with {environment_prefix(environment)}WORKSPACE_ID, or unset "
                "MPARTICLE_WORKSPACE_ID"
            )
        chosen = flags.workspace_id or prefixed or written or plain or layer.workspace_id
    chosen = chosen or fallback
    if chosen is None:
        where = f" (environment {environment})" if environment else ""
        raise SettingsError(
            f"no workspace id{where}: set workspace_id in {directory / 'reconciler.yaml'}, "
            "MPARTICLE_WORKSPACE_ID, or --workspace-id"
        )
    return chosen


def _target(layer: EnvironmentSettings, flags: Flags, env: Mapping[str, str]) -> Target:
    env_target = env.get("RECONCILER_TARGET", "").strip() or None
    if env_target is not None and env_target not in ("embedded", "mparticle"):
        raise SettingsError(f"RECONCILER_TARGET={env_target!r}: use embedded or mparticle")
    env_api_url = env.get("MPARTICLE_API_URL", "").strip() or None
    target: Target = (
        flags.target
        or env_target  # type: ignore[assignment]
        or ("mparticle" if (flags.api_url or env_api_url) else None)
        or layer.target
        or ("mparticle" if layer.api_url else "embedded")
    )
    return target


def _secret(env: Mapping[str, str], environment: str | None, key: str) -> str:
    """`MPARTICLE_<ENV>_<KEY>`, falling back to `MPARTICLE_<KEY>`."""
    if environment is not None:
        value = env.get(environment_prefix(environment) + key, "")
        if value:
            return value
    return env.get(f"MPARTICLE_{key}", "")


def _env_url(env: Mapping[str, str], name: str, pods: bool = False) -> str | None:
    """A URL from the environment (empty = not set); a SettingsError names a bad one (the
    file's URLs are checked where they are read, located)."""
    raw = env.get(name, "").strip()
    if not raw or (pods and raw in S2S_PODS):
        return raw or None
    problem = url_problem(raw)
    if problem is not None:
        raise SettingsError(f"{name}={raw!r} {problem}: give the API's address, https://host")
    return raw


def _urls(layer: EnvironmentSettings, flags: Flags, env: Mapping[str, str]) -> dict[str, str]:
    """api_url, auth_url and s2s_url of a target that is not embedded."""
    env_api_url = _env_url(env, "MPARTICLE_API_URL")
    s2s = _first(_env_url(env, "MPARTICLE_S2S_URL", pods=True), layer.s2s_url) or DEFAULT_S2S_URL
    return {
        "api_url": (_first(flags.api_url, env_api_url, layer.api_url) or DEFAULT_API_URL).rstrip(
            "/"
        ),
        "auth_url": _first(_env_url(env, "MPARTICLE_AUTH_URL"), layer.auth_url) or DEFAULT_AUTH_URL,
        "s2s_url": S2S_PODS.get(s2s, s2s).rstrip("/"),
    }


EMBEDDED_URLS = {
    "api_url": EMBEDDED_URL,
    "auth_url": f"{EMBEDDED_URL}/oauth/token",
    "s2s_url": EMBEDDED_URL,
}


def resolve(
    directory: Path,
    file: SettingsFile,
    flags: Flags = Flags(),
    environ: Mapping[str, str] | None = None,
    *,
    fallback_workspace_id: int | None = None,
) -> Settings:
    """Combine flag > environment > file > default into the Settings of one environment
    (`flags.environment`, RECONCILER_ENV or default_environment); raises SettingsError.
    `fallback_workspace_id` is used only when nothing else names a workspace (a saved
    plan applied without a reconciler.yaml)."""
    from reconciler.environments import chosen_environments, layered

    env = os.environ if environ is None else environ
    (environment,) = chosen_environments(file, flags.environment, env)
    layer = layered(file, environment)
    target = _target(layer, flags, env)
    workspace_id = _workspace_id(
        directory, file, layer, flags, env, environment, fallback_workspace_id
    )
    embedded = target == "embedded"
    tuning = Tuning.from_env(env)
    rate_limit = flags.rate_limit or tuning.rate_limit or layer.rate_limit

    def secret(key: str) -> str:
        return EMULATOR_CREDENTIAL if embedded else _secret(env, environment, key)

    return Settings(
        directory=directory,
        workspace_id=workspace_id,
        target=target,
        prune=flags.prune if flags.prune is not None else bool(layer.prune),
        **(EMBEDDED_URLS if embedded else _urls(layer, flags, env)),
        rate_limit=rate_limit,
        seed_rate=flags.seed_rate or tuning.seed_rate or layer.seed_rate,
        seed_rate_ceiling=(
            flags.seed_rate_ceiling or tuning.seed_rate_ceiling or layer.seed_rate_ceiling
        ),
        tuning=tuning,
        client_id=secret("CLIENT_ID"),
        client_secret=secret("CLIENT_SECRET"),
        api_key=secret("API_KEY"),
        api_secret=secret("API_SECRET"),
        environment=environment,
        scope=tuple(layer.scope) if layer.scope is not None else None,
        safety=layer.safety or SafetyPolicy(),
        drafts=layer.drafts or "discard",
        promote_from=layer.promote_from,
        active_limit=tuning.active_limit or layer.active_limit,
        retention_days=layer.retention_days,
        database=directory / layer.emulator_db if layer.emulator_db else None,
    )
