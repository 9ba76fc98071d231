"""`reconciler.yaml`: the non-secret settings of one workspace or of several environments,
as a strict model (its JSON Schema is generated from it), and the checks of the values it
may hold (URLs, environment names, rate limits)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StrictBool,
    WithJsonSchema,
)

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

#: Keys that must never be written in a file; the credentials to set instead, as the
#: variables' suffixes (`MPARTICLE_<KEY>`, or `MPARTICLE_<ENV>_<KEY>` for an environment).
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "client_secret": ("CLIENT_SECRET",),
    "api_secret": ("API_SECRET",),
    "secret": ("CLIENT_SECRET", "API_SECRET"),
    "password": ("API_SECRET",),
    "client_id": ("CLIENT_ID",),
    "api_key": ("API_KEY",),
}

#: Platform API requests per second: the range a rate limit may take, wherever it is set.
MIN_RATE_LIMIT = 0.01
MAX_RATE_LIMIT = 10_000.0
RateLimit = Annotated[float, Field(ge=MIN_RATE_LIMIT, le=MAX_RATE_LIMIT)]
#: Seeding: users per second, and the percentage used to stay under, wherever they are set
#: (`seed --rate`/`--rate-ceiling`, RECONCILER_SEED_RATE[_CEILING], reconciler.yaml).
MIN_SEED_RATE = 0.01
MAX_SEED_RATE = 10_000_000.0
SeedRate = Annotated[float, Field(ge=MIN_SEED_RATE, le=MAX_SEED_RATE)]
MIN_SEED_RATE_CEILING = 0.01
MAX_SEED_RATE_CEILING = 100.0
SeedRateCeiling = Annotated[float, Field(ge=MIN_SEED_RATE_CEILING, le=MAX_SEED_RATE_CEILING)]
#: The account's limit on active CAs, wherever it is set (RECONCILER_ACTIVE_LIMIT,
#: reconciler.yaml): mParticle's default is 100; a billion is beyond any account.
MAX_ACTIVE_LIMIT = 10**9
ActiveLimit = Annotated[int, Field(ge=1, le=MAX_ACTIVE_LIMIT)]


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


def _scope_pattern(value: str) -> str:
    if not value.strip():
        raise ValueError("a blank pattern: write the names it should match, or remove it")
    return value


def _scope(patterns: list[str]) -> list[str]:
    if not patterns:
        raise ValueError(
            "an empty scope owns no CA, so every manifest CA would be outside it: list the "
            "name patterns this repository owns, or remove `scope` to own every CA"
        )
    return patterns


#: Name globs (fnmatch, case-sensitive): at least one, none blank.
Scope = Annotated[
    list[Annotated[str, AfterValidator(_scope_pattern)]],
    AfterValidator(_scope),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "pattern": "\\S"},
            "minItems": 1,
            "description": "Name globs (fnmatch, case-sensitive) of the CAs this repository owns.",
        }
    ),
]


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
    if "@" in parts.netloc:
        return (
            "holds a user name or password (user:password@host): credentials come from "
            "the environment (MPARTICLE_CLIENT_ID/SECRET, MPARTICLE_API_KEY/SECRET), never "
            "from a URL that messages and plan files show"
        )
    return None


def shown_url(url: str) -> str:
    """`url` fit for a message: a user name or password in it hidden."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return repr(url)
    return repr(f"{scheme}{sep}***@{netloc.rpartition('@')[2]}{slash}{path}")


def _api_url(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(f"{shown_url(value)} {problem}")
    return value


def _s2s_url(value: str) -> str:
    return value if value in S2S_PODS else _api_url(value)


ApiUrl = Annotated[str, AfterValidator(_api_url)]
#: A Seeding API URL, or the name of a pod (us1, us2, eu1, au1).
S2sUrl = Annotated[str, AfterValidator(_s2s_url)]


def is_local_host(host: str) -> bool:
    """Whether `host` is this machine: `localhost` or a loopback address (127.0.0.0/8,
    `::1`, bracketed or not). Not `*.localhost`, which some resolvers pass on to the
    network's DNS: the one reading of "this machine" for credentials (`trust`), proxies,
    plain-http warnings and refused connections alike."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    """Whether `url` stays on this machine (`is_local_host` of its host)."""
    return is_local_host(urlsplit(url).hostname or "")


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
    seed_rate: SeedRate | None = None
    #: Seeding: the X-mp-rate-limit-percentage-used to stay under; none = the default.
    seed_rate_ceiling: SeedRateCeiling | None = None
    #: Name globs (fnmatch, case-sensitive) of the CAs this repository owns (SPEC §8).
    scope: Scope | None = None
    safety: SafetyPolicy | None = None
    #: discard: a draft made outside Git is discarded; preserve: kept, never overwritten.
    drafts: Drafts | None = None
    #: The account's limit on active CAs (SPEC §9, rule `active-limit`); none = unknown
    #: (the embedded target: its emulator enforces this, else its own default).
    active_limit: ActiveLimit | None = None
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
