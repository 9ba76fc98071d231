"""The parsed-manifest cache: same results, skipped YAML, a damaged entry never half-used."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

import reconciler
from reconciler.errors import ManifestError
from reconciler.manifest import cache, composing, files
from reconciler.manifest import loader as manifest
from reconciler.manifest.cached import CachedCA
from reconciler.models import CalculatedAttribute

TEXT = """calculated_attributes:
  - name: Rolling
    definition:
      calculation_type: count
      datapoint: {event_type: session_start}
      conditions:
        - {type: date, operator: after, attribute_name: Joined, value: 2024-01-01}
        - type: date
          operator: equals
          attribute_name: Day
          value: 2024-01-01T10:00:00+02:00
      time_period: {type: within, within: 7, within_unit: days}
      seeding: {cutoff_date: 2024-01-01}
"""


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(folder))
    return folder


def workspace(tmp_path: Path, text: str = TEXT) -> Path:
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "cas.yaml").write_text(text)
    return tmp_path


def _documents() -> list[Path]:
    folder = cache.root()
    assert folder is not None
    return sorted((folder / cache.CACHE_DIR).glob("*.json"))


def document_of(path: Path) -> dict[str, Any]:
    """An entry's content, its seal (the first line) aside."""
    document: dict[str, Any] = json.loads(path.read_bytes().partition(b"\n")[2])
    return document


def sealed(path: Path, document: dict[str, Any]) -> None:
    """Write `document` as the entry at `path`, sealed with the user's key: what only this
    code (or a bug in it) could have written."""
    root = cache.root()
    assert root is not None
    if isinstance(document.get("items"), str):
        document = {**document, "items": cache.items(document["items"])}
    cache.write(root, path.stem, document)


def entries(directory: Path) -> list[Path]:
    """The per-file entries."""
    del directory
    return [path for path in _documents() if "items" in document_of(path)]


def test_a_second_load_skips_yaml_and_gives_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = workspace(tmp_path)
    first = manifest.load(directory)
    assert len(entries(directory)) == 1

    def refuse(*args: object) -> None:
        raise AssertionError("the YAML was parsed again")

    monkeypatch.setattr(files, "parse_bytes", refuse)
    second = manifest.load(directory)
    assert isinstance(second.cas[0].ca, CachedCA)
    assert [facts(d) for d in second.cas] == [facts(d) for d in first.cas]
    assert second.warnings == first.warnings
    assert [w.line for w in second.warnings] == [13]
    # The full model, validated from the cached data only when asked for, is the same too.
    assert second.cas[0].ca.definition == first.cas[0].ca.definition


def test_a_file_name_that_is_not_utf8_is_cached_too(tmp_path: Path) -> None:
    """Its cache key encoded the name as UTF-8: "unexpected UnicodeEncodeError ... This is
    a bug" (exit 3) for any manifest file so named (a checkout from another system)."""
    directory = workspace(tmp_path)
    (directory / "cas.yaml").rename(directory / os.fsdecode(b"caf\xe9.yaml"))
    first = manifest.load(directory)
    assert [d.name for d in first.cas] == ["Rolling"]
    assert [d.name for d in manifest.load(directory).cas] == ["Rolling"]


SETTINGS = """workspace_id: 7
scope: ["Roll*"]
safety: {max_change_percent: 12.5, allow_delete: false}
environments:
  prod: {workspace_id: 8, prune: true}
  dev:
"""


def settings_entries() -> list[Path]:
    return [path for path in _documents() if "settings" in document_of(path)]


def test_settings_read_once_come_from_the_cache_without_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = workspace(tmp_path)
    (directory / "reconciler.yaml").write_text(SETTINGS)
    first = manifest.load(directory)
    assert len(settings_entries()) == 1

    def refuse(*args: object) -> None:
        raise AssertionError("the YAML was parsed again")

    monkeypatch.setattr(composing, "compose", refuse)
    assert manifest.load(directory).settings == first.settings
    assert first.settings.environments is not None
    assert first.settings.environments["dev"] is None
    # An edit is a miss: the file is read again (and would be parsed).
    (directory / "reconciler.yaml").write_text(SETTINGS.replace("7", "9"))
    with pytest.raises(AssertionError, match="parsed again"):
        manifest.load(directory)


def test_a_settings_entry_that_does_not_validate_is_read_from_the_file(
    tmp_path: Path,
) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    (path,) = settings_entries()
    root = cache.root()
    assert root is not None
    for wrong in ({"settings": '{"workspace_id": "seven"}'}, {"settings": "[1"}, {"other": 1}):
        cache.store(root, path.stem, json.dumps(wrong).encode())
        assert manifest.load(directory).settings.workspace_id == 1
    # A settings file with errors is not kept, and its errors are reported each time.
    (directory / "reconciler.yaml").write_text("workspace_id: seven\n")
    for _ in range(2):
        with pytest.raises(ManifestError, match="workspace_id"):
            manifest.load(directory)
    assert len(settings_entries()) == 1


def facts(desired: manifest.DesiredCA) -> tuple[object, ...]:
    ca = desired.ca
    return (
        *(desired.file, desired.line, desired.column),
        *(ca.name, ca.description, ca.active, ca.renamed_from, ca.protect, ca.canonical),
    )


def test_an_edited_file_is_a_miss(tmp_path: Path) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    (directory / "cas.yaml").write_text(TEXT.replace("within: 7", "within: 8"))
    loaded = manifest.load(directory)
    assert loaded.cas[0].ca.definition.time_period.within == 8
    assert len(entries(directory)) == 2


def test_files_with_errors_are_not_cached(tmp_path: Path) -> None:
    directory = workspace(tmp_path, TEXT.replace("count", "counts"))
    with pytest.raises(ManifestError):
        manifest.load(directory)
    assert entries(directory) == []


def test_an_entry_of_another_shape_is_a_miss(tmp_path: Path) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    (path,) = entries(directory)
    document = document_of(path)
    document["facts"] = [["Rolling", None, True]]  # a row short of its five facts
    sealed(path, document)
    loaded = manifest.load(directory)  # the file is read instead
    assert isinstance(loaded.cas[0].ca, CalculatedAttribute)
    assert loaded.cas[0].name == "Rolling"


def uncached(directory: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    with monkeypatch.context() as patched:
        patched.setenv("RECONCILER_CACHE_DIR", "")
        return [facts(d) for d in manifest.load(directory).cas]


def test_a_byte_flipped_in_a_canonical_form_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning reads the stored canonical form: an edited one would change the plan."""
    directory = workspace(tmp_path)
    manifest.load(directory)
    (path,) = entries(directory)
    raw = path.read_bytes()
    at = raw.index(b'"canonical"')
    path.write_bytes(raw[:at] + raw[at:].replace(b'"within":7', b'"within":9', 1))
    assert b'"within":9' in path.read_bytes()
    loaded = manifest.load(directory)
    assert [facts(d) for d in loaded.cas] == uncached(directory, monkeypatch)
    assert loaded.cas[0].ca.canonical["time_period"]["within"] == 7  # type: ignore[index]


def test_an_entry_cut_short_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    for path in _documents():
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    assert [facts(d) for d in manifest.load(directory).cas] == uncached(directory, monkeypatch)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("facts", [[5, None, True, None, False]]),  # a name that is not text
        ("facts", [["Rolling", None, "yes", None, False]]),
        ("positions", [["1", 3]]),
        ("canonical", [["not", "a", "mapping"]]),
        ("warnings", [[13, 5, ["path"], "message"]]),
        ("items", {"not": "a list"}),
    ],
)
def test_a_sealed_entry_of_wrong_types_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: object
) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    (path,) = entries(directory)
    sealed(path, {**document_of(path), field: value})
    loaded = manifest.load(directory)
    assert [facts(d) for d in loaded.cas] == uncached(directory, monkeypatch)
    assert loaded.cas[0].ca.definition.time_period.within == 7


def test_sealed_data_that_does_not_validate_is_read_from_the_file(tmp_path: Path) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    (path,) = entries(directory)
    document = document_of(path)
    items = cache.items(document["items"])
    items[0]["definition"]["calculation_type"] = "counts"
    sealed(path, {**document, "items": items})
    loaded = manifest.load(directory)
    assert loaded.cas[0].name == "Rolling"  # planning reads the stored facts
    # Seeding reads the model: the cached data fails to validate, the file is read.
    assert loaded.cas[0].ca.definition.calculation_type == "count"


def test_an_entry_written_without_the_key_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    (path,) = entries(directory)
    document = document_of(path)
    document["canonical"][0]["time_period"]["within"] = 9
    path.write_bytes(b"hmac-sha256:" + b"0" * 64 + b"\n" + json.dumps(document).encode())
    assert [facts(d) for d in manifest.load(directory).cas] == uncached(directory, monkeypatch)
    path.write_text(json.dumps(document))  # the format of old: plain JSON
    assert [facts(d) for d in manifest.load(directory).cas] == uncached(directory, monkeypatch)


def test_a_key_others_could_read_turns_the_cache_off(tmp_path: Path, cache_dir: Path) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    key = cache_dir / cache.KEY_FILE
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    assert cache.key_of(cache_dir) is None
    assert manifest.load(directory).cas[0].name == "Rolling"
    assert isinstance(manifest.load(directory).cas[0].ca, CalculatedAttribute)  # not cached


@pytest.mark.parametrize("below", ["cache", ""], ids=["below a file", "a file"])
def test_a_cache_that_cannot_be_used_is_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, below: str
) -> None:
    """A CI job pointing RECONCILER_CACHE_DIR below a file (or somewhere not its own) got
    slow plans and no word why; pointing it at the file itself still did (mkdir's "File
    exists" was read as another process making the key first)."""
    directory = workspace(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    configured = blocker / below  # ("": the file itself)
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(configured))
    with caplog.at_level(logging.WARNING, logger="reconciler.cache"):
        assert manifest.load(directory).cas[0].name == "Rolling"
        manifest.load(directory)
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 1, said
    assert said[0].startswith(f"the manifest cache is off (cannot write in {configured}: ")
    assert "RECONCILER_CACHE_DIR" in said[0]


def test_no_home_directory_turns_the_cache_off_with_a_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A container run as a user id without a passwd entry and without HOME: `~` names no
    folder, and validate and plan ended in "This is a bug" (Path.home's RuntimeError)."""
    import pwd

    def unknown(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    directory = workspace(tmp_path)
    for name in ("RECONCILER_CACHE_DIR", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", unknown)
    monkeypatch.setattr(cache, "_OFF", set())
    with caplog.at_level(logging.WARNING, logger="reconciler.cache"):
        assert manifest.load(directory).cas[0].name == "Rolling"
        manifest.load(directory)
    said = [record.getMessage() for record in caplog.records]
    assert said == [
        "the manifest cache is off (no home directory: HOME is not set and the user has no "
        "passwd entry): every manifest is parsed afresh. Point RECONCILER_CACHE_DIR at a "
        "folder of your own, or set it empty to go without"
    ]


def test_a_package_imported_from_a_zip_archive_turns_the_cache_off(tmp_path: Path) -> None:
    """The code's fingerprint lists the package's folder; imported from a zip there is
    none, and validate ended in "unexpected NotADirectoryError ... This is a bug"."""
    package = Path(reconciler.__file__).parent
    archive = tmp_path / "reconciler.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in package.rglob("*.py"):
            zipped.write(path, path.relative_to(package.parent).as_posix())
    (tmp_path / "work").mkdir()
    directory = workspace(tmp_path / "work")
    env = {**os.environ, "PYTHONPATH": str(archive), "RECONCILER_CACHE_DIR": str(tmp_path / "c")}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(directory)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"reconciler runs from an archive, {archive}" in done.stderr


def test_a_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    (path,) = entries(directory)
    path.write_text("{not json")
    assert manifest.load(directory).cas[0].name == "Rolling"


def test_a_read_only_checkout_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = workspace(tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only")

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert manifest.load(directory).cas[0].name == "Rolling"


def test_dates_keep_their_type_through_the_cache() -> None:
    from datetime import date, datetime, timedelta, timezone

    value = {"a": [date(2024, 1, 1), datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=2)))]}
    assert cache.decode(cache.encode(value)) == value
    assert cache.decode(cache.encode(date(2024, 1, 1))) == date(2024, 1, 1)
    assert type(cache.decode(cache.encode(date(2024, 1, 1)))) is date


def test_the_cache_lives_outside_the_repository(tmp_path: Path, cache_dir: Path) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    assert not (directory / ".reconciler").exists()
    # The manifest file's entry, and reconciler.yaml's.
    assert len(list((cache_dir / cache.CACHE_DIR).glob("*.json"))) == 2


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_CACHE_DIR", "")
    assert cache.root() is None
    assert manifest.load(workspace(tmp_path)).cas[0].name == "Rolling"


def test_default_location_follows_xdg() -> None:
    assert cache.root({"XDG_CACHE_HOME": "/x"}) == Path("/x/reconciler")


def test_rules_across_files_are_checked_again_after_any_edit(tmp_path: Path) -> None:
    directory = workspace(tmp_path)
    other = directory / "more.yaml"
    second_ca = TEXT.replace("name: Rolling", "name: Other")
    other.write_text(second_ca)
    assert [d.name for d in manifest.load(directory).cas] == ["Rolling", "Other"]
    # Each file alone is clean (and cached); together they declare one name twice.
    other.write_text(TEXT)
    with pytest.raises(ManifestError, match="duplicate CA name"):
        manifest.load(directory)
    other.write_text(second_ca)
    assert [d.name for d in manifest.load(directory).cas] == ["Rolling", "Other"]
    other.unlink()
    (directory / "cas.yaml").write_text(TEXT.replace("count", "counts"))
    with pytest.raises(ManifestError, match="calculation_type"):
        manifest.load(directory)


def test_entries_unused_for_a_month_are_removed_when_one_is_written(tmp_path: Path) -> None:
    directory = workspace(tmp_path)
    manifest.load(directory)
    folder = _documents()[0].parent
    forgotten = folder / ("0" * 64 + ".json")
    forgotten.write_text("{}")
    long_ago = time.time() - cache.MAX_AGE - 3600
    for path in [*_documents(), forgotten]:
        os.utime(path, (long_ago, long_ago))
    assert manifest.load(directory).cas  # reading the entry marks it used
    (directory / "more.yaml").write_text(TEXT.replace("name: Rolling", "name: Other"))
    manifest.load(directory)  # a new entry is written: the unused one goes
    assert not forgotten.exists()
    assert len(entries(directory)) == 2


def test_the_code_is_identified_by_each_file_as_python_trusts_its_bytecode(
    tmp_path: Path,
) -> None:
    package = tmp_path / "package"
    (package / "inner").mkdir(parents=True)
    (package / "emulator").mkdir()
    (package / "__pycache__").mkdir()
    source = package / "inner" / "module.py"
    source.write_text("ANSWER = 41\n")
    os.utime(source, ns=(1_000_000_000, 1_000_000_000))
    before = cache.files_identity(package, skip="emulator")
    assert b"inner/module.py\x0012\x001000000000\n" in before

    # Bytecode and the skipped folder are no part of it.
    (package / "__pycache__" / "module.cpython-311.pyc").write_bytes(b"\0")
    (package / "emulator" / "server.py").write_text("pass\n")
    assert cache.files_identity(package, skip="emulator") == before
    assert b"emulator/server.py" in cache.files_identity(package)

    # An edit that keeps the size changes the time; one that keeps the time, the size.
    source.write_text("ANSWER = 42\n")
    edited = cache.files_identity(package, skip="emulator")
    assert edited != before
    source.write_text("ANSWER = 420\n")
    os.utime(source, ns=(1_000_000_000, 1_000_000_000))
    assert cache.files_identity(package, skip="emulator") not in (before, edited)
    # A new file counts too.
    (package / "new.py").write_text("")
    assert b"new.py\x000\x00" in cache.files_identity(package, skip="emulator")


def test_code_installed_with_one_time_for_every_file_is_identified_by_content(
    tmp_path: Path,
) -> None:
    """Nix and reproducible builds give every file one modification time: two versions of
    a module that differ in one digit (same size) had the same identity, and one version
    read the other's cache entries as its own."""
    package = tmp_path / "package"
    package.mkdir()
    files = [package / "a.py", package / "b.py"]
    for path in files:
        path.write_text("LIMIT = 20\n")
    for path in files:
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = cache.files_identity(package)
    files[0].write_text("LIMIT = 30\n")
    os.utime(files[0], ns=(1_000_000_000, 1_000_000_000))
    assert cache.files_identity(package) != before
    assert b"\x001000000000" not in before  # by content, not by time


def test_windows_mode_bits_leave_the_cache_on(
    tmp_path: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Windows' stat reports every writable file as 0o666, every folder as 0o777 and owner
    0, whatever its ACL says: read as POSIX modes, the key was "not private" on every
    Windows machine, the cache never served a plan, and each command warned of it."""
    directory = workspace(tmp_path)
    manifest.load(directory)
    (cache_dir / cache.KEY_FILE).chmod(0o666)  # what Windows reports for the key...
    cache_dir.chmod(0o777)  # ... and for its folder
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "getuid")
    with caplog.at_level(logging.WARNING, logger="reconciler.cache"):
        assert cache.key_of(cache_dir) is not None
        assert not isinstance(manifest.load(directory).cas[0].ca, CalculatedAttribute)  # cached
    assert caplog.records == []


def test_a_key_is_made_where_the_file_system_has_no_hard_links(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is linked into place whole; a file system that refuses links (FAT, some
    network and FUSE mounts) gets it created and written, as before, not a cache off."""

    def refused(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refused)
    directory = workspace(tmp_path)
    manifest.load(directory)
    key = cache.key_of(cache_dir)
    assert key is not None
    assert len(key) == cache.KEY_BYTES
    assert sorted(path.name for path in cache_dir.iterdir()) == [cache.KEY_FILE, "manifests"]
    assert entries(directory)
