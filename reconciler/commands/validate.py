"""`reconciler validate [DIR]`: load and check manifests offline; no HTTP request is made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler import manifest
from reconciler.console import Output


@dataclass(frozen=True)
class ValidateOptions:
    """The command's arguments."""

    directory: Path = Path("manifests")


def run(options: ValidateOptions, output: Output) -> int:
    """Exit 0 when every manifest is valid (warnings printed), else ManifestError (exit 1)."""
    loaded = manifest.load(options.directory)
    for warning in loaded.warnings:
        output.warn(str(warning))
    count = len(loaded.cas)
    files = len(loaded.files)
    output.print(
        f"{count} calculated attribute{'s' if count != 1 else ''} in {files} "
        f"file{'s' if files != 1 else ''}: valid."
    )
    return 0
