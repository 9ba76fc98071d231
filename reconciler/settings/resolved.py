"""One environment's settings resolved for a command, in SPEC §3 order: command-line flag >
environment variable > reconciler.yaml > default. Secrets only ever come from the
environment and are kept out of every repr."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from reconciler.errors import ManifestError, SettingsError
from reconciler.files import STATE_FOLDER
from reconciler.settings.file import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    DEFAULT_S2S_URL,
    EMBEDDED_URL,
    EMULATOR_CREDENTIAL,
    MAX_WORKSPACE_ID,
    S2S_PODS,
    Drafts,
    EnvironmentSettings,
    SafetyPolicy,
    SettingsFile,
    Target,
    shown_url,
    url_problem,
)
from reconciler.settings.trust import URL_VARIABLES, refusal, refused_message, trusted_hosts
from reconciler.settings.tuning import Tuning

#: A field of reconciler.yaml (`("environments", "prod", "auth_url")`) and what is wrong.
Problem = tuple[tuple[str, ...], str]


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
    #: The variable each credential was read from, by key (`CLIENT_SECRET`:
    #: `MPARTICLE_PROD_CLIENT_SECRET`): the names messages give, never the values.
    read_from: Mapping[str, str] = field(default_factory=dict, hash=False)
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
    #: Where workspace_id came from (`MPARTICLE_PROD_WORKSPACE_ID`), for a message about it.
    workspace_from: str | None = field(default=None, compare=False)

    @property
    def emulator_db(self) -> Path:
        """The embedded target's state: the `emulator_db` setting, else beside
        reconciler.yaml, one database per environment (`.reconciler/<env>/emulator.db`),
        the unnamed one as before."""
        if self.database is not None:
            return self.database
        if self.environment is None:
            return self.directory / STATE_FOLDER / "emulator.db"
        return self.directory / STATE_FOLDER / self.environment / "emulator.db"

    @property
    def where(self) -> str:
        """The workspace for messages: `workspace 333 (environment prod)`."""
        named = f" (environment {self.environment})" if self.environment else ""
        return f"workspace {self.workspace_id}{named}"

    def variables_read(self, *keys: str) -> str:
        """The variables these credentials were read from, for a message about their
        values: `MPARTICLE_PROD_CLIENT_ID and MPARTICLE_PROD_CLIENT_SECRET`."""
        return " and ".join(self.read_from.get(key, f"MPARTICLE_{key}") for key in keys)

    def variables_to_set(self, *keys: str) -> str:
        """The variables that would give these credentials, for a message about their
        absence: the environment's own, then the plain names."""
        return _credential_names(self.environment, *keys)

    def require_platform_credentials(self) -> None:
        # Name just the credentials not set: "set MPARTICLE_PROD_CLIENT_ID and ..._SECRET"
        # when only the secret is missing sent the user looking for a problem with the id.
        given = {"CLIENT_ID": self.client_id, "CLIENT_SECRET": self.client_secret}
        unset = [key for key, value in given.items() if not value]
        if self.target == "mparticle" and unset:
            raise SettingsError(
                "target mparticle needs Platform API credentials: set "
                f"{self.variables_to_set(*unset)} in the environment"
            )

    def require_seeding_credentials(self) -> None:
        if self.target == "mparticle" and not (self.api_key and self.api_secret):
            raise SettingsError(
                "seeding needs workspace credentials: set "
                f"{self.variables_to_set('API_KEY', 'API_SECRET')} "
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
) -> tuple[int, str]:
    """Flag > MPARTICLE_<ENV>_WORKSPACE_ID > the environment's own workspace_id >
    MPARTICLE_WORKSPACE_ID > the top level's, and where the id came from (for a message
    about it). A more specific source beats a general one; a plain MPARTICLE_WORKSPACE_ID
    that disagrees with an environment's own id is refused rather than silently ignored."""
    plain = _env_int(env, "MPARTICLE_WORKSPACE_ID")
    settings_file = directory / "reconciler.yaml"
    candidates: list[tuple[int | None, str]] = [(flags.workspace_id, "--workspace-id")]
    if environment is None:
        candidates += [
            (plain, "MPARTICLE_WORKSPACE_ID"),
            (file.workspace_id, f"workspace_id in {settings_file}"),
        ]
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
        candidates += [
            (prefixed, f"{environment_prefix(environment)}WORKSPACE_ID"),
            (written, f"environments.{environment}.workspace_id in {settings_file}"),
            (plain, "MPARTICLE_WORKSPACE_ID"),
            (layer.workspace_id, f"workspace_id in {settings_file}"),
        ]
    candidates.append((fallback, "the saved plan"))
    chosen = next(((value, source) for value, source in candidates if value), None)
    if chosen is None:
        where = f" (environment {environment})" if environment else ""
        raise SettingsError(
            f"no workspace id{where}: set workspace_id in {settings_file}, "
            "MPARTICLE_WORKSPACE_ID, or --workspace-id"
        )
    return chosen


def _target(
    layer: EnvironmentSettings,
    own: EnvironmentSettings | None,
    flags: Flags,
    env: Mapping[str, str],
) -> Target:
    """The more specific source decides: flag > environment variable > the environment's
    own block > the top level of reconciler.yaml. Within one source an explicit target
    wins over an api_url, which implies mparticle; `own` is the environment's block."""
    env_target = env.get("RECONCILER_TARGET", "").strip() or None
    if env_target is not None and env_target not in ("embedded", "mparticle"):
        raise SettingsError(f"RECONCILER_TARGET={env_target!r}: use embedded or mparticle")
    env_api_url = env.get("MPARTICLE_API_URL", "").strip() or None
    target: Target = (
        flags.target
        or ("mparticle" if flags.api_url else None)
        or env_target  # type: ignore[assignment]
        or ("mparticle" if env_api_url else None)
        or _file_target(layer, own)
    )
    return target


def _file_target(layer: EnvironmentSettings, own: EnvironmentSettings | None) -> Target:
    """reconciler.yaml's target: an environment's own api_url beats a target it inherits
    from the top level (the layered settings no longer say which layer wrote what)."""
    written = own.model_fields_set if own is not None else set()
    if layer.api_url and "api_url" in written and "target" not in written:
        return "mparticle"
    return layer.target or ("mparticle" if layer.api_url else "embedded")


def _secret(env: Mapping[str, str], environment: str | None, key: str) -> tuple[str, str]:
    """`MPARTICLE_<ENV>_<KEY>`, falling back to `MPARTICLE_<KEY>`: the variable read and
    its value (empty when neither is set)."""
    if environment is not None:
        name = environment_prefix(environment) + key
        if env.get(name):
            return name, env[name]
    name = f"MPARTICLE_{key}"
    return name, env.get(name, "")


def _env_url(env: Mapping[str, str], name: str, pods: bool = False) -> str | None:
    """A URL from the environment (empty = not set); a SettingsError names a bad one (the
    file's URLs are checked where they are read, located)."""
    raw = env.get(name, "").strip()
    if not raw or (pods and raw in S2S_PODS):
        return raw or None
    problem = url_problem(raw)
    if problem is not None:
        raise SettingsError(
            f"{name}={shown_url(raw)} {problem}: give the API's address, https://host"
        )
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


def url_refusals(
    file: SettingsFile, flags: Flags = Flags(), environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """The URLs of reconciler.yaml that one environment (`flags.environment`) would send
    credentials to, and must not (`settings.trust`): each where it is written, and why;
    None of the embedded target, nor a URL the flags or the environment replace."""
    from reconciler.environments import chosen_environments, layered

    env = os.environ if environ is None else environ
    (environment,) = chosen_environments(file, flags.environment, env)
    layer = layered(file, environment)
    own = (file.environments or {}).get(environment) if environment else None
    if _target(layer, own, flags, env) == "embedded":
        return []
    given = {name: env.get(variable, "").strip() for name, variable in URL_VARIABLES.items()}
    given["api_url"] = flags.api_url or given["api_url"]
    trusted = trusted_hosts(env, *given.values())
    found: list[Problem] = []
    for name in URL_VARIABLES:
        url: str | None = getattr(layer, name)
        if not url or given[name] or url in S2S_PODS:
            continue
        why = refusal(url, trusted)
        if why is None:
            continue
        mine = own is not None and name in own.model_fields_set
        where = ("environments", str(environment), name) if mine else (name,)
        found.append((where, refused_message(name, url, why, one_environment=mine)))
    return found


def _refused(directory: Path, problems: list[Problem]) -> ManifestError:
    """The error for URLs reconciler.yaml may not send credentials to, located in it."""
    from reconciler.manifest.settings_file import located  # the manifest package imports us

    return located(directory, problems)


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
    own = (file.environments or {}).get(environment) if environment else None
    target = _target(layer, own, flags, env)
    refused = url_refusals(file, replace(flags, environment=environment), env)
    if refused:
        raise _refused(directory, refused)
    workspace_id, workspace_from = _workspace_id(
        directory, file, layer, flags, env, environment, fallback_workspace_id
    )
    embedded = target == "embedded"
    tuning = Tuning.from_env(env)
    rate_limit = flags.rate_limit or tuning.rate_limit or layer.rate_limit

    read_from: dict[str, str] = {}

    def secret(key: str) -> str:
        """A credential (the embedded target's are public), noting the variable it came from."""
        if embedded:
            return EMULATOR_CREDENTIAL
        name, value = _secret(env, environment, key)
        if value:
            read_from[key] = name
        return value

    client_id, client_secret = secret("CLIENT_ID"), secret("CLIENT_SECRET")
    api_key, api_secret = secret("API_KEY"), secret("API_SECRET")

    return Settings(
        directory=directory,
        workspace_id=workspace_id,
        workspace_from=workspace_from,
        target=target,
        prune=flags.prune if flags.prune is not None else bool(layer.prune),
        **(EMBEDDED_URLS if embedded else _urls(layer, flags, env)),
        rate_limit=rate_limit,
        seed_rate=flags.seed_rate or tuning.seed_rate or layer.seed_rate,
        seed_rate_ceiling=(
            flags.seed_rate_ceiling or tuning.seed_rate_ceiling or layer.seed_rate_ceiling
        ),
        tuning=tuning,
        client_id=client_id,
        client_secret=client_secret,
        api_key=api_key,
        api_secret=api_secret,
        read_from=read_from,
        environment=environment,
        scope=tuple(layer.scope) if layer.scope is not None else None,
        safety=layer.safety or SafetyPolicy(),
        drafts=layer.drafts or "discard",
        promote_from=layer.promote_from,
        active_limit=tuning.active_limit or layer.active_limit,
        retention_days=layer.retention_days,
        database=directory / layer.emulator_db if layer.emulator_db else None,
    )
