"""Workspace settings: `reconciler.yaml`, environment and flags, resolved in SPEC §3 order.

Precedence: command-line flag > environment variable > reconciler.yaml > default.
Secrets only ever come from the environment and are kept out of every repr.
With `environments:` (SPEC §7) one file describes several workspaces: an environment's
settings are the top level's with its own on top, and each command picks one (`--env`).

Four parts: `file` (reconciler.yaml as a strict model), `tuning` (the RECONCILER_* knobs),
`trust` (the hosts credentials may go to) and `resolved` (one environment's Settings for a
command, refused when reconciler.yaml would send its credentials to a host not trusted).
"""

from reconciler.settings.file import (
    ALL_ENVIRONMENTS,
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    DEFAULT_S2S_URL,
    EMBEDDED_URL,
    MAX_RATE_LIMIT,
    MAX_WORKSPACE_ID,
    MIN_RATE_LIMIT,
    S2S_PODS,
    SECRET_KEYS,
    Drafts,
    EnvironmentName,
    EnvironmentSettings,
    SafetyPolicy,
    SettingsFile,
    Target,
    WorkspaceSettings,
    is_local_host,
    is_loopback,
    url_problem,
)
from reconciler.settings.resolved import Flags, Settings, environment_prefix, resolve, url_refusals
from reconciler.settings.tuning import DEFAULT_DEADLINE, ENVIRONMENT_VARIABLES, Tuning

__all__ = [
    "ALL_ENVIRONMENTS",
    "DEFAULT_API_URL",
    "DEFAULT_AUTH_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_S2S_URL",
    "EMBEDDED_URL",
    "ENVIRONMENT_VARIABLES",
    "MAX_RATE_LIMIT",
    "MAX_WORKSPACE_ID",
    "MIN_RATE_LIMIT",
    "S2S_PODS",
    "SECRET_KEYS",
    "Drafts",
    "EnvironmentName",
    "EnvironmentSettings",
    "Flags",
    "SafetyPolicy",
    "Settings",
    "SettingsFile",
    "Target",
    "Tuning",
    "WorkspaceSettings",
    "environment_prefix",
    "is_local_host",
    "is_loopback",
    "resolve",
    "url_problem",
    "url_refusals",
]
