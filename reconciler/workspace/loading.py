"""Loading the workspace a command works on: its manifests and its resolved settings, for one
environment (or each environment, for `--env all`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from reconciler import manifest
from reconciler.console import Output
from reconciler.environments import (
    chosen_environments,
    in_environment,
    once_chosen,
    requested_environment,
)
from reconciler.errors import SettingsError
from reconciler.manifest.loader import DesiredCA, Manifests
from reconciler.manifest.settings_file import refuse_untrusted_urls
from reconciler.models import DeclaredCA
from reconciler.settings import ALL_ENVIRONMENTS, Flags, Settings, resolve


@dataclass(frozen=True)
class Workspace:
    manifests: Manifests
    settings: Settings
    #: For a promotion source read for another environment's gate: that environment.
    gates: str | None = None

    @property
    def environment(self) -> str | None:
        return self.settings.environment

    @property
    def declared(self) -> list[DesiredCA]:
        """The manifest CAs of this environment, as its overrides make them."""
        return self.manifests.for_environment(self.settings.environment)

    @property
    def desired(self) -> list[DeclaredCA]:
        return [desired.ca for desired in self.declared]


@dataclass(frozen=True)
class Chosen:
    """The workspaces of a command; `every` when `--env all` asked for all of them."""

    workspaces: list[Workspace]
    every: bool


def _loaded(directory: Path, output: Output) -> Manifests:
    manifests = manifest.load(directory)
    for warning in manifests.warnings:
        output.warn(str(warning))
    return manifests


def load(directory: Path, flags: Flags, output: Output) -> Workspace:
    """Load manifests (all errors at once) and resolve the settings of one environment;
    show manifest warnings."""
    manifests = _loaded(directory, output)
    settings = resolve(directory, manifests.settings, flags)
    return Workspace(manifests, settings)


def load_all(directory: Path, flags: Flags, output: Output) -> Chosen:
    """Like `load`, for every environment `--env` (or RECONCILER_ENV) names: `all` is
    each environment of reconciler.yaml, in the order written."""
    manifests = _loaded(directory, output)
    names = chosen_environments(manifests.settings, flags.environment, allow_all=True)
    every = requested_environment(flags.environment) == ALL_ENVIRONMENTS and names != [None]
    if every and flags.workspace_id is not None:
        raise SettingsError("--workspace-id names one workspace: use it with --env NAME, not all")
    environ = once_chosen()
    # Every environment's URLs first, all refusals at once, before any request is sent.
    refuse_untrusted_urls(directory, manifests.settings, names, flags, environ)
    workspaces = []
    for name in names:
        settings = resolve(directory, manifests.settings, replace(flags, environment=name), environ)
        workspaces.append(Workspace(manifests, settings))
    return Chosen(workspaces, every)


def source(ws: Workspace, output: Output) -> Workspace | None:
    """The environment `ws` promotes from (`promote_from`), with its own settings and
    credentials (none of the command's flags), or None without a promotion gate."""
    name = ws.settings.promote_from
    if name is None:
        return None
    with in_environment(name, ws.environment):
        settings = resolve(ws.settings.directory, ws.manifests.settings, Flags(environment=name))
    return Workspace(ws.manifests, settings, gates=ws.environment)
