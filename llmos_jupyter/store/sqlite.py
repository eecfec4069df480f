"""The embedded store (the default): one SQLite file under `home`, no server.

WAL mode, so several kernels can share a home. Each part of the engine adds its tables through
`MIGRATIONS`; `user_version` records how far a file has been migrated. postgres.py keeps the same
tables for a team.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

if TYPE_CHECKING:  # numpy loads with the first vector, not at %load_ext
    import numpy as np

from ..errors import StoreError
from .base import Cursor, Store

DB_NAME = "llmos.db"

MIGRATIONS: list[str] = [
    # 1: token ledger. One row per provider call (what was billed) and one per request.
    """
    CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        request TEXT NOT NULL,
        mode TEXT NOT NULL,
        provider TEXT,
        model TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        saved_tokens INTEGER NOT NULL DEFAULT 0,
        ok INTEGER NOT NULL,
        execution_time_ms REAL
    );
    CREATE TABLE llm_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL,
        ts REAL NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        usage_reported INTEGER NOT NULL
    );
    CREATE INDEX llm_calls_request ON llm_calls(request_id);
    """,
    # 2: learning memory. L3 traces with their request aliases (embedded), L4 learned facts,
    # L2 session history. `memory_version` changes whenever aliases change, so other
    # processes sharing this home know to reload their index.
    """
    CREATE TABLE traces (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        origin TEXT NOT NULL,
        title TEXT NOT NULL,
        request TEXT NOT NULL,
        template TEXT NOT NULL,
        signature TEXT NOT NULL,
        code TEXT NOT NULL,
        bound TEXT NOT NULL,
        shape TEXT NOT NULL,
        generalized TEXT NOT NULL,
        defaults TEXT NOT NULL,
        examples TEXT NOT NULL,
        checks TEXT NOT NULL,
        baseline_tokens INTEGER NOT NULL DEFAULT 0,
        uses INTEGER NOT NULL DEFAULT 0,
        misses INTEGER NOT NULL DEFAULT 0,
        tool_name TEXT
    );
    CREATE TABLE aliases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        trace_id TEXT NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
        template TEXT NOT NULL,
        terms TEXT NOT NULL,
        embedding BLOB NOT NULL,
        UNIQUE (trace_id, template)
    );
    CREATE TABLE facts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        topic TEXT NOT NULL,
        text TEXT NOT NULL UNIQUE,
        embedding BLOB NOT NULL
    );
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session TEXT NOT NULL,
        ts REAL NOT NULL,
        request TEXT NOT NULL,
        mode TEXT NOT NULL,
        trace_id TEXT,
        ok INTEGER NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta VALUES ('memory_version', 0);
    """,
    # 3: the sentience layer's state, and what each call cost in dollars (NULL: price unknown).
    """
    CREATE TABLE sentience (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        valence TEXT NOT NULL,
        streak INTEGER NOT NULL,
        budget INTEGER,
        spent INTEGER NOT NULL,
        updated REAL NOT NULL
    );
    ALTER TABLE llm_calls ADD COLUMN cost_usd REAL;
    ALTER TABLE requests ADD COLUMN saved_usd REAL;
    """,
    # 4: what a trace's verified runs produced besides counts (names defined, a value's type, figures);
    # a seal over what was verified (the program, its tool and the tool file's hash): memory/traces.py.
    """
    ALTER TABLE traces ADD COLUMN results TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE traces ADD COLUMN tool_hash TEXT NOT NULL DEFAULT '';
    ALTER TABLE traces ADD COLUMN seal TEXT NOT NULL DEFAULT '';
    """,
    # 5: the curated facts' embeddings, keyed by a hash of the model and the fact's text, so a new kernel
    # does not encode them again (a changed fact misses and is encoded afresh).
    """
    CREATE TABLE fact_vectors (key TEXT PRIMARY KEY, embedding BLOB NOT NULL);
    """,
    # 6: a team's store (postgres.py) keeps who billed each call and who verified each trace; the embedded
    # store keeps the same columns so a home moves to a team store and back (`llmos migrate`).
    """
    ALTER TABLE requests ADD COLUMN member TEXT NOT NULL DEFAULT '';
    ALTER TABLE llm_calls ADD COLUMN member TEXT NOT NULL DEFAULT '';
    ALTER TABLE traces ADD COLUMN verified_by TEXT NOT NULL DEFAULT '';
    CREATE INDEX traces_shape ON traces(shape);
    """,
]


class _Cursor(Cursor):
    def __init__(self, cur: sqlite3.Cursor):
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._cur.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._cur.executemany(sql, rows)

    def lock(self, key: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already holds the whole file's write lock."""


class SQLiteStore(Store):
    """A thread-safe handle on `home`/llmos.db (or on the file `name` names in `home`)."""

    kind = "sqlite"

    def __init__(self, home: str | Path, *, timeout: float = 30.0, name: str = DB_NAME):
        self.home = Path(home).expanduser()
        self.path = self.home / name
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the LLMOS home folder {self.home}: {exc.strerror}. "
                "Pass another folder with LLMOS(home=...) or %config LLMOS.home = '...'."
            ) from exc
        if self.home.exists() and not self.home.is_dir():
            raise StoreError(f"{self.home} is a file, not a folder. Pass a folder as home.")
        self._lock = threading.RLock()
        self._conn = None
        self._refuse_foreign()
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if getattr(self, "_conn", None) is not None:
                self._conn.close()
            backup = self._backup()
            raise StoreError(
                f"{self.path} is not a usable LLMOS store ({exc}). Nothing in it was changed or deleted; "
                f"a copy is at {backup}. Move the file aside to start afresh, or pass another home."
            ) from exc

    def _refuse_foreign(self) -> None:
        """Look at an existing file read-only before touching it: switching on WAL rewrites the header, so a
        file that is not ours must be refused before that."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        problem = None
        with open(self.path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                problem = "it is not an SQLite database"
        if problem is None:
            try:
                probe = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
                try:
                    version = probe.execute("PRAGMA user_version").fetchone()[0]
                    tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                finally:
                    probe.close()
                if version == 0 and tables:
                    problem = f"it is another program's SQLite database (tables: {', '.join(sorted(tables)[:5])})"
            except sqlite3.DatabaseError as exc:
                problem = str(exc)
        if problem:
            backup = self._backup()
            raise StoreError(
                f"{self.path} is not a usable LLMOS store: {problem}. Nothing in it was changed or deleted; "
                f"a copy is at {backup}. Move the file aside to start afresh, or pass another home.")

    def _backup(self) -> Path:
        """A copy of a store we cannot use, kept beside it, so nothing is ever lost to a bad file."""
        import shutil
        import time

        backup = self.path.with_name(f"{self.path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(self.path, backup)
        return backup

    def _migrate(self) -> None:
        with self.transaction() as cur:
            version = cur.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} was written by a newer llmos-jupyter (schema {version}); "
                    "upgrade the package or pass another home."
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    cur.execute(statement)
                cur.execute(f"PRAGMA user_version = {number}")

    @property
    def where(self) -> str:
        return str(self.path)

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        """All-or-nothing: BEGIN IMMEDIATE takes the write lock up front, so no half-written rows."""
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                cur.close()
                raise StoreError(
                    f"{self.path} is busy ({exc}): another kernel or process has held it for too long. "
                    "Nothing was written; what was stored before is intact. Run the cell again."
                ) from exc
            try:
                yield _Cursor(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def vector(self, v: np.ndarray) -> bytes:
        import numpy as np

        return np.asarray(v, np.float32).tobytes()

    def vectors_of(self, values: Iterable[bytes], dim: int) -> np.ndarray:
        import numpy as np

        return np.frombuffer(b"".join(values), dtype=np.float32).reshape(-1, dim)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
