"""`reconciler validate [DIR]`: load and check manifests offline; no HTTP request is made.
A URL of reconciler.yaml that plan would refuse to send credentials to (as the environment
trusts hosts now) is an error here too.

Every environment is checked on every run (names, overrides, scopes); `--env` (or
RECONCILER_ENV) only picks which environments the summary counts (all by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler import manifest
from reconciler.console import Output
from reconciler.environments import chosen_environments, once_chosen, requested_environment
from reconciler.manifest.settings_file import refuse_untrusted_urls
from reconciler.settings import ALL_ENVIRONMENTS


@dataclass(frozen=True)
class ValidateOptions:
    """The command's arguments: the manifest directory, and `--env` (default: all)."""

    directory: Path = Path("manifests")
    environment: str | None = None


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def run(options: ValidateOptions, output: Output) -> int:
    """Exit 0 when every manifest is valid (warnings printed), else ManifestError (exit 1)."""
    loaded = manifest.load(options.directory)
    for warning in loaded.warnings:
        output.warn(str(warning))
    # Every environment unless --env or RECONCILER_ENV names one (which the choice reads
    # itself, to say which of the two a bad name came from).
    asked = options.environment or (None if requested_environment(None) else ALL_ENVIRONMENTS)
    names = chosen_environments(loaded.settings, asked, allow_all=True)
    refuse_untrusted_urls(options.directory, loaded.settings, names, environ=once_chosen())
    files = _count(len(loaded.files), "file")
    if names == [None]:
        output.print(f"{_count(len(loaded.cas), 'calculated attribute')} in {files}: valid.")
        return 0
    counts = ", ".join(f"{name} {len(loaded.for_environment(name))}" for name in names)
    output.print(
        f"{_count(len(loaded.cas), 'calculated attribute')} in {files}: valid "
        f"(CAs per environment: {counts})."
    )
    return 0
