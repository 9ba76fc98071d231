"""The workspace a command works on: its manifests and its resolved settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler import manifest
from reconciler.console import Output
from reconciler.manifest.loader import Manifests
from reconciler.models import DeclaredCA
from reconciler.settings import Flags, Settings, resolve


@dataclass(frozen=True)
class Workspace:
    manifests: Manifests
    settings: Settings

    @property
    def desired(self) -> list[DeclaredCA]:
        return [desired.ca for desired in self.manifests.cas]


def load(directory: Path, flags: Flags, output: Output) -> Workspace:
    """Load manifests (all errors at once) and resolve settings; show manifest warnings."""
    manifests = manifest.load(directory)
    for warning in manifests.warnings:
        output.warn(str(warning))
    settings = resolve(directory, manifests.settings, flags)
    return Workspace(manifests, settings)
