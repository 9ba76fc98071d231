"""Parsed-manifest cache: YAML parsing dominates load time, so the result of loading an
error-free file is kept by content in the user's cache directory.

The cache lives outside the repository (`$RECONCILER_CACHE_DIR`, else
`$XDG_CACHE_HOME/reconciler`, else `~/.cache/reconciler`): an entry committed to a
repository could otherwise make a plan differ from the manifests a reviewer read. Entries
are JSON, never pickle. The key covers the file's path, its bytes and the reconciler's own
source, so any change is a miss; a broken or unreadable entry is simply a miss.
Set RECONCILER_CACHE_DIR to an empty string to turn the cache off.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson

import reconciler

log = logging.getLogger("reconciler.cache")

CACHE_DIR = Path("manifests")


def root(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    env = os.environ if environ is None else environ
    configured = env.get("RECONCILER_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reconciler"


@cache
def code_fingerprint() -> str:
    """A digest of the package source: new code never reads an old entry."""
    digest = hashlib.sha256(reconciler.__version__.encode())
    root = Path(reconciler.__file__).parent
    for path in sorted(root.rglob("*.py")):
        if "emulator" not in path.parts:
            digest.update(path.read_bytes())
    return digest.hexdigest()


def key(path: Path, display: str, content: bytes) -> str:
    digest = hashlib.sha256(code_fingerprint().encode())
    for part in (str(path.resolve()), display):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


def _encode(value: Any) -> Any:
    """YAML data as JSON, keeping dates and datetimes (with their offsets) apart from text."""
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            if "$datetime" in value:
                return datetime.fromisoformat(value["$datetime"])
            if "$date" in value:
                return date.fromisoformat(value["$date"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def read(directory: Path, entry: str) -> dict[str, Any] | None:
    path = directory / CACHE_DIR / f"{entry}.json"
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        document = orjson.loads(raw)
        document["cas"] = [_decode(item) for item in document["cas"]]
        return dict(document)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        log.debug("ignoring cache entry %s: %s", path, exc)
        return None


def write(directory: Path, entry: str, document: dict[str, Any]) -> None:
    folder = directory / CACHE_DIR
    path = folder / f"{entry}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        encoded = {**document, "cas": [_encode(item) for item in document["cas"]]}
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(encoded))
        temporary.replace(path)
    except OSError as exc:  # a read-only checkout still works, just slower
        log.debug("cannot write cache entry %s: %s", path, exc)
