"""The one interface the engine sees, whatever database keeps its memory.

Callers (ledger, memory, sentience) write portable SQL with `?` placeholders and `ON CONFLICT` upserts, which
SQLite and PostgreSQL both read. What the two do differently stays behind these methods: how a vector is stored
(`vector`, `vectors_of`), who ranks vectors (`nearest`), and how one writer waits for another (`Cursor.lock`,
`Cursor.select_for_update`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:  # numpy loads with the first vector, not at %load_ext
    import numpy as np


class Row(tuple):
    """A result row read by position (`row[0]`), by name (`row["id"]`) or as a dict (`dict(row)`), as
    sqlite3.Row is, so callers do not care which database answered."""

    names: tuple[str, ...] = ()

    def __new__(cls, names: tuple[str, ...], values: Sequence[Any]):
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self.names.index(key))
            except ValueError:
                raise IndexError(f"no column named {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self.names


class Cursor(ABC):
    """One transaction's handle."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; the result has fetchone(), fetchall() and rowcount."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for many rows (a bulk load)."""

    @abstractmethod
    def lock(self, key: str) -> None:
        """Hold `key` until this transaction ends: writers of the same key (a program's shape, the sentience
        row) wait for each other, so two kernels never both insert what only one may."""

    def select_for_update(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A SELECT whose rows stay locked until commit: a read-change-write cannot lose another's update."""
        return self.execute(sql, params)


class Store(ABC):
    """Where traces, aliases, facts, the ledger and sentience state persist."""

    kind: str = ""  # "sqlite" or "postgresql"
    ranks_vectors: bool = False  # True: `nearest` ranks in the database; False: callers keep their own index

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the data is, for status lines and errors (never a password)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Cursor]:
        """All or nothing: the body's writes commit together, or none do."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Read outside a transaction."""

    @abstractmethod
    def vector(self, v: np.ndarray) -> Any:
        """A float32 vector as this database takes it as a parameter."""

    @abstractmethod
    def vectors_of(self, values: Iterable[Any], dim: int) -> np.ndarray:
        """Stored vectors back as one float32 matrix (n, dim)."""

    def nearest(self, table: str, columns: str, v: np.ndarray, k: int) -> list[Row]:
        """The k rows of `table` whose `embedding` is nearest `v` by cosine, best first, each with `score`
        (cosine similarity). Only where `ranks_vectors`."""
        raise NotImplementedError(f"the {self.kind} store does not rank vectors itself")

    @abstractmethod
    def close(self) -> None:
        ...
