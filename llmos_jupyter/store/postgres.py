"""A team's shared store: PostgreSQL with pgvector, through psycopg 3 and a connection pool.

The tables are sqlite.py's, with embeddings in `vector(384)` columns and an HNSW index, so the nearest
aliases are found in SQL. Writers wait for each other where SQLite's single write lock made them wait
(`lock`: a transaction-scoped advisory lock; `select_for_update`), so kernels on many machines lose no
update and make no duplicate. Every wait is bounded (`timeout`): a server that goes away gives an error
that says what to do, never a cell that hangs.

psycopg is imported here only, when a postgresql:// store is chosen.
"""
from __future__ import annotations

import hashlib
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..errors import StoreError
from .base import Cursor, Row, Store

DIM = 384  # memory/embed.py's all-MiniLM-L6-v2
# HNSW candidates per search. Requests cluster (many traces per template, near-duplicate vectors), which costs an
# HNSW graph recall: on benchmarks/dispatch_overhead.py's traces at 10,000, the exact top hit came back for 95 of
# 100 requests at 40 (pgvector's default) and 100 of 100 at 200, for about 1.5 ms more.
EF_SEARCH = 200

# Versioned like sqlite.MIGRATIONS; `llmos_schema.version` records how far a database has been migrated.
# Migration 1 is the embedded store's schema at its version 6.
MIGRATIONS: list[str] = [
    f"""
    CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
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
        execution_time_ms DOUBLE PRECISION,
        saved_usd DOUBLE PRECISION,
        member TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE llm_calls (
        id BIGSERIAL PRIMARY KEY,
        request_id TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        usage_reported INTEGER NOT NULL,
        cost_usd DOUBLE PRECISION,
        member TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX llm_calls_request ON llm_calls(request_id);
    CREATE TABLE traces (
        id TEXT PRIMARY KEY,
        created DOUBLE PRECISION NOT NULL,
        updated DOUBLE PRECISION NOT NULL,
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
        tool_name TEXT,
        results TEXT NOT NULL DEFAULT '{{}}',
        tool_hash TEXT NOT NULL DEFAULT '',
        seal TEXT NOT NULL DEFAULT '',
        verified_by TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX traces_shape ON traces(shape);
    CREATE TABLE aliases (
        id BIGSERIAL PRIMARY KEY,
        trace_id TEXT NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
        template TEXT NOT NULL,
        terms TEXT NOT NULL,
        embedding vector({DIM}) NOT NULL,
        UNIQUE (trace_id, template)
    );
    CREATE INDEX aliases_embedding ON aliases USING hnsw (embedding vector_cosine_ops) WITH (ef_construction = 128);
    CREATE TABLE facts (
        id BIGSERIAL PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        topic TEXT NOT NULL,
        text TEXT NOT NULL UNIQUE,
        embedding vector({DIM}) NOT NULL
    );
    CREATE TABLE history (
        id BIGSERIAL PRIMARY KEY,
        session TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        request TEXT NOT NULL,
        mode TEXT NOT NULL,
        trace_id TEXT,
        ok INTEGER NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
    INSERT INTO meta VALUES ('memory_version', 0);
    CREATE TABLE sentience (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        valence TEXT NOT NULL,
        streak INTEGER NOT NULL,
        budget INTEGER,
        spent INTEGER NOT NULL,
        updated DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE fact_vectors (key TEXT PRIMARY KEY, embedding vector({DIM}) NOT NULL);
    """,
]

_MIGRATION_LOCK = 0x11_3E05  # advisory lock key: kernels starting together migrate one at a time
_NO_VECTOR = ("The database at {where} has no `vector` extension (pgvector), which the team store keeps its "
              "embeddings in. Ask its administrator to install pgvector and run `CREATE EXTENSION vector;` in "
              "that database (every managed PostgreSQL offers it), or leave LLMOS.store unset to use the SQLite "
              "store under home.")


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _said(exc: BaseException) -> str:
    """psycopg's message on one line."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def _rows(cursor):
    names = tuple(c.name for c in cursor.description or ())
    return lambda values: Row(names, values)


def _portable(sql: str) -> str:
    """Callers write sqlite3's `?`; psycopg takes `%s` (and a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Cursor(Cursor):
    def __init__(self, cur):
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] = ()):
        return self._cur.execute(_portable(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._cur.executemany(_portable(sql), [tuple(r) for r in rows])

    def lock(self, key: str) -> None:
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        self._cur.execute("SELECT pg_advisory_xact_lock(%s)", (number,))

    def select_for_update(self, sql: str, params: Sequence[Any] = ()):
        return self.execute(sql + " FOR UPDATE", params)


class PostgresStore(Store):
    kind = "postgresql"
    ranks_vectors = True

    def __init__(self, url: str, *, timeout: float = 10.0, pool_size: int = 4):
        try:
            import psycopg
            from pgvector.psycopg import register_vector
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise StoreError(f"A postgresql:// store needs the team extra ({exc.name} is missing): "
                             "pip install 'llmos-jupyter[team]'.") from exc
        self._psycopg = psycopg
        self.url, self.timeout = url, float(timeout)
        self._where = _redacted(url)
        try:
            conninfo = psycopg.conninfo.make_conninfo(url)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"LLMOS.store {self._where} is not a PostgreSQL URL ({_said(exc)}). Write it as "
                             "postgresql://user:password@host:5432/database.") from exc
        # Bounded waits everywhere: connecting, a lock another writer holds, and each statement (three times as
        # long: a search over many vectors may take longer than a wait should).
        ms = int(self.timeout * 1000)
        self._kwargs = {"connect_timeout": max(1, int(round(self.timeout))),
                        "options": f"-c statement_timeout={ms * 3} -c lock_timeout={ms}"
                                   f" -c idle_in_transaction_session_timeout={ms * 6}"}
        with self._connect(conninfo) as conn:  # one plain connection first: its error is the one to show
            self._prepare(conn)
        def configure(conn) -> None:
            register_vector(conn)  # vector columns read as numpy arrays, numpy arrays written as vectors
            conn.commit()  # the type lookup opened a transaction; the pool wants the connection idle

        self._pool = ConnectionPool(conninfo, kwargs=self._kwargs, min_size=1, max_size=pool_size,
                                    timeout=self.timeout, configure=configure,
                                    check=ConnectionPool.check_connection, reconnect_timeout=self.timeout * 3,
                                    name="llmos-store", open=True)
        self._closed = False
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return self._where

    # -- connecting ------------------------------------------------------------------------------
    def _connect(self, conninfo: str):
        try:
            return self._psycopg.connect(conninfo, **self._kwargs)
        except self._psycopg.OperationalError as exc:
            raise StoreError(self._unreachable(exc)) from exc

    def _unreachable(self, exc: BaseException) -> str:
        return (f"Cannot reach the team store at {self._where} ({_said(exc)}). Check that the PostgreSQL server is "
                "running and that the URL, user and password are right, then run the cell again; nothing was "
                "written. To work alone meanwhile, leave LLMOS.store unset (SQLite under home).")

    def _prepare(self, conn) -> None:
        """The vector extension, then the migrations this database lacks, one kernel at a time."""
        psycopg = self._psycopg
        try:
            with conn.transaction():
                have = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
                if not have:
                    if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone():
                        raise StoreError(_NO_VECTOR.format(where=self._where))
                    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(_NO_VECTOR.format(where=self._where) + f" ({exc.diag.message_primary})") from exc
        except psycopg.OperationalError as exc:
            raise StoreError(self._unreachable(exc)) from exc
        try:
            with conn.transaction():
                if self._version(conn) == len(MIGRATIONS):  # up to date: nothing to create (a read-only role may not)
                    return
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS llmos_schema (version INTEGER NOT NULL)")
                row = conn.execute("SELECT version FROM llmos_schema").fetchone()
                version = row[0] if row else 0
                if row is None:
                    conn.execute("INSERT INTO llmos_schema VALUES (0)")
                if version > len(MIGRATIONS):
                    raise StoreError(f"The team store at {self._where} was written by a newer llmos-jupyter "
                                     f"(schema {version}); upgrade the package.")
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    conn.execute(script)
                    conn.execute("UPDATE llmos_schema SET version = %s", (number,))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(f"The team store at {self._where} needs its tables created or upgraded, and this "
                             f"user may not ({exc.diag.message_primary}). Ask the store's owner to connect once "
                             "with LLMOS (or `llmos --store URL status`) to migrate it.") from exc
        except psycopg.OperationalError as exc:
            raise StoreError(self._unreachable(exc)) from exc

    @staticmethod
    def _version(conn) -> int:
        if conn.execute("SELECT to_regclass('llmos_schema')").fetchone()[0] is None:
            return 0
        row = conn.execute("SELECT version FROM llmos_schema").fetchone()
        return row[0] if row else 0

    # -- the interface ---------------------------------------------------------------------------
    @contextmanager
    def _connection(self):
        psycopg = self._psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StoreError(self._unreachable(exc)) from exc
        except psycopg.errors.QueryCanceled as exc:
            raise StoreError(f"The team store at {self._where} did not answer within {3 * self.timeout:g} s "
                             f"({exc.diag.message_primary}). Nothing from this request was written (its "
                             "transaction rolled back). Run the cell again; if it keeps happening, raise "
                             "LLMOS.store_timeout or ask why the server is slow.") from exc
        except psycopg.errors.LockNotAvailable as exc:
            raise StoreError(f"Another kernel held a row of the team store at {self._where} for longer than "
                             f"{self.timeout:g} s. Nothing from this request was written. Run the cell again.") \
                from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(f"The team store at {self._where} refused a write: this member is read-only "
                             f"({exc.diag.message_primary}). Nothing was written. Ask the store's owner for "
                             "write access, or set LLMOS.read_only = True.") from exc
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            raise StoreError(f"The team store at {self._where} refused a write ({_said(exc)}). Nothing from this "
                             "request was written (its transaction rolled back).") from exc
        except psycopg.OperationalError as exc:
            raise StoreError(f"The connection to the team store at {self._where} was lost ({_said(exc)}). Nothing "
                             "from this request was written (its transaction rolled back). Check that the "
                             "server is running, then run the cell again: a new connection is made.") from exc

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        with self._connection() as conn:
            with conn.transaction():
                with conn.cursor(row_factory=_rows) as cur:
                    yield _Cursor(cur)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._connection() as conn:
            with conn.cursor(row_factory=_rows) as cur:
                rows = cur.execute(_portable(sql), tuple(params)).fetchall()
            conn.rollback()  # end the read's implicit transaction: an idle connection holds no snapshot
            return rows

    def vector(self, v: np.ndarray) -> np.ndarray:
        return np.asarray(v, np.float32)

    def vectors_of(self, values: Iterable[Any], dim: int) -> np.ndarray:
        values = [v.to_numpy() if hasattr(v, "to_numpy") else v for v in values]  # pgvector's Vector, or numpy
        return np.stack(values).astype(np.float32, copy=False) if values else np.zeros((0, dim), np.float32)

    def nearest(self, table: str, columns: str, v: np.ndarray, k: int) -> list[Row]:
        """HNSW search by cosine distance (approximate: see EF_SEARCH)."""
        with self._connection() as conn:
            with conn.transaction():
                conn.execute(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, 4 * int(k))}")
                with conn.cursor(row_factory=_rows) as cur:
                    vec = self.vector(v)
                    return cur.execute(f"SELECT {columns}, 1 - (embedding <=> %s) AS score FROM {table}"
                                       " ORDER BY embedding <=> %s LIMIT %s", (vec, vec, int(k))).fetchall()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._pool.close()
