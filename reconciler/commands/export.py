"""`reconciler export`: write manifests for the live workspace (then `plan` is empty).

With environments, `--env` picks the workspace; the export is a single-workspace
directory. Only CAs inside the environment's `scope` are exported, and the scope is
written along so that `plan` on the export sees the same CAs.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler import manifest
from reconciler.api import transports as target
from reconciler.console import Output
from reconciler.errors import ReconcilerError
from reconciler.export import export
from reconciler.plan.selection import in_scope
from reconciler.settings import Flags, SettingsFile, resolve

HEADER = "# Exported by `reconciler export` from workspace {workspace}.\n"


@dataclass(frozen=True)
class ExportOptions:
    """The command's flags: DIR gives the settings, `out` receives the manifests."""

    directory: Path = Path("manifests")
    out: Path = Path("exported")
    flags: Flags = field(default_factory=Flags)


def _styled(value: Any, depth: int = 0) -> Any:
    """Small mappings (conditions, periods, short datapoints) in flow style, as people write."""
    if isinstance(value, dict):
        styled = CommentedMap((k, _styled(v, depth + 1)) for k, v in value.items())
        leafy = all(not isinstance(v, (dict, list)) for v in value.values())
        if leafy and depth >= 3 and (len(value) <= 4 or depth >= 5):
            styled.fa.set_flow_style()
        return styled
    if isinstance(value, list):
        return CommentedSeq(_styled(v, depth + 1) for v in value)
    return value


def dump(document: dict[str, Any]) -> str:
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = StringIO()
    yaml.dump(_styled(document), buffer)
    return buffer.getvalue()


def run(options: ExportOptions, output: Output) -> int:
    """Write OUT/reconciler.yaml and one OUT/<ca>.yaml per live CA."""
    directory, out = options.directory, options.out
    file = SettingsFile()
    if (directory / manifest.SETTINGS_FILE).is_file():
        file = manifest.load_settings(directory)
    settings = resolve(directory, file, options.flags)
    if out.exists() and any(out.glob("*.y*ml")):
        raise ReconcilerError(
            f"{out} already holds manifests; export into a new or empty directory"
        )

    async def fetch() -> list[Any]:
        async with target.platform(settings) as client:
            return await client.list()

    # Out of scope is out of sight: CAs other teams own in a shared workspace stay theirs.
    live = in_scope(asyncio.run(fetch()), settings.scope)
    result = export(live)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Any] = {
        "workspace_id": settings.workspace_id,
        "target": settings.target,
        "prune": False,
    }
    if settings.target == "mparticle" and settings.api_url:
        written["api_url"] = settings.api_url
    if settings.scope is not None:
        written["scope"] = list(settings.scope)
    (out / manifest.SETTINGS_FILE).write_text(dump(written), encoding="utf-8")
    header = HEADER.format(workspace=settings.workspace_id)
    for name, document in result.files.items():
        (out / name).write_text(header + dump(document), encoding="utf-8")
    if settings.target == "embedded" and settings.emulator_db.is_file():
        # The embedded workspace lives beside reconciler.yaml: carry a snapshot along so
        # `plan` on the export sees the same workspace.
        snapshot = out / ".reconciler" / "emulator.db"
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        with (
            closing(sqlite3.connect(settings.emulator_db)) as source,
            closing(sqlite3.connect(snapshot)) as copy,
        ):
            source.backup(copy)
    for note in result.notes:
        output.warn(note)
    output.print(f"Exported {len(result.files)} calculated attributes to {out}.")
    return 0
