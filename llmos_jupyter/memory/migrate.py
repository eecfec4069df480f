"""`llmos migrate SRC DST`: copy a home's store into a team's store, or back.

Everything is written in one transaction on DST and checked there, record by record, before it commits: a
failure (a row that reads back differently, a lost connection, bad input) leaves DST as it was; SRC is only
read. Records DST already has (the same trace id, request id, fact text...) are left as they are, so running it
twice copies nothing the second time. A home's rows name no member (it had one user): they are copied as
`member`'s, the traces as verified by `member`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import StoreError
from ..store import Store, open_store, sqlite_path

# table: (columns that identify a record, columns the destination assigns itself, vector columns). In the order
# the tables are written (an alias needs its trace).
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "traces": (("id",), (), ()),
    "aliases": (("trace_id", "template"), ("id",), ("embedding",)),
    "facts": (("text",), ("id",), ("embedding",)),
    "fact_vectors": (("key",), (), ("embedding",)),
    "requests": (("id",), (), ()),
    "llm_calls": (("request_id", "ts", "provider", "model"), ("id",), ()),
    "history": (("session", "ts", "request"), ("id",), ()),
    "sentience": (("id",), (), ()),
}
DIM = 384


@dataclass(frozen=True)
class Moved:
    table: str
    copied: int
    present: int  # already in the destination, left as they were


class MigrationFailed(StoreError):
    pass


def _open(spec: str, must_exist: bool) -> Store:
    path = sqlite_path(spec)
    if path is not None:
        if must_exist and not path.is_file():
            raise MigrationFailed(f"{path} does not exist: nothing to migrate. Give the home's llmos.db, e.g. "
                                  "sqlite:///home/ada/.llmos/llmos.db.")
        spec = f"sqlite://{path.resolve()}"
    return open_store(spec, Path("."))


def _rows(store: Store, table: str, skip: tuple[str, ...], vectors: tuple[str, ...]) -> list[dict]:
    rows = [dict(r) for r in store.query(f"SELECT * FROM {table}")]
    for column in vectors:
        matrix = store.vectors_of((r[column] for r in rows), DIM)
        for row, vector in zip(rows, matrix):
            row[column] = vector
    return [{k: v for k, v in row.items() if k not in skip} for row in rows]


def _as_home_member(table: str, row: dict, member: str) -> dict:
    from .traces import STARTER

    if table in ("requests", "llm_calls") and not row.get("member"):
        return {**row, "member": member}
    if table == "traces" and not row.get("verified_by"):
        return {**row, "verified_by": STARTER if row["origin"] == "starter" else member}
    return row


def _same(a: dict, b: dict, vectors: tuple[str, ...]) -> bool:
    for key, value in a.items():
        if key in vectors:
            if not np.array_equal(np.asarray(value, np.float32), np.asarray(b[key], np.float32)):
                return False
        elif value != b.get(key):
            return False
    return True


def migrate(src: str, dst: str, member: str) -> list[Moved]:
    """Copy SRC's records into DST; returns what was copied per table. Raises MigrationFailed (DST unchanged)."""
    if src.rstrip("/") == dst.rstrip("/"):
        raise MigrationFailed("SRC and DST are the same store: nothing to do.")
    source = _open(src, must_exist=True)
    made = _new_file(dst)
    try:
        target = _open(dst, must_exist=False)
    except BaseException:
        source.close()
        raise
    try:
        read = {table: [_as_home_member(table, r, member) for r in _rows(source, table, skip, vectors)]
                for table, (_, skip, vectors) in TABLES.items()}
        moved = []
        with target.transaction() as cur:
            for table, (key, skip, vectors) in TABLES.items():
                present = {tuple(r[k] for k in key)
                           for r in cur.execute(f"SELECT {', '.join(key)} FROM {table}").fetchall()}
                fresh = [r for r in read[table] if tuple(r[k] for k in key) not in present]
                for row in fresh:
                    columns = list(row)
                    values = [target.vector(row[c]) if c in vectors else row[c] for c in columns]
                    cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                values)
                _check(target, cur, table, key, skip, vectors, fresh)
                moved.append(Moved(table, len(fresh), len(read[table]) - len(fresh)))
            # Kernels following DST reload their whole index: aliases arrived that they never saw added.
            cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'memory_version'")
            cur.execute("INSERT INTO meta VALUES ('alias_epoch', 1) ON CONFLICT (key) DO UPDATE SET value = meta.value + 1")
        made = None
        return moved
    except StoreError:
        raise
    except Exception as exc:  # a value DST cannot hold, a constraint it has: all rolled back
        raise MigrationFailed(f"Migrating {src} to {target.where} failed ({type(exc).__name__}: {exc}); nothing "
                              "was migrated (the destination is unchanged, the source was only read).") from exc
    finally:
        source.close()
        target.close()
        if made is not None:  # a file this migration created for nothing
            for path in (made, made.with_name(made.name + "-wal"), made.with_name(made.name + "-shm")):
                path.unlink(missing_ok=True)


def _new_file(spec: str) -> Path | None:
    """The SQLite file DST names when it does not exist yet (removed again if the migration fails)."""
    path = sqlite_path(spec)
    return None if path is None or path.exists() else path


def _check(target: Store, cur, table: str, key, skip, vectors, fresh: list[dict]) -> None:
    """Each copied record, read back from DST inside the transaction, equals the one read from SRC."""
    if not fresh:
        return
    rows = [dict(r) for r in cur.execute(f"SELECT * FROM {table}").fetchall()]
    for column in vectors:
        for row, vector in zip(rows, target.vectors_of((r[column] for r in rows), DIM)):
            row[column] = vector
    stored = {tuple(r[k] for k in key): r for r in rows}
    for row in fresh:
        ident = tuple(row[k] for k in key)
        back = stored.get(ident)
        if back is None or not _same(row, back, vectors):
            raise MigrationFailed(f"{table} record {ident} did not read back from {target.where} as it was "
                                  "written, so nothing was migrated (the destination is unchanged).")
