"""JSON Schemas of the manifest files, generated from the models (editor completion + checks).

Regenerate with `python -m reconciler.manifest.schema`; a test fails when `schemas/` is stale.
From an installed package it writes `schemas/` in the current directory (never into
site-packages): run at a repository's root, the folder that `$schema=../schemas/...` names
in the first line of a manifest one folder down. `modeline` finds such a folder for the
files `reconciler export` writes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from reconciler.models import ManifestFile
from reconciler.settings import SettingsFile

#: The folder the package sits in: the repository in a checkout, site-packages installed.
_ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "https://github.com/reconciler/reconciler/schemas"


def _schema(model: Any, name: str, title: str, *, anchors: bool = False) -> str:
    schema = model.model_json_schema(mode="validation")
    definition = schema.get("$defs", {}).get("Definition")
    if definition is not None:
        # `data_point` (the API's spelling) is accepted as well as `datapoint`: one of them.
        definition["properties"]["data_point"] = definition["properties"]["datapoint"]
        definition["required"].remove("datapoint")
        definition["oneOf"] = [{"required": ["datapoint"]}, {"required": ["data_point"]}]
    if anchors:
        # Top-level `x-...` keys hold shared YAML anchors; the loader ignores them.
        schema["patternProperties"] = {"^x-": {}}
        # A bare `calculated_attributes:`, or an empty file, declares no CA, as for the loader.
        schema["type"] = ["object", "null"]
        listed = schema["properties"]["calculated_attributes"]
        schema["properties"]["calculated_attributes"] = {
            "anyOf": [{k: v for k, v in listed.items() if k != "title"}, {"type": "null"}],
            "title": listed.get("title", "Calculated Attributes"),
        }
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_URL}/{name}",
        **schema,
        "title": title,
    }
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def generate() -> dict[str, str]:
    """File name -> JSON Schema text."""
    return {
        "manifest.schema.json": _schema(
            ManifestFile,
            "manifest.schema.json",
            "reconciler manifest (calculated attributes)",
            anchors=True,
        ),
        "settings.schema.json": _schema(
            SettingsFile, "settings.schema.json", "reconciler.yaml (workspace settings)"
        ),
    }


def default_directory() -> Path:
    """Where the schemas go without a folder named: the checkout's `schemas/` (what the
    repository commits), else `schemas/` in the current directory."""
    if (_ROOT / "pyproject.toml").is_file():
        return _ROOT / "schemas"
    return Path("schemas")


#: The line by which editors (VS Code's YAML extension, JetBrains IDEs, Neovim's yamlls)
#: take a YAML file's schema; a relative path is read from the file's folder.
MODELINE = "# yaml-language-server: $schema={path}\n"


def modeline(folder: Path, name: str) -> str:
    """The `$schema` line for a file written into `folder`, naming `schemas/<name>` by its
    path from there: the nearest `schemas/` holding this package's schema of that name,
    in `folder` or a folder above it, but not above the Git work tree `folder` is in (a
    path out of it would name nothing in another clone). "" when there is none: a line
    naming no file makes the editor flag the file instead."""
    start = Path(os.path.abspath(folder))
    for candidate in (start, *start.parents):
        schema = candidate / "schemas" / name
        if _ours(schema, name):
            return MODELINE.format(path=Path(os.path.relpath(schema, start)).as_posix())
        if (candidate / ".git").exists():
            break
    return ""


def _ours(path: Path, name: str) -> bool:
    """Whether `path` holds this package's schema `name` (by its `$id`), not another tool's
    file of the same name."""
    try:
        schema = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(schema, dict) and schema.get("$id") == f"{BASE_URL}/{name}"


def write(directory: Path | None = None) -> list[Path]:
    directory = default_directory() if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(f"wrote {path}")
