"""`reconciler export`: write manifests for the live workspace (then `plan` is empty).

With environments, `--env` picks the workspace; the export is a single-workspace
directory. Only CAs inside the environment's `scope` are exported, and the scope is
written along so that `plan` on the export sees the same CAs. The embedded target's
database is not copied: the exported `reconciler.yaml` points at it (`emulator_db`), so
the export plans against the very workspace it came from. Every file export writes
starts with its mark; `--force` replaces such files, and never touches any other. Its
second line names the file's JSON Schema for editors, where a `schemas/` folder is found.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from reconciler import manifest
from reconciler.api import transports as target
from reconciler.console import Output
from reconciler.errors import (
    Issue,
    ManifestError,
    ReconcilerError,
    SettingsError,
    first_few,
    format_path,
    printable,
)
from reconciler.export import Located, export
from reconciler.files import (
    LOCKS,
    held_within,
    hold,
    leftovers,
    open_folder,
    real_path,
    refusal,
    share,
    write_atomically,
)
from reconciler.interrupts import run_async
from reconciler.manifest import ignore, schema
from reconciler.manifest.document import parse_yaml
from reconciler.manifest.retention import today_utc
from reconciler.manifest.writing import dump
from reconciler.plan.selection import in_scope
from reconciler.settings import Flags, Settings, SettingsFile, resolve
from reconciler.settings.file import DEFAULT_AUTH_URL, DEFAULT_S2S_URL

#: The first line of every file export writes: `--force` replaces only files that have it.
MARK = "# Exported by `reconciler export`"
HEADER = MARK + " from workspace {workspace}.\n"


@dataclass(frozen=True)
class ExportOptions:
    """The command's flags: DIR gives the settings, `out` receives the manifests; `force`
    replaces the files of an earlier export there."""

    directory: Path = Path("manifests")
    out: Path = Path("exported")
    flags: Flags = field(default_factory=Flags)
    force: bool = False


def placed(note: Located, out: Path, text: str) -> str:
    """`note` at the line and column of its field in the file written (`text`), with the
    file's path in `--out` and the field's path in its CA: what a plan of the export
    says of that field."""
    display = str(out / note.file)
    where = parse_yaml(text, display).position(note.in_file)
    line, column = (where.line, where.column) if where is not None else (None, None)
    return str(Issue(display, line, column, format_path(note.path), note.message))


def headers(settings: Settings, out: Path) -> dict[str, str]:
    """The lines each kind of exported file (`settings`: reconciler.yaml, `manifest`)
    starts with: export's mark, then the line that gives editors the file's schema where
    `out` or a folder above it holds `schemas/` (as `python -m reconciler.manifest.schema`
    writes it at a repository's root)."""
    mark = HEADER.format(workspace=settings.workspace_id)
    return {kind: mark + schema.modeline(out, f"{kind}.schema.json") for kind in KINDS}


#: The kinds of file export writes, each with its schema.
KINDS = ("settings", "manifest")


def _written_by_export(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.readline().decode("utf-8", "replace").startswith(MARK)
    except OSError:
        return False


def _listed(items: list[str]) -> str:
    """The first five of `items`, and how many more."""
    return first_few(items, ", ", " ", 5)


def _holds_manifests(out: Path, count: int) -> ReconcilerError:
    return ReconcilerError(
        f"--out {out} already holds manifests ({count} file{'' if count == 1 else 's'}). "
        "Pass --force to replace the files an earlier export wrote there (no other file is "
        "touched), or export into a new directory."
    )


def _refuse_foreign(out: Path, paths: list[Path]) -> None:
    """Refuse, by name, the files among `paths` that export did not write."""
    foreign = [str(path) for path in paths if not _written_by_export(path)]
    if foreign:
        raise ReconcilerError(
            f"--out {out}: export replaces only the files it wrote, and these are not its "
            f"own: {_listed(foreign)}. Move them away, or export into another directory."
        )


def _refuse_linked_in(out: Path, paths: list[Path]) -> None:
    """Refuse, by name, the files among `paths` that a symbolic link to a folder brings into
    `out` from outside it: replacing them would remove another folder's files (an export
    of another workspace, say), which a plan of `out` only reads."""
    inside = real_path(out)
    outside = [str(path) for path in paths if not real_path(path.parent).is_relative_to(inside)]
    if outside:
        raise ReconcilerError(
            f"--out {out}: export removes and writes files only inside it, and these are in "
            f"a folder outside it, reached through a symbolic link: {_listed(outside)}. "
            f"Remove the link, or name it in {ignore.IGNORE_FILE}."
        )


def previous_export(out: Path, force: bool) -> list[Path]:
    """The manifests an earlier export left in `out`, which this one replaces; refuses an
    `out` that is a file, one that holds manifests without `--force`, any manifest export
    did not write (whatever `--force` says), and any in a folder outside `out` that a link
    leads to."""
    if out.exists() and not out.is_dir():
        raise ReconcilerError(f"--out {out}: is a file; name a directory to export into")
    if not out.is_dir():
        return []
    found = list(manifest.discover(out))
    if (out / manifest.SETTINGS_FILE).is_file():
        found.append(out / manifest.SETTINGS_FILE)
    if found and not force:
        raise _holds_manifests(out, len(found))
    _refuse_linked_in(out, found)
    _refuse_foreign(out, found)
    return found


def check_targets(out: Path, names: list[str], replaced: list[Path], force: bool) -> None:
    """Before writing `names` into `out`: a file there that `previous_export` did not see
    (`.reconcilerignore` hides it) is refused like the others: by name if export did not
    write it, without `--force` if it did. A file `.reconcilerignore` would hide is refused
    too: plan on the export would call its CA unmanaged (and prune would delete it)."""
    seen = {real_path(path) for path in replaced}
    unseen = [
        out / name
        for name in names
        if ((out / name).exists() or (out / name).is_symlink())
        and real_path(out / name) not in seen
    ]
    _refuse_foreign(out, unseen)
    if unseen and not force:
        raise _holds_manifests(out, len(unseen))
    ignored = ignore.read(out) if out.is_dir() else None
    hidden = [  # reconciler.yaml is read whatever the ignore file says
        name
        for name in names
        if ignored is not None and name != manifest.SETTINGS_FILE and ignored(name)
    ]
    if hidden:
        raise ReconcilerError(
            f"--out {out}: {out / ignore.IGNORE_FILE} hides files this export would write "
            f"({_listed(hidden)}): plan there would not see their CAs, and prune would "
            "delete them. Take those patterns out of it, or export into another directory."
        )


def protected_in(paths: list[Path]) -> set[str]:
    """The CAs an earlier export's files mark `protect: true` (a damaged one marks none)."""
    names: set[str] = set()
    for path in paths:
        try:
            data = YAML(typ="safe", pure=True).load(path.read_bytes())
        except (OSError, YAMLError, ValueError):
            continue
        entries = data.get("calculated_attributes") if isinstance(data, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("protect") is True:
                names.add(str(entry.get("name")))
    return names


def source(directory: Path, flags: Flags) -> tuple[Settings, set[str] | None]:
    """The settings of DIR's workspace, and the CAs DIR's manifests protect (None when
    they cannot be read: export does not need them, only their `protect`)."""
    if not (directory / manifest.SETTINGS_FILE).is_file():
        if (directory / manifest.UNFINISHED_EXPORT).is_file():
            # `export DIR --out DIR` stopped between removing reconciler.yaml and writing it
            # back: the defaults are another workspace (an empty embedded one), whose export
            # would delete every manifest of this one.
            raise ReconcilerError(
                f"{printable(str(directory))}: an export into it stopped before it wrote its "
                "reconciler.yaml back, so the settings to export with (workspace, target, "
                "scope) are not there. Export again from the directory it was exported "
                "from, or put reconciler.yaml back as that export wrote it (from Git, say) "
                "and run this again"
            )
        return _without_settings_file(directory, flags), set()
    try:
        manifests = manifest.load(directory)
    except ManifestError:
        settings = resolve(directory, manifest.load_settings(directory), flags)
        return settings, None
    settings = resolve(directory, manifests.settings, flags)
    chosen = manifests.for_environment(settings.environment)
    return settings, {desired.name for desired in chosen if desired.ca.protect}


def _without_settings_file(directory: Path, flags: Flags) -> Settings:
    """The settings of a DIR without reconciler.yaml: the environment's and the flags',
    which may name a workspace of mParticle to export from scratch. Not an embedded one,
    which lives beside its reconciler.yaml: DIR mistyped would get an empty workspace made
    in it, exported as nothing. There, and for a DIR that is not there, the error names
    DIR and why, as a plan of it would."""
    try:
        settings = resolve(directory, SettingsFile(), flags)
    except SettingsError:
        if not directory.is_dir():
            manifest.load_settings(directory)  # raises: no such directory, or a file
        raise
    if settings.target == "embedded":
        manifest.load_settings(directory)  # raises: no such directory, or no reconciler.yaml
    return settings


def as_written(value: Any) -> Any:
    """A setting's number as a person writes it: `20`, not the `20.0` a float field holds
    (both read back as the same setting); any other value as it is."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def settings_document(settings: Settings, out: Path) -> dict[str, Any]:
    """The exported reconciler.yaml: the same workspace, target, API (its token and seeding
    endpoints too), prune, scope, drafts policy, rate limits (requests, and seeding's rate and
    ceiling), account limits (active CAs, retention) and safety rules; for the embedded
    target, the path of the very database the CAs were read from."""
    written: dict[str, Any] = {
        "workspace_id": settings.workspace_id,
        "target": settings.target,
        # The source's own choice: a re-export (`--force`) must not turn prune off.
        "prune": settings.prune,
    }
    if settings.target == "mparticle":
        if settings.api_url:
            written["api_url"] = settings.api_url
        # The credentials must go where they went, not to the defaults' hosts.
        if settings.auth_url != DEFAULT_AUTH_URL:
            written["auth_url"] = settings.auth_url
        if settings.s2s_url != DEFAULT_S2S_URL:
            written["s2s_url"] = settings.s2s_url
    if settings.target == "embedded":
        database = real_path(settings.emulator_db)
        try:
            written["emulator_db"] = Path(os.path.relpath(database, real_path(out))).as_posix()
        except ValueError:  # another drive (Windows): only an absolute path reaches it
            written["emulator_db"] = str(database)
    if settings.scope is not None:
        written["scope"] = list(settings.scope)
    if settings.drafts != "discard":
        # A plan on the export must keep the drafts the source's policy keeps.
        written["drafts"] = settings.drafts
    # The account's facts and the source's limits: an edit made on the export is checked
    # against the same active-CA limit, retention and safety rules, at the same pace, and
    # seeds from the export go no faster than the account's seeding limit allows.
    safety = settings.safety.model_dump(exclude_defaults=True)
    facts = {
        "rate_limit": as_written(settings.rate_limit),
        "seed_rate": as_written(settings.seed_rate),
        "seed_rate_ceiling": as_written(settings.seed_rate_ceiling),
        "active_limit": settings.active_limit,
        "retention_days": settings.retention_days,
        "safety": {key: as_written(value) for key, value in safety.items()} or None,
    }
    written.update({key: value for key, value in facts.items() if value is not None})
    return written


#: What the marker of an unfinished export says to someone who opens it; its last line
#: names the workspace, so that only the same export finishes it without --force.
UNFINISHED_TEXT = (
    "reconciler export is writing this folder, or stopped before it had written every "
    "file.\nWhile this file is here, plan, apply and validate refuse the folder. Run the "
    "same export again to finish it.\nworkspace: {workspace}\n"
)


def unfinished_here(out: Path, workspace: int) -> bool:
    """Whether `out` holds an export of `workspace` that stopped half-way (its marker),
    which this one may finish without --force; one of another workspace needs --force."""
    try:
        text = (out / manifest.UNFINISHED_EXPORT).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return text.rstrip("\n").rpartition("\n")[2] == f"workspace: {workspace}"


def _make(out: Path) -> None:
    """`out`, made if missing; a named error when it cannot be."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if out.is_symlink() and not out.exists():  # mkdir would say "File exists"
            raise ReconcilerError(
                f"--out {out}: cannot write in it: it is a symbolic link to "
                f"{os.readlink(out)}, which leads to no folder (a loop, or nothing)"
            ) from None
        raise refusal("--out", out, exc) from None


@contextlib.contextmanager
def claimed(out: Path) -> Iterator[None]:
    """`out` (made if missing) held by this export while it checks and writes (a lock on
    the folder itself, which leaves no file behind), so that a second export into the same
    folder at once is refused: two, of two workspaces, each passed the checks, then left
    the files of both, and the second to finish failed to remove the marker the first had
    removed. Commands loading the folder's manifests hold it too, shared, while they read:
    the export waits for them (bounded, announced), as they wait for it."""
    _make(out)
    if not LOCKS:  # one export at a time into a folder is then the user's to keep
        yield
        return
    try:
        descriptor = os.open(out, os.O_RDONLY)
    except OSError as exc:
        raise refusal("--out", out, exc, "read") from None
    try:
        held_within(
            lambda: _take(out, descriptor),
            f"--out {out}: other reconciler commands (plan, validate, test, apply, seed, "
            "export) are reading its manifests; waiting for them to finish",
            lambda waited: (
                f"--out {out}: other reconciler commands (plan, validate, test, apply, seed, "
                f"export) were still reading its manifests after {waited} of waiting; nothing "
                "was written. Export again when they end, or export into another directory"
            ),
        )
        yield
    finally:
        os.close(descriptor)


def _take(out: Path, descriptor: int) -> bool:
    """The folder held alone, or False while commands that load manifests hold it
    (shared: they read for seconds, and are waited for); another export holding it is
    refused at once."""
    if hold(descriptor, out):
        return True
    probe = open_folder(out)
    try:  # a shared lock is had while only readers hold the folder
        readers_only = probe is None or share(probe)
    finally:
        if probe is not None:
            os.close(probe)
    if not readers_only:
        raise ReconcilerError(
            f"--out {out}: another `reconciler export` is writing into it now; wait for "
            "it to finish, or export into another directory"
        )
    return False


def write(out: Path, documents: dict[str, str], replaced: list[Path], workspace: int) -> None:
    """Remove what the earlier export wrote and this one does not (CAs deleted or renamed
    since), then write every file whole: `out` then holds exactly the workspace."""
    _make(out)
    # Until the last file is written, the folder says it is unfinished: plan, apply and
    # validate refuse it, and the same export run again finishes it (without --force).
    marker = out / manifest.UNFINISHED_EXPORT
    try:
        marker.write_text(UNFINISHED_TEXT.format(workspace=workspace), encoding="utf-8")
    except OSError as exc:
        raise refusal("--out", marker, exc) from None
    # Older reconcilers know no marker: they refuse a folder without reconciler.yaml, so
    # it goes first and comes back last (a link to it is kept and written through).
    settings_file = out / manifest.SETTINGS_FILE
    if settings_file.is_file() and not settings_file.is_symlink():
        try:
            settings_file.unlink()
        except OSError as exc:
            raise refusal("--out", settings_file, exc, "remove") from None
    # What an export killed mid-write left: a hidden file Git would commit with the rest.
    for leftover in leftovers(out, {*documents, *(path.name for path in replaced)}):
        with contextlib.suppress(OSError):
            leftover.unlink()
    # The files of CAs gone since go first: an export killed mid-way (SIGKILL, a lost CI
    # runner) then leaves CAs undeclared (unmanaged: export never prunes), never the file
    # of a CA deleted or renamed since, which a plan of the folder would create again.
    kept = {real_path(out / name) for name in documents}
    for path in replaced:
        if real_path(path) not in kept:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise refusal("--out", path, exc, "remove") from None
    for name in sorted(documents, key=lambda name: name == manifest.SETTINGS_FILE):
        write_atomically(out / name, documents[name].encode("utf-8"), "--out", tidy=False)
    try:
        marker.unlink()
    except OSError as exc:
        raise refusal("--out", marker, exc, "remove") from None


def run(options: ExportOptions, output: Output) -> int:
    """Write OUT/reconciler.yaml and one OUT/<ca>.yaml per live CA."""
    directory, out = options.directory, options.out
    settings, protected = source(directory, options.flags)
    unfinished = unfinished_here(out, settings.workspace_id)
    force = options.force or unfinished
    replaced = previous_export(out, force)

    async def fetch() -> list[Any]:
        async with target.platform(settings) as client:
            return await client.list()

    # Out of scope is out of sight: CAs other teams own in a shared workspace stay theirs.
    live = in_scope(run_async(fetch()), settings.scope)
    result = export(
        live,
        protected=(protected or set()) | protected_in(replaced),
        drafts=settings.drafts,
        retention=((settings.retention_days, today_utc()) if settings.retention_days else None),
    )
    files = {manifest.SETTINGS_FILE: settings_document(settings, out), **result.files}
    starts = headers(settings, out)
    documents = {
        name: starts["settings" if name == manifest.SETTINGS_FILE else "manifest"]
        + dump(document, name)
        for name, document in files.items()
    }
    check_targets(out, list(documents), replaced, force)
    with claimed(out):
        # Again, now that no other export writes here: one may have finished meanwhile.
        replaced = previous_export(out, force)
        check_targets(out, list(documents), replaced, force)
        if unfinished:
            output.info(
                f"Finishing the export into {printable(str(out))} that stopped before it was done."
            )
        write(out, documents, replaced, settings.workspace_id)
    for note in result.notes:
        output.warn(note)
    for located in result.located:
        output.warn(placed(located, out, documents[located.file]))
    # Into DIR itself, DIR's manifests are the files replaced, which `protect` came from: a
    # DIR an export stopped in (its marker refuses the folder) lost none.
    if protected is None and real_path(directory) != real_path(out):
        output.warn(
            f"the manifests in {printable(str(directory))} have errors, so the export could "
            "not take `protect: true` from them (mParticle does not store it): add it back "
            "where you want it"
        )
    if result.protected:
        output.info(
            f"Kept `protect: true` on {result.protected} CA(s) as the manifests say "
            "(mParticle does not store it)."
        )
    count = len(result.files)
    what = "calculated attribute" if count == 1 else "calculated attributes"
    output.print(f"Exported {count} {what} to {printable(str(out))}.")
    return 0
