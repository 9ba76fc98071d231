"""Reading `reconciler.yaml`: the settings of a manifest directory, every problem located.

Part of manifest loading. Secret keys are refused wherever they are written (the top
level or an environment's block); the rules across environments (`settings_problems`)
are reported with the lines they concern.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.environments import settings_problems
from reconciler.errors import Issue, ManifestError
from reconciler.manifest.diagnostics import explain
from reconciler.manifest.document import Document, SourceError, read_yaml
from reconciler.settings import SECRET_KEYS, SettingsFile

SETTINGS_FILE = "reconciler.yaml"


def load_settings(directory: Path) -> SettingsFile:
    """`reconciler.yaml` of a manifest directory (raises ManifestError)."""
    path = directory / SETTINGS_FILE
    display = str(path)
    if not directory.is_dir():
        raise ManifestError([Issue(str(directory), None, None, "", "no such directory")])
    if not path.is_file():
        raise ManifestError(
            [
                Issue(
                    display,
                    None,
                    None,
                    "",
                    f"not found: is {directory} a manifest directory? It needs a {SETTINGS_FILE} "
                    "(at least `workspace_id: <id>`)",
                )
            ]
        )
    try:
        document = read_yaml(path, display)
    except SourceError as exc:
        raise ManifestError(exc.issues) from None
    data = {} if document.data is None else document.data
    if not isinstance(data, dict):
        raise ManifestError([document.issue((), "expected a mapping of settings")])
    secret_issues, data = _without_secrets(document, data)
    try:
        settings = SettingsFile.model_validate(data)
    except ValidationError as exc:
        explained = [
            document.issue(path, message, key=is_key)
            for path, message, is_key in explain(exc, SettingsFile, data)
        ]
        raise ManifestError(secret_issues + explained) from None
    located = [document.issue(path, message) for path, message in settings_problems(settings)]
    if secret_issues or located:
        raise ManifestError(secret_issues + located)
    return settings


def _without_secrets(document: Document, data: dict[str, Any]) -> tuple[list[Issue], Any]:
    """Secret keys (at the top or in an environment) are errors; the data without them."""
    blocks: list[tuple[tuple[str, ...], dict[str, Any]]] = [((), data)]
    environments = data.get("environments")
    if isinstance(environments, dict):
        blocks += [
            (("environments", name), block)
            for name, block in environments.items()
            if isinstance(block, dict)
        ]
    issues = [
        document.issue(
            (*where, key),
            f"secrets are never read from files: remove `{key}` and set {SECRET_KEYS[key]} "
            "in the environment",
            key=True,
        )
        for where, block in blocks
        for key in block
        if key in SECRET_KEYS
    ]
    if not issues:
        return [], data
    cleaned = {k: v for k, v in data.items() if k not in SECRET_KEYS}
    if isinstance(environments, dict):
        cleaned["environments"] = {
            name: (
                {k: v for k, v in block.items() if k not in SECRET_KEYS}
                if isinstance(block, dict)
                else block
            )
            for name, block in environments.items()
        }
    return issues, cleaned
