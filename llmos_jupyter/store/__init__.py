"""Where everything persistent lives: one interface (base.Store), two backends.

- sqlite.py: the embedded default, one file under `home`, no server.
- postgres.py: a team's shared store, PostgreSQL with pgvector (psycopg loads only when one is chosen).

`open_store` picks one from `LLMOS(store=...)`, `%config LLMOS.store`, or the LLMOS_STORE environment variable.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from .base import Cursor, Row, Store
from .sqlite import DB_NAME, MIGRATIONS, SQLiteStore

__all__ = ["Cursor", "DB_NAME", "MIGRATIONS", "Row", "SQLiteStore", "Store", "open_store", "sqlite_path", "store_spec"]

ENV = "LLMOS_STORE"


def store_spec(spec: str | None) -> str | None:
    """The store asked for: the setting, else LLMOS_STORE, else None (SQLite under home)."""
    return spec or os.environ.get(ENV) or None


def sqlite_path(spec: str) -> Path | None:
    """The SQLite file `spec` names ('sqlite:///path/llmos.db', or a folder holding llmos.db); None when `spec`
    names another kind of store."""
    if "://" in spec and not spec.startswith("sqlite://"):
        return None
    rest = spec[len("sqlite://"):] if spec.startswith("sqlite://") else spec
    path = Path("/" + rest.lstrip("/") if rest.startswith("/") else rest).expanduser()
    return path if path.suffix == ".db" else path / DB_NAME


def open_store(spec: str | None, home: str | Path, *, timeout: float = 10.0) -> Store:
    """`spec`: None (home/llmos.db), 'sqlite:///path/llmos.db' (a file), a folder, or 'postgresql://...'."""
    spec = store_spec(spec)
    if spec is None:
        return SQLiteStore(home)
    if spec.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(spec, timeout=timeout)
    path = sqlite_path(spec)
    if path is not None:
        return SQLiteStore(path.parent, name=path.name)
    raise StoreError(f"LLMOS.store is {spec.split('://')[0]}://…, which LLMOS cannot open. Use "
                     "'postgresql://user@host/db' for a team store, 'sqlite:///path/llmos.db' for a file, or leave it "
                     "unset for home/llmos.db.")
