"""Parsed-manifest cache: YAML parsing dominates load time, so the result of loading an
error-free file is kept by content in the user's cache directory.

The cache lives outside the repository (`$RECONCILER_CACHE_DIR`, else
`$XDG_CACHE_HOME/reconciler`, else `~/.cache/reconciler`): an entry committed to a
repository could otherwise make a plan differ from the manifests a reviewer read. Entries
are JSON, never pickle. The key covers the file's path, its bytes and the code that writes
entries (`code_fingerprint`), so any change is a miss.

Each entry is sealed with a keyed digest (HMAC-SHA256 over its name and content) under a
per-user key kept beside it (`key`, 0600, made on first use; on Windows, where mode bits
say nothing, the user profile's permissions keep it): an entry altered, cut short
or written by anyone without the key is a miss, never an error and never used. A sealed
entry was computed by this same code from these same bytes, so it is trusted as the
installed code itself is: planning reads the stored facts of each CA and its canonical
form, and the file's data (`items`, kept as JSON text so that reading an entry does not
build it) is decoded and validated only when a full model is asked for. A key that others
could read or replace (group or world permissions, another owner) turns the cache off.
Entries unused for 30 days are removed whenever one is written. Set RECONCILER_CACHE_DIR
to an empty string to turn the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib.util
import logging
import os
import secrets
import sys
import time
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pydantic

import reconciler
from reconciler.files import replace_whole
from reconciler.settings import Tuning

log = logging.getLogger("reconciler.cache")

CACHE_DIR = Path("manifests")
KEY_FILE = "key"
KEY_BYTES = 32
#: An entry's first line: the seal of the rest.
_SEAL = b"hmac-sha256:"
MAX_AGE = 30 * 24 * 3600.0  # seconds unused after which an entry is removed


def root(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where entries live, or None when the cache is turned off (settings.Tuning reads
    RECONCILER_CACHE_DIR and XDG_CACHE_HOME)."""
    tuning = Tuning.from_env(environ)
    if tuning.cache_unusable is not None:
        _cache_off(Path("~"), tuning.cache_unusable)
    if tuning.cache_dir is not None and not Path(reconciler.__file__).parent.is_dir():
        # Imported from a zip archive: code_fingerprint cannot date the code's files.
        _cache_off(tuning.cache_dir, f"reconciler runs from an archive, {reconciler.__file__}")
        return None
    return tuning.cache_dir


#: Packages besides ours whose code decides what an entry holds: PyYAML composes the
#: manifests (with libyaml where its binding is built), ruamel.yaml reads rarer scalars.
#: Found without importing them: a plan from the cache parses no YAML.
_PARSERS = ("yaml", "ruamel.yaml")


def _package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing it (nor, for a dotted
    name, its parents: `find_spec` would)."""
    top, *inner = name.split(".")
    spec = importlib.util.find_spec(top)
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        folder = Path(location).joinpath(*inner)
        if (folder / "__init__.py").is_file():
            return folder
    return None


def files_identity(folder: Path, skip: str | None = None) -> bytes:
    """Each file below `folder` by relative path, size and modification time (to the
    nanosecond), in path order; folders named `skip` (and bytecode) are left out.

    Where every file has the same modification time, an install that sets them all to
    one moment (Nix, reproducible builds: two versions then differ only in content, and
    often not in size), each file is identified by a digest of its content instead."""
    files: list[tuple[str, str, os.stat_result]] = []
    start = len(str(folder)) + 1
    pending = [str(folder)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in (skip, "__pycache__"):
                        pending.append(entry.path)
                elif entry.is_file():
                    files.append((entry.path[start:], entry.path, entry.stat()))
    if len(files) > 1 and len({status.st_mtime_ns for _, _, status in files}) == 1:
        found = [f"{name}\0{_digest(path)}\n" for name, path, _ in files]
    else:
        found = [f"{name}\0{s.st_size}\0{s.st_mtime_ns}\n" for name, _, s in files]
    return "".join(sorted(found)).encode()


def _digest(path: str) -> str:
    try:
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return "unreadable"


@cache
def code_fingerprint() -> str:
    """A digest of the code that writes entries: new code never reads an old entry.

    Our package (the emulator aside) and the YAML parsers are identified by each file's
    path, size and modification time, the rule Python itself applies before it trusts
    the bytecode it compiled from a source file: any install, upgrade, checkout or edit
    changes them, and statting ~200 files costs a plan far less than reading them."""
    digest = hashlib.sha256(
        "\0".join((reconciler.__version__, sys.version, pydantic.VERSION)).encode()
    )
    digest.update(files_identity(Path(reconciler.__file__).parent, skip="emulator"))
    for name in _PARSERS:
        folder = _package_dir(name)
        digest.update(f"\0{name}:{folder}\n".encode())
        if folder is not None:
            digest.update(files_identity(folder))
    return digest.hexdigest()


def key(path: Path, display: str, content: bytes) -> str:
    digest = hashlib.sha256(code_fingerprint().encode())
    for part in (str(path.resolve()), display):
        digest.update(os.fsencode(part))  # a file name need not be UTF-8
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


def _own_key(path: Path) -> bytes | None:
    """The key in `path` if only this user can read and replace it, else None."""
    try:
        status = path.stat()
        folder = path.parent.stat()
        key = path.read_bytes()
    except OSError:
        return None
    if sys.platform == "win32":
        # Windows reports every writable file as 0o666, every folder as 0o777 and owner 0:
        # who may read a file is its ACL's to say, and a folder in the user's profile (the
        # cache's) is that user's alone. Mode bits would turn the cache off for everyone.
        return key if len(key) == KEY_BYTES else None
    uid = os.getuid() if hasattr(os, "getuid") else status.st_uid
    private = status.st_mode & 0o077 == 0 and not folder.st_mode & 0o022
    if status.st_uid != uid or folder.st_uid != uid or not private:
        _cache_off(path.parent, f"{path} is not private to this user")
        return None
    if len(key) != KEY_BYTES:
        _cache_off(
            path.parent, f"{path} holds {len(key)} bytes, not a key of {KEY_BYTES}: delete it"
        )
        return None
    return key


#: Cache directories already said to be unusable (once a process, not once a file).
_OFF: set[Path] = set()


def _cache_off(directory: Path, why: str) -> None:
    """Say once that the cache is off and why: a plan then parses every manifest, which
    a CI job would otherwise only see as slowness."""
    if directory not in _OFF:
        _OFF.add(directory)
        log.warning(
            "the manifest cache is off (%s): every manifest is parsed afresh. Point "
            "RECONCILER_CACHE_DIR at a folder of your own, or set it empty to go without",
            why,
        )


#: Keys already checked, by path, with the state of the file they were read from.
_KEYS: dict[Path, tuple[tuple[int, ...], bytes | None]] = {}


def key_of(directory: Path) -> bytes | None:
    """The per-user key of the cache in `directory`, made on first use; None when it
    cannot be made or trusted (the cache is then off). Checked once per process unless
    the file changes: a directory of many manifest files reads it once."""
    path = directory / KEY_FILE
    status: os.stat_result | None
    try:
        status = path.stat()
    except OSError:
        status = None
    if status is not None and status.st_size == 0 and _owned(status):
        # Left empty by a run killed before it wrote the key (versions that created the
        # file, then wrote it): nothing was ever sealed with it. Made anew.
        with contextlib.suppress(OSError):
            path.unlink()
        status = None
    if status is None:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _make_key(path)
        except FileExistsError:
            if not directory.is_dir():  # mkdir's word for a file where the folder should be
                _cache_off(directory, f"cannot write in {directory}: it is a file, not a folder")
                return None
            # else another process made the key first: read theirs
        except OSError as exc:
            _cache_off(directory, f"cannot write in {directory}: {exc.strerror or exc}")
            return None
        return _own_key(path)
    state = (status.st_ino, status.st_mtime_ns, status.st_mode, status.st_uid, status.st_size)
    known = _KEYS.get(path)
    if known is None or known[0] != state:
        known = (state, _own_key(path))
        _KEYS[path] = known
    return known[1]


def _owned(status: os.stat_result) -> bool:
    return not hasattr(os, "getuid") or status.st_uid == os.getuid()


def _make_key(path: Path) -> None:
    """A new key at `path`, whole or not at all: written to a temporary file, then linked
    to its name, which fails (FileExistsError) if another process made one first. A key
    file created empty and then written was left empty by a run killed in between, and
    read empty by a process racing the one writing it: the cache was off for good, said
    to be "not private"."""
    key = os.urandom(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(key)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: created, then written
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(key)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _seal(key: bytes, entry: str, payload: bytes) -> bytes:
    return hmac.new(key, entry.encode() + b"\0" + payload, hashlib.sha256).hexdigest().encode()


def read(directory: Path, entry: str) -> dict[str, Any] | None:
    """The entry, if its seal is this user's; None (a miss) for anything else."""
    path = directory / CACHE_DIR / f"{entry}.json"
    key = key_of(directory)
    try:
        raw = path.read_bytes() if key is not None else b""
    except OSError:
        return None
    with contextlib.suppress(OSError):  # in use: `prune` keeps it
        os.utime(path)
    seal, _, payload = raw.partition(b"\n")
    if key is None or not hmac.compare_digest(seal, _SEAL + _seal(key, entry, payload)):
        log.debug("ignoring cache entry %s: not sealed with this user's key", path)
        return None
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        log.debug("ignoring cache entry %s: %s", path, exc)
        return None
    return document if isinstance(document, dict) else None


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


def encoded(document: dict[str, Any]) -> bytes:
    """An entry's content as written, its `items` (the file's data) as JSON text; raises
    orjson.JSONEncodeError for data JSON cannot hold."""
    content = dict(document)
    if "items" in content:
        content["items"] = encode(content["items"]).decode()
    return orjson.dumps(content)


def write(directory: Path, entry: str, document: dict[str, Any]) -> None:
    try:
        payload = encoded(document)
    except orjson.JSONEncodeError as exc:
        log.debug("cannot write cache entry %s: %s", entry, exc)
        return
    store(directory, entry, payload)


def store(directory: Path, entry: str, payload: bytes) -> None:
    """Seal and keep an entry's content (`encoded`); a read-only checkout works, slower."""
    folder = directory / CACHE_DIR
    path = folder / f"{entry}.json"
    try:
        key = key_of(directory)
        if key is None:
            return
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_whole(path, _SEAL + _seal(key, entry, payload) + b"\n" + payload)
    except OSError as exc:
        log.debug("cannot write cache entry %s: %s", path, exc)
