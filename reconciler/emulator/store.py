"""The emulator's state in SQLite: calculated attributes per workspace, seeded users, and
their seeds. Every write request runs in one transaction, so a crash half-writes nothing."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_on REAL NOT NULL,
    created_by TEXT NOT NULL,
    last_modified_on REAL NOT NULL,
    last_modified_by TEXT NOT NULL,
    active_definition TEXT,
    draft_definition TEXT,
    audience_count INTEGER NOT NULL DEFAULT 0,
    activated_on REAL,
    activated_by TEXT,
    revision_id INTEGER NOT NULL DEFAULT 0,
    calculation_started REAL,
    UNIQUE (workspace_id, name)
);
-- CAs whose answers leave `audience_count` out (a test control: mParticle's docs show it
-- on every CA). A table of its own, so that a database made before it is read as it was.
CREATE TABLE IF NOT EXISTS audience_counts_withheld (ca_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS seed_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_key TEXT NOT NULL UNIQUE,
    mpid INTEGER,
    identities TEXT NOT NULL,
    environment TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seeds (
    user_key TEXT NOT NULL,
    ca_name TEXT NOT NULL,
    workspace_id INTEGER NOT NULL,
    calculation_type TEXT NOT NULL,
    cutoff_date TEXT NOT NULL,
    seed TEXT NOT NULL,
    PRIMARY KEY (user_key, ca_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seeds_by_ca ON seeds (workspace_id, ca_name);
CREATE TABLE IF NOT EXISTS user_attributes (
    user_key TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_key, name)
) WITHOUT ROWID;
"""

_CA_COLUMNS = (
    "id, workspace_id, name, description, created_on, created_by, last_modified_on, "
    "last_modified_by, active_definition, draft_definition, audience_count, activated_on, "
    "activated_by, revision_id, calculation_started, "
    "id IN (SELECT ca_id FROM audience_counts_withheld)"
)


def stored_json(text: str) -> Any:
    """JSON the database holds. Text that does not parse was damaged in the file (a torn
    write, a bad copy): that is the database's error, raised as such, as SQLite raises
    one for a page it cannot read."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise sqlite3.DatabaseError(f"damaged JSON in the database: {exc}") from None


def _load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else stored_json(text)


def _dump(value: object) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


@dataclass
class Ca:
    """One stored calculated attribute; definitions are canonical dicts (key `datapoint`)."""

    id: int
    workspace_id: int
    name: str
    description: str
    created_on: float
    created_by: str
    last_modified_on: float
    last_modified_by: str
    active_definition: dict[str, Any] | None = None
    draft_definition: dict[str, Any] | None = None
    audience_count: int = 0
    activated_on: float | None = None
    activated_by: str | None = None
    revision_id: int = 0
    calculation_started: float | None = None
    #: Whether its answers leave `audience_count` out (`withhold_audience_count`).
    audience_count_withheld: bool = False

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Ca:
        values = list(row)
        values[8] = _load(values[8])
        values[9] = _load(values[9])
        values[15] = bool(values[15])
        return cls(*values)

    def seed_target(self) -> tuple[str, str, str] | None:
        """What seeds attach to: name, calculation type and cutoff of the definition in use
        (the active one, else the draft); None when that definition cannot be seeded."""
        definition = self.active_definition or self.draft_definition
        if definition is None or definition["seeding"] is None:
            return None
        # A rolling (`within`) window is accepted too: the docs call seeding it "not
        # supported" (the seeded values would never decrement), not refused.
        return self.name, definition["calculation_type"], definition["seeding"]["cutoff_date"][:10]


@dataclass(frozen=True)
class SeedUser:
    """One user of an accepted seeding request, ready to store."""

    key: str
    mpid: int | None
    identities: str
    environment: str
    seeds: list[tuple[str, int, str, str, str]] = field(default_factory=list)
    attributes: list[tuple[str, str]] = field(default_factory=list)


#: The first bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
#: How long a write waits for another connection's write to finish (SQLite's busy
#: timeout) before it fails with "database is locked"; after the first FIRST_WAIT_MS of
#: it, the wait is announced (another command, or a server, is writing to the file).
BUSY_TIMEOUT_MS = 10_000
FIRST_WAIT_MS = 200

log = logging.getLogger("reconciler.emulator")


def _refuse_a_foreign_file(path: Path) -> None:
    """SQLite takes a file shorter than its header for an empty database and writes a new
    one over it: a database cut short by a full disk, or any small file given as --db,
    would be replaced without a word. An empty file is a new database; any other file
    must start as a SQLite database does."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    if head and head != SQLITE_MAGIC:
        raise sqlite3.DatabaseError("file is not a database")


class ForeignDatabase(sqlite3.DatabaseError):
    """A SQLite database that another program made (it holds tables, none of them the
    emulator's): left as it is, never given the emulator's tables or journal mode."""


def _refuse_a_foreign_database(conn: sqlite3.Connection) -> None:
    """Refuse a database with tables but not the emulator's: `emulator_db` (which a pull
    request's reconciler.yaml may set) or `--db` naming another program's database would
    otherwise have the emulator's tables added to it and be switched to WAL."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    tables = sorted(str(name) for (name,) in rows)
    if tables and "cas" not in tables:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise ForeignDatabase(
            f"it is a SQLite database of another program (its tables: {shown}), "
            "not an emulator database; it was left as it is"
        )


class Store:
    """A SQLite database (a file, or memory) behind one connection and one lock."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            target = ":memory:"
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _refuse_a_foreign_file(Path(path))
            target = str(path)
        self._where = target
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        try:
            self._open(path is not None)
        except UnicodeDecodeError as exc:  # a damaged schema: its text is no longer UTF-8
            self._conn.close()
            raise sqlite3.DatabaseError(f"damaged schema text in the database: {exc}") from None
        except ForeignDatabase:
            self._conn.close()
            raise

    def _open(self, on_disk: bool) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if on_disk:
            _refuse_a_foreign_database(self._conn)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)
        self._conn.execute(f"PRAGMA busy_timeout = {FIRST_WAIT_MS}")

    def _begin(self) -> None:
        """Start a write transaction. Another connection writing (WAL lets reads through)
        makes it wait: silently for FIRST_WAIT_MS, then saying so, up to BUSY_TIMEOUT_MS
        in all, after which SQLite's "database is locked" is raised."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        rest = max(BUSY_TIMEOUT_MS - FIRST_WAIT_MS, 0)
        log.warning(
            "the database %s is in use by another process (a command or a server writing "
            "to it): waiting up to %g s more",
            self._where,
            rest / 1000,
        )
        self._conn.execute(f"PRAGMA busy_timeout = {rest}")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {FIRST_WAIT_MS}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads that need no transaction (each statement is atomic)."""
        with self._lock:
            yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._begin()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def reset(self) -> None:
        """Empty every table, also those other modules add (the Events API's)."""
        with self.transaction() as conn:
            tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for (table,) in tables.fetchall():
                conn.execute(f'DELETE FROM "{table}"')


def list_cas(conn: sqlite3.Connection, workspace_id: int, name: str | None = None) -> list[Ca]:
    sql = f"SELECT {_CA_COLUMNS} FROM cas WHERE workspace_id = ?"
    params: tuple[Any, ...] = (workspace_id,)
    if name is not None:
        sql += " AND name = ?"
        params += (name,)
    return [Ca.from_row(row) for row in conn.execute(sql + " ORDER BY id", params)]


def get_ca(conn: sqlite3.Connection, workspace_id: int | None, ca_id: int) -> Ca | None:
    sql = f"SELECT {_CA_COLUMNS} FROM cas WHERE id = ?"
    params: tuple[Any, ...] = (ca_id,)
    if workspace_id is not None:
        sql += " AND workspace_id = ?"
        params += (workspace_id,)
    row = conn.execute(sql, params).fetchone()
    return None if row is None else Ca.from_row(row)


def name_taken(conn: sqlite3.Connection, workspace_id: int, name: str, but: int | None) -> bool:
    row = conn.execute(
        "SELECT 1 FROM cas WHERE workspace_id = ? AND name = ? AND id IS NOT ?",
        (workspace_id, name, but),
    ).fetchone()
    return row is not None


def count_active(conn: sqlite3.Connection, workspace_id: int) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM cas WHERE workspace_id = ? AND active_definition IS NOT NULL",
        (workspace_id,),
    ).fetchone()
    return int(row[0])


def insert_ca(conn: sqlite3.Connection, ca: Ca) -> int:
    cursor = conn.execute(
        "INSERT INTO cas (workspace_id, name, description, created_on, created_by, "
        "last_modified_on, last_modified_by, draft_definition) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ca.workspace_id,
            ca.name,
            ca.description,
            ca.created_on,
            ca.created_by,
            ca.last_modified_on,
            ca.last_modified_by,
            _dump(ca.draft_definition),
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def save_ca(conn: sqlite3.Connection, ca: Ca, before: Ca | None) -> None:
    """Write every mutable field of `ca`; discard seeds its change invalidates."""
    conn.execute(
        "UPDATE cas SET name = ?, description = ?, last_modified_on = ?, last_modified_by = ?, "
        "active_definition = ?, draft_definition = ?, audience_count = ?, activated_on = ?, "
        "activated_by = ?, revision_id = ?, calculation_started = ? WHERE id = ?",
        (
            ca.name,
            ca.description,
            ca.last_modified_on,
            ca.last_modified_by,
            _dump(ca.active_definition),
            _dump(ca.draft_definition),
            ca.audience_count,
            ca.activated_on,
            ca.activated_by,
            ca.revision_id,
            ca.calculation_started,
            ca.id,
        ),
    )
    if before is not None and before.seed_target() != ca.seed_target():
        discard_seeds(conn, before)


def delete_ca(conn: sqlite3.Connection, ca: Ca) -> None:
    conn.execute("DELETE FROM cas WHERE id = ?", (ca.id,))
    conn.execute("DELETE FROM audience_counts_withheld WHERE ca_id = ?", (ca.id,))
    discard_seeds(conn, ca)


def set_audience_count(conn: sqlite3.Connection, ca_id: int, count: int | None) -> None:
    """The audience count the answers give for a CA: `count` (a negative one too, which
    some APIs send for "unknown"), or, for None, none at all (the key left out)."""
    conn.execute("DELETE FROM audience_counts_withheld WHERE ca_id = ?", (ca_id,))
    if count is None:
        conn.execute("INSERT INTO audience_counts_withheld (ca_id) VALUES (?)", (ca_id,))
    else:
        conn.execute("UPDATE cas SET audience_count = ? WHERE id = ?", (count, ca_id))


def discard_seeds(conn: sqlite3.Connection, ca: Ca) -> None:
    """Deleting a CA, or changing its name, calculation type or cutoff, drops its seeds."""
    conn.execute(
        "DELETE FROM seeds WHERE workspace_id = ? AND ca_name = ?", (ca.workspace_id, ca.name)
    )


def seed_targets(
    conn: sqlite3.Connection, workspace_id: int | None, written_after: float | None = None
) -> tuple[dict[tuple[str, str, str], int], frozenset[str]]:
    """Seedable CAs: (name, calculation type, cutoff `yyyy-MM-dd`) → workspace id (the
    lowest, when several workspaces have such a CA); and the names of CAs written after
    `written_after` (still on their way to the seeding path), which are left out."""
    sql = f"SELECT {_CA_COLUMNS} FROM cas"
    params: tuple[Any, ...] = ()
    if workspace_id is not None:
        sql += " WHERE workspace_id = ?"
        params = (workspace_id,)
    targets: dict[tuple[str, str, str], int] = {}
    propagating: set[str] = set()
    for row in conn.execute(sql + " ORDER BY workspace_id, id", params):
        ca = Ca.from_row(row)
        if written_after is not None and ca.last_modified_on > written_after:
            propagating.add(ca.name)
            continue
        target = ca.seed_target()
        if target is not None:
            targets.setdefault(target, ca.workspace_id)
    return targets, frozenset(propagating)


def store_users(conn: sqlite3.Connection, users: Iterable[SeedUser]) -> None:
    """Upsert users, their seeds and user attributes: a re-sent seed overwrites the old one."""
    users = list(users)
    conn.executemany(
        "INSERT INTO seed_users (user_key, mpid, identities, environment) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (user_key) DO UPDATE SET mpid = excluded.mpid, "
        "identities = excluded.identities, environment = excluded.environment",
        [(u.key, u.mpid, u.identities, u.environment) for u in users],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO seeds "
        "(user_key, ca_name, workspace_id, calculation_type, cutoff_date, seed) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(u.key, *seed) for u in users for seed in u.seeds],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO user_attributes (user_key, name, value) VALUES (?, ?, ?)",
        [(u.key, *attribute) for u in users for attribute in u.attributes],
    )


_PAGE = "(SELECT id, user_key FROM seed_users ORDER BY id LIMIT ? OFFSET ?)"


def seed_page(conn: sqlite3.Connection, limit: int, offset: int) -> tuple[int, list[Any]]:
    """The count of seeded users and one page of them, in first-seen order."""
    total = int(conn.execute("SELECT COUNT(*) FROM seed_users").fetchone()[0])
    users: dict[str, dict[str, Any]] = {}
    for key, mpid, identities, environment in conn.execute(
        "SELECT user_key, mpid, identities, environment FROM seed_users ORDER BY id "
        "LIMIT ? OFFSET ?",
        (limit, offset),
    ):
        users[key] = {
            "mpid": mpid,
            "identities": stored_json(identities),
            "environment": environment,
            "calculated_attributes": {},
            "user_attributes": {},
        }
    for key, name, calculation_type, cutoff, seed in conn.execute(
        "SELECT s.user_key, s.ca_name, s.calculation_type, s.cutoff_date, s.seed "
        f"FROM seeds s JOIN {_PAGE} p ON p.user_key = s.user_key ORDER BY p.id, s.ca_name",
        (limit, offset),
    ):
        users[key]["calculated_attributes"][name] = {
            "calculation_type": calculation_type,
            "cutoff_date": cutoff,
            "seed": stored_json(seed),
        }
    for key, name, value in conn.execute(
        "SELECT a.user_key, a.name, a.value "
        f"FROM user_attributes a JOIN {_PAGE} p ON p.user_key = a.user_key ORDER BY p.id, a.name",
        (limit, offset),
    ):
        users[key]["user_attributes"][name] = stored_json(value)
    return total, list(users.values())
