"""Reading `reconciler.yaml`: the settings of a manifest directory, every problem located.

Part of manifest loading. Secret keys are refused wherever they are written (the top
level or an environment's block); the rules across environments (`settings_problems`)
are reported with the lines they concern. A file found free of errors is kept in the
manifest cache as its data (`cache`), so that a plan from the cache reads no YAML.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from reconciler.environments import settings_problems
from reconciler.errors import Issue, ManifestError, format_path, printable
from reconciler.manifest import cache
from reconciler.manifest.diagnostics import explain
from reconciler.manifest.document import Document, SourceError, parse_bytes, read_bytes
from reconciler.settings import SECRET_KEYS, Flags, SettingsFile, environment_prefix, url_refusals

SETTINGS_FILE = "reconciler.yaml"


def _holder(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a reconciler.yaml."""
    return next((f for f in (start, *start.parents) if (f / SETTINGS_FILE).is_file()), None)


def _nearest(directory: Path) -> str:
    """Where a manifest directory is, when `directory` (such as the default `manifests`)
    is not: run from inside one, or from a sub-folder of one, a command named none."""
    here = Path.cwd()
    found = None if directory.is_absolute() else _holder(here)
    if found is None:
        return ""
    if found == here:
        return (
            f"; the current directory is a manifest directory itself (it holds the "
            f"{SETTINGS_FILE}): name it as `.`"
        )
    shown = printable(os.path.relpath(found, here))
    return (
        f"; the current directory is inside the manifest directory {shown} (it holds the "
        f"{SETTINGS_FILE}): name that directory instead"
    )


def _above(directory: Path) -> str:
    """A sub-folder of a manifest directory named as one: the folder to name instead."""
    found = _holder(directory.resolve().parent)
    if found is None:
        return ""
    if not directory.is_absolute() and found == Path.cwd():
        return "; it is inside the current directory, a manifest directory: name it as `.`"
    shown = printable(str(found) if directory.is_absolute() else os.path.relpath(found))
    return f"; it is inside the manifest directory {shown}, which holds one: name that instead"


def load_settings(directory: Path) -> SettingsFile:
    """`reconciler.yaml` of a manifest directory (raises ManifestError)."""
    path = directory / SETTINGS_FILE
    display = str(path)
    if not directory.is_dir():
        why = (
            f"a file, not a directory: commands read a whole manifest directory, the "
            f"folder with the {SETTINGS_FILE} (such as {directory.parent})"
            if directory.exists()
            else "no such directory" + _nearest(directory)
        )
        raise ManifestError([Issue(str(directory), None, None, "", why)])
    if path.exists() and not path.is_file():
        # A folder, or a pipe: reading one waits for a writer, for ever.
        why = "not a file (a folder, a pipe or a device): the settings are a YAML file"
        raise ManifestError([Issue(display, None, None, "", why)])
    if not (path.exists() or path.is_symlink()):  # a link to nothing is read: it says so
        raise ManifestError(
            [
                Issue(
                    display,
                    None,
                    None,
                    "",
                    f"not found: is {directory} a manifest directory? It needs a {SETTINGS_FILE} "
                    f"(at least `workspace_id: <id>`){_above(directory)}",
                )
            ]
        )
    try:
        raw = read_bytes(path, display)
    except SourceError as exc:
        raise ManifestError(exc.issues) from None
    root = cache.root()
    key = cache.key(path, display, raw) if root is not None else ""
    known = _cached(root, key) if root is not None else None
    if known is not None:
        return known
    try:
        document = parse_bytes(raw, display)
    except SourceError as exc:
        raise ManifestError(exc.issues) from None
    settings, data = _checked(document)
    if root is not None:
        _keep(root, key, data)
    return settings


def located(directory: Path, problems: Sequence[tuple[tuple[str, ...], str]]) -> ManifestError:
    """Problems found in the settings of `directory` after they were read (such as a URL
    the environment does not let receive credentials), each at its line in the file
    (read again: this happens once, on the way to an error)."""
    path = directory / SETTINGS_FILE
    display = str(path)
    try:
        document: Document | None = parse_bytes(read_bytes(path, display), display)
    except SourceError:
        document = None
    return ManifestError(
        [
            document.issue(where, message)
            if document is not None
            else Issue(display, None, None, format_path(where), message)
            for where, message in problems
        ]
    )


def refuse_untrusted_urls(
    directory: Path,
    file: SettingsFile,
    environments: Sequence[str | None],
    flags: Flags | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise ManifestError naming every URL of reconciler.yaml that one of these
    environments would send credentials to and must not (`settings.trust`), all at once."""
    problems = [
        problem
        for name in environments
        for problem in url_refusals(file, replace(flags or Flags(), environment=name), environ)
    ]
    if problems:
        raise located(directory, list(dict.fromkeys(problems)))


def _cached(root: Path, key: str) -> SettingsFile | None:
    """The settings of a file found free of errors before, from its data as the cache kept
    it (no YAML read; trusted as the manifests' entries are); None for a miss, or for
    data that does not validate (the file itself is then read, to say where)."""
    entry = cache.read(root, key)
    if entry is None:
        return None
    try:
        return SettingsFile.model_validate(cache.decode(entry["settings"]))
    except (KeyError, TypeError, ValueError, ValidationError):
        return None


def _keep(root: Path, key: str, data: Any) -> None:
    try:
        text = cache.encode(data).decode()
    except TypeError:  # data JSON cannot hold (a checked file holds none)
        return
    cache.store(root, key, orjson.dumps({"settings": text}))


def _checked(document: Document) -> tuple[SettingsFile, dict[str, Any]]:
    """The settings a parsed file holds, and its data (raises ManifestError listing its
    problems)."""
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
        raise ManifestError(_in_file_order(secret_issues + explained)) from None
    located = [document.issue(path, message) for path, message in settings_problems(settings)]
    if secret_issues or located:
        raise ManifestError(_in_file_order(secret_issues + located))
    return settings, data


def _in_file_order(issues: list[Issue]) -> list[Issue]:
    """Top to bottom, as a manifest file's problems are listed (pydantic's order is the
    model's fields', which sent a reader up and down the file)."""
    return sorted(issues, key=lambda issue: (issue.line or 0, issue.column or 0))


def _without_secrets(document: Document, data: dict[str, Any]) -> tuple[list[Issue], Any]:
    """Secret keys (at the top or in an environment) are errors, naming the variable to
    set instead (an environment's own); the data without them."""
    blocks: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [((), "MPARTICLE_", data)]
    environments = data.get("environments")
    if isinstance(environments, dict):
        blocks += [
            (("environments", name), environment_prefix(str(name)), block)
            for name, block in environments.items()
            if isinstance(block, dict)
        ]
    issues = [
        document.issue(
            (*where, key),
            f"secrets are never read from files: remove `{key}` and set "
            f"{' or '.join(prefix + name for name in SECRET_KEYS[key])} in the environment",
            key=True,
        )
        for where, prefix, block in blocks
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
