"""Workspace settings: `reconciler.yaml`, environment and flags, resolved in SPEC §3 order.

Precedence: command-line flag > environment variable > reconciler.yaml > default.
Secrets only ever come from the environment and are kept out of every repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, StrictBool

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
    rate_limit: PositiveFloat | None = None
    #: Seeding: the most users (Events API batches) per second; none = the seed default.
    seed_rate: PositiveFloat | None = None
    #: Seeding: the X-mp-rate-limit-percentage-used to stay under; none = the default.
    seed_rate_ceiling: Annotated[float, Field(gt=0, le=100)] | None = None


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
    #: Seeding's rate and ceiling (None: the seeding defaults, 100 users/s and 80%).
    seed_rate: float | None = None
    seed_rate_ceiling: float | None = None
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


def _env_float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    return value if value > 0 else None


def _env_ceiling(env: Mapping[str, str], name: str) -> float | None:
    value = _env_float(env, name)
    if value is not None and value > 100:
        raise SettingsError(f"{name}={value:g} is not a percentage (above 0, at most 100)")
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
    rate_limit = flags.rate_limit or _env_float(env, "RECONCILER_RATE_LIMIT") or file.rate_limit
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
        seed_rate=flags.seed_rate or _env_float(env, "RECONCILER_SEED_RATE") or file.seed_rate,
        seed_rate_ceiling=(
            flags.seed_rate_ceiling
            or _env_ceiling(env, "RECONCILER_SEED_RATE_CEILING")
            or file.seed_rate_ceiling
        ),
        client_id=EMULATOR_CREDENTIAL if embedded else env.get("MPARTICLE_CLIENT_ID", ""),
        client_secret=EMULATOR_CREDENTIAL if embedded else env.get("MPARTICLE_CLIENT_SECRET", ""),
        api_key=EMULATOR_CREDENTIAL if embedded else env.get("MPARTICLE_API_KEY", ""),
        api_secret=EMULATOR_CREDENTIAL if embedded else env.get("MPARTICLE_API_SECRET", ""),
    )
