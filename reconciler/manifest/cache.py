"""Parsed-manifest cache: YAML parsing dominates load time, so the result of loading an
error-free file is kept by content in the user's cache directory.

The cache lives outside the repository (`$RECONCILER_CACHE_DIR`, else
`$XDG_CACHE_HOME/reconciler`, else `~/.cache/reconciler`): an entry committed to a
repository could otherwise make a plan differ from the manifests a reviewer read. Entries
are JSON, never pickle. The key covers the file's path, its bytes and the reconciler's own
source, so any change is a miss; a broken or unreadable entry is simply a miss. What an
entry says was computed by this same code from these same bytes, so it is trusted as the
installed code itself is: planning reads the stored facts of each CA and its canonical
form, and the file's data (`items`, kept as JSON text so that reading an entry does not
build it) is decoded and validated only when a full model is asked for.
Entries unused for 30 days are removed whenever one is written. Set RECONCILER_CACHE_DIR
to an empty string to turn the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import time
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pydantic
import ruamel.yaml

import reconciler

log = logging.getLogger("reconciler.cache")

CACHE_DIR = Path("manifests")
MAX_AGE = 30 * 24 * 3600.0  # seconds unused after which an entry is removed


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
    """A digest of the package source and of the libraries that parse and validate
    manifests: new code never reads an old entry."""
    versions = (reconciler.__version__, sys.version, pydantic.VERSION, ruamel.yaml.__version__)
    digest = hashlib.sha256("\0".join(versions).encode())
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


#: Tags of dates in cached data (a key no YAML mapping can hold: YAML has no NUL).
_DATES = {"\0datetime": datetime.fromisoformat, "\0date": date.fromisoformat}


def _tagged(value: Any) -> dict[str, str]:
    if isinstance(value, datetime):
        return {"\0datetime": value.isoformat()}
    if isinstance(value, date):
        return {"\0date": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON")


def encode(value: Any) -> bytes:
    """YAML data as JSON; dates and datetimes (offsets kept) become tagged ISO text, so
    that encoding is one pass of orjson and only decoding (rare) walks the data."""
    return orjson.dumps(value, default=_tagged, option=orjson.OPT_PASSTHROUGH_DATETIME)


def decode(text: bytes | str) -> Any:
    """Data written by `encode`, dates restored."""
    return _untagged(orjson.loads(text))


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            restore = _DATES.get(key)
            if restore is not None:
                return restore(inner)
        return {key: _untagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    return value


def items(text: str) -> Any:
    """The file data of an entry (its `items`), dates restored."""
    return decode(text)


def read(directory: Path, entry: str) -> dict[str, Any] | None:
    path = directory / CACHE_DIR / f"{entry}.json"
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):  # in use: `prune` keeps it
        os.utime(path)
    try:
        document = orjson.loads(raw)
        if not isinstance(document, dict):
            raise ValueError("not an entry of this version")
        return document
    except (orjson.JSONDecodeError, ValueError) as exc:
        log.debug("ignoring cache entry %s: %s", path, exc)
        return None


def prune(directory: Path, now: float | None = None) -> None:
    """Remove entries unused for MAX_AGE: every edit of a manifest, and every upgrade,
    leaves entries nothing will read again. Called once by a load that wrote entries."""
    folder = directory / CACHE_DIR
    cutoff = (time.time() if now is None else now) - MAX_AGE
    try:
        paths = list(folder.iterdir())
    except OSError:
        return  # no folder yet, or unreadable: nothing to tidy
    for path in paths:
        with contextlib.suppress(OSError):
            if path.suffix in (".json", ".tmp") and path.stat().st_mtime < cutoff:
                path.unlink()


def write(directory: Path, entry: str, document: dict[str, Any]) -> None:
    folder = directory / CACHE_DIR
    path = folder / f"{entry}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        encoded = dict(document)
        if "items" in encoded:
            encoded["items"] = encode(encoded["items"]).decode()
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(encoded))
        temporary.replace(path)
    except (OSError, orjson.JSONEncodeError) as exc:  # a read-only checkout works, slower
        log.debug("cannot write cache entry %s: %s", path, exc)
