"""L3 procedural memory: verified traces, their request aliases, and a vectorized index over them."""
from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from ..store import Store
from .embed import DIM, Embedder


@dataclass
class Trace:
    id: str
    origin: str  # learner | mixed | starter | import
    title: str
    request: str  # the request it was first learned from
    template: str  # that request, normalized
    signature: tuple[str, ...]  # its slot kinds
    code: str  # the program, with SLOT_ placeholders
    bound: tuple[str, ...]  # placeholders the code uses
    shape: str  # ast dump of `code`: equal shapes are the same program
    generalized: tuple[str, ...] = ()  # placeholders proven to rebind (two verified values, or by meaning)
    defaults: dict[str, object] = field(default_factory=dict)  # used when a request leaves a placeholder out
    examples: list[dict[str, object]] = field(default_factory=list)  # verified bindings
    checks: tuple[str, ...] = ()  # recorded checks a replay must pass
    results: dict = field(default_factory=dict)  # what verified runs produced: {defined, value, figures}
    baseline_tokens: int = 0  # what asking the LLM cost (or would cost) for this pattern
    uses: int = 0  # verified uses
    misses: int = 0  # replays that failed verification
    tool_name: str | None = None  # set once crystallized
    created: float = 0.0
    updated: float = 0.0
    tool_hash: str = ""  # sha256 of the tool file as it was checked and written
    seal: str = ""  # sha256 over code, tool_name and tool_hash, written by LLMOS with every verified change
    verified_by: str = ""  # the member whose kernel verified it first; STARTER for the shipped skills, "" unknown

    def sealed(self) -> str:
        return hashlib.sha256(json.dumps([self.code, self.tool_name, self.tool_hash]).encode()).hexdigest()

    @property
    def intact(self) -> bool:
        """Whether the stored program is the one that was verified: a row changed behind LLMOS's back (by
        another program writing the database) no longer matches its seal."""
        return self.seal == self.sealed()

    def worked_example(self) -> tuple[str, str]:
        """(request, program) shown to a model that adapts this trace (MIXED, and T0): the request it was
        learned from and its program at its first verified binding."""
        from .templates import instantiate

        return self.request, instantiate(self.code, self.examples[0] if self.examples else self.defaults)

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["signature"], d["bound"], d["generalized"], d["checks"] = (
            list(self.signature), list(self.bound), list(self.generalized), list(self.checks))
        return d


_COLUMNS = ("id", "created", "updated", "origin", "title", "request", "template", "signature", "code", "bound",
            "shape", "generalized", "defaults", "examples", "checks", "baseline_tokens", "uses", "misses",
            "tool_name", "results", "tool_hash", "seal", "verified_by")
STARTER = "llmos"  # verified_by of the starter skills, which ship with the package
_JSON = {"signature", "bound", "generalized", "defaults", "examples", "checks", "results"}
_TUPLES = {"signature", "bound", "generalized", "checks"}


def _row_to_trace(row) -> Trace:
    values = {}
    for key in _COLUMNS:
        value = row[key]
        if key in _JSON:
            value = json.loads(value)
            if key in _TUPLES:
                value = tuple(value)
        values[key] = value
    return Trace(**values)


def _trace_to_row(t: Trace) -> tuple:
    t.seal = t.sealed()  # every write by LLMOS is of a verified state
    out = []
    for key in _COLUMNS:
        value = getattr(t, key)
        out.append(json.dumps(list(value) if key in _TUPLES else value) if key in _JSON else value)
    return tuple(out)


_blas = None


def _one_blas_thread():
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class Hit:
    score: float
    trace_id: str
    alias: str  # the alias template that matched
    terms: frozenset[str]


_INSERT = f"INSERT INTO traces ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


class TraceStore:
    def __init__(self, store: Store, embedder: Embedder, member: str = "", read_only: bool = False):
        self.store = store
        self.embedder = embedder
        self.member = member  # recorded as verified_by on the traces this kernel learns
        self.read_only = read_only
        self._lock = threading.Lock()
        self._version = -1
        self._buffer = np.zeros((0, DIM), np.float32)  # alias vectors in rows [:len(self._rows)], room after
        self._rows: list[tuple[str, str, frozenset[str]]] = []
        self._keys_checked = False
        self._epoch = -1  # meta 'alias_epoch': bumped when aliases are deleted or rewritten, not just added
        self._max_id = 0  # the newest alias row in the index

    # -- writing ---------------------------------------------------------------------------------
    def _writable(self) -> None:
        if self.read_only:
            from ..errors import StoreError

            raise StoreError(f"This member ({self.member or 'you'}) is read-only in {self.store.where}: memory is "
                             "replayed, never changed. Ask the store's owner to learn, import or forget it, or set "
                             "LLMOS.read_only = False.")

    def add(self, trace: Trace, aliases: list[tuple[str, frozenset[str]]]) -> Trace:
        """Store a trace with its aliases in one transaction."""
        self._writable()
        now = time.time()
        trace.id = trace.id or uuid.uuid4().hex[:12]
        trace.created = trace.created or now
        trace.updated = now
        trace.verified_by = trace.verified_by or self.member
        vectors = self.embedder.encode([a for a, _ in aliases])
        with self.store.transaction() as cur:
            cur.execute(_INSERT, _trace_to_row(trace))
            added = self._insert_aliases(cur, trace.id, aliases, vectors)
        self._extend_index(*added)
        return trace

    def add_many(self, items: list[tuple[Trace, list[tuple[str, frozenset[str]]]]]) -> int:
        """Store several traces in one transaction: all of them or none. A trace whose id another kernel stored
        meanwhile is left as it is (two kernels seeding one store at once); returns how many were new."""
        self._writable()
        now = time.time()
        # One batch for every alias: the starter skills of a new home encode in one call, not fourteen.
        flat = self.embedder.encode([a for _, aliases in items for a, _ in aliases])
        encoded, at = [], 0
        for _, aliases in items:
            encoded.append(flat[at:at + len(aliases)])
            at += len(aliases)
        before, fresh = None, 0
        with self.store.transaction() as cur:
            for (trace, aliases), vecs in zip(items, encoded):
                trace.created, trace.updated = trace.created or now, now
                trace.verified_by = trace.verified_by or self.member
                if cur.execute(_INSERT + " ON CONFLICT (id) DO NOTHING", _trace_to_row(trace)).rowcount != 1:
                    continue
                fresh += 1
                b, _, _ = self._insert_aliases(cur, trace.id, aliases, vecs)
                before = b if before is None else before
        if before is not None:
            with self._lock:  # several version bumps happened: reload on next search
                self._version = -1
        return fresh

    def add_alias(self, trace_id: str, template: str, terms: frozenset[str]) -> None:
        self._writable()
        vectors = self.embedder.encode([template])
        with self.store.transaction() as cur:
            added = self._insert_aliases(cur, trace_id, [(template, terms)], vectors)
        self._extend_index(*added)

    def _insert_aliases(self, cur, trace_id: str, aliases, vectors):
        before = cur.execute("SELECT value FROM meta WHERE key = 'memory_version'").fetchone()[0]
        rows, kept = [], []
        for (template, terms), vector in zip(aliases, vectors):
            row = cur.execute("INSERT INTO aliases (trace_id, template, terms, embedding) VALUES (?,?,?,?)"
                              " ON CONFLICT (trace_id, template) DO NOTHING RETURNING id",
                              (trace_id, template, json.dumps(sorted(terms)), self.store.vector(vector))).fetchone()
            if row is not None:
                rows.append((row[0], trace_id, template, frozenset(terms)))
                kept.append(vector)
        cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'memory_version'")
        return before, rows, kept

    def _extend_index(self, before: int, rows: list, vectors: list) -> None:
        """Append our own new aliases to the in-memory index instead of reloading it all; if another
        process changed the memory meanwhile, the next search reloads."""
        with self._lock:
            if self._version != before:
                return
            if vectors:
                self._append(np.stack(vectors).astype(np.float32))
                self._rows.extend(row[1:] for row in rows)
                self._max_id = max(self._max_id, *(row[0] for row in rows))
            self._version = before + 1

    def _append(self, vectors: np.ndarray) -> None:
        """Add rows to the index (lock held, before `_rows` grows): room doubles when it runs out, so learning
        one alias at 100,000 does not copy the whole matrix."""
        n = len(self._rows)
        if n + len(vectors) > len(self._buffer):
            grown = np.zeros((max(2 * len(self._buffer), n + len(vectors), 64), DIM), np.float32)
            grown[:n] = self._buffer[:n]
            self._buffer = grown
        self._buffer[n:n + len(vectors)] = vectors

    def update(self, trace: Trace) -> None:
        self._writable()
        with self.store.transaction() as cur:
            self._write(cur, trace)

    @staticmethod
    def _write(cur, trace: Trace) -> None:
        trace.updated = time.time()
        sets = ", ".join(f"{c} = ?" for c in _COLUMNS[1:])
        cur.execute(f"UPDATE traces SET {sets} WHERE id = ?", (*_trace_to_row(trace)[1:], trace.id))

    @staticmethod
    def _read(cur, trace_id: str) -> Trace | None:
        """The trace, its row locked until commit (another kernel's change waits for ours)."""
        row = cur.select_for_update(f"SELECT {', '.join(_COLUMNS)} FROM traces WHERE id = ?", (trace_id,)).fetchone()
        return _row_to_trace(row) if row else None

    def modify(self, trace_id: str, change) -> Trace | None:
        """Read, change and write a trace under the write lock, so kernels sharing a home never lose an
        update (a use counted by one and overwritten by another)."""
        self._writable()
        with self.store.transaction() as cur:
            trace = self._read(cur, trace_id)
            if trace is not None:
                change(trace)
                self._write(cur, trace)
        return trace

    def merge_or_add(self, trace: Trace, merge, alias: tuple[str, frozenset[str]]) -> tuple[Trace, bool]:
        """In one transaction: merge into the trace with the same program shape (`merge(existing)`), or add
        `trace`; either way record `alias`. Two kernels learning the same answer make one trace, not two."""
        self._writable()
        vectors = self.embedder.encode([alias[0]])
        now = time.time()
        with self.store.transaction() as cur:
            cur.lock("shape:" + trace.shape)  # one kernel at a time decides whether this program is new
            row = cur.execute("SELECT id FROM traces WHERE shape = ? ORDER BY created LIMIT 1",
                              (trace.shape,)).fetchone()
            if row is not None:
                existing = self._read(cur, row[0])
                merge(existing)
                self._write(cur, existing)
                result, created = existing, False
            else:
                trace.id = trace.id or uuid.uuid4().hex[:12]
                trace.created, trace.updated = trace.created or now, now
                trace.verified_by = trace.verified_by or self.member
                cur.execute(_INSERT, _trace_to_row(trace))
                result, created = trace, True
            added = self._insert_aliases(cur, result.id, [alias], vectors)
        self._extend_index(*added)
        return result, created

    def forget(self, trace_ids: list[str]) -> int:
        self._writable()
        with self.store.transaction() as cur:
            n = 0
            for tid in trace_ids:
                n += cur.execute("DELETE FROM traces WHERE id = ?", (tid,)).rowcount
            cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'memory_version'")
            _bump_epoch(cur)
        return n

    # -- reading ---------------------------------------------------------------------------------
    def get(self, trace_id: str) -> Trace | None:
        rows = self.store.query(f"SELECT {', '.join(_COLUMNS)} FROM traces WHERE id = ?", (trace_id,))
        return _row_to_trace(rows[0]) if rows else None

    def all(self, text: str | None = None) -> list[Trace]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM traces"
        params: tuple = ()
        if text:
            # LOWER on both sides: SQLite's LIKE ignores case, PostgreSQL's does not.
            sql += (" WHERE LOWER(id) LIKE ? OR LOWER(title) LIKE ? OR LOWER(request) LIKE ? OR LOWER(tool_name)"
                    " LIKE ? OR id IN (SELECT trace_id FROM aliases WHERE LOWER(template) LIKE ?)")
            like = f"%{text.lower()}%"
            params = (like,) * 5
        return [_row_to_trace(r) for r in self.store.query(sql + " ORDER BY uses DESC, created", params)]

    def aliases(self, trace_id: str) -> list[str]:
        return [r[0] for r in self.store.query("SELECT template FROM aliases WHERE trace_id = ? ORDER BY id",
                                               (trace_id,))]

    def count(self) -> int:
        return int(self.store.query("SELECT COUNT(*) FROM traces")[0][0])

    def any(self) -> bool:
        """Whether there is a trace at all: one row read, where COUNT(*) reads them all (PostgreSQL)."""
        return bool(self.store.query("SELECT 1 FROM traces LIMIT 1"))

    def search(self, vector: np.ndarray, k: int = 5) -> list[Hit]:
        """The k best aliases by cosine similarity: ranked by the database where it can (pgvector's HNSW index),
        else one matrix product over all of them."""
        if self.store.ranks_vectors:
            if not self._keys_checked:
                self._upgrade_keys()
            rows = self.store.nearest("aliases", "trace_id, template, terms", vector, k)
            return [Hit(float(r["score"]), r["trace_id"], r["template"], frozenset(json.loads(r["terms"])))
                    for r in rows]
        self._refresh()
        with self._lock:
            if not self._rows:
                return []
            with _one_blas_thread():  # on 2 cores a multi-threaded BLAS fights torch's threads for them
                scores = self._buffer[:len(self._rows)] @ vector.astype(np.float32)
            k = min(k, len(scores))
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top])]
            return [Hit(float(scores[i]), *self._rows[i]) for i in top]

    def _upgrade_keys(self) -> None:
        """Bring aliases keyed by an older normalizer (text.normalize.KEY_VERSION) up to date, once per
        home: re-key and re-embed them in one transaction, so old and new requests meet on equal terms."""
        from ..text.normalize import KEY_VERSION, rekey

        self._keys_checked = True
        if self.read_only:  # the store's writers keep its keys and seals up to date
            return
        self._seal_older_rows()
        row = self.store.query("SELECT value FROM meta WHERE key = 'key_version'")
        if row and int(row[0][0]) >= KEY_VERSION:
            return
        stale = [(r["id"], r["trace_id"], r["template"], rekey(r["template"]))
                 for r in self.store.query("SELECT id, trace_id, template FROM aliases")]
        stale = [(i, t, old, new) for i, t, old, new in stale if new != old]
        vectors = self.embedder.encode([new for *_, new in stale]) if stale else []
        with self.store.transaction() as cur:
            for (alias_id, trace_id, _, new), vector in zip(stale, vectors):
                if cur.execute("SELECT 1 FROM aliases WHERE trace_id = ? AND template = ?",
                               (trace_id, new)).fetchone():  # the trace already has this key: a duplicate now
                    cur.execute("DELETE FROM aliases WHERE id = ?", (alias_id,))
                else:
                    cur.execute("UPDATE aliases SET template = ?, embedding = ? WHERE id = ?",
                                (new, self.store.vector(vector), alias_id))
            _set_meta(cur, "key_version", KEY_VERSION)
            cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'memory_version'")
            _bump_epoch(cur)

    def _seal_older_rows(self) -> None:
        """Once per home: seal the traces stored before seals existed. Afterwards an empty seal is a
        broken one."""
        if self.store.query("SELECT value FROM meta WHERE key = 'sealed'"):
            return
        with self.store.transaction() as cur:
            for row in cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM traces WHERE seal = ''").fetchall():
                trace = _row_to_trace(row)
                cur.execute("UPDATE traces SET seal = ? WHERE id = ?", (trace.sealed(), trace.id))
            _set_meta(cur, "sealed", 1)

    def _refresh(self) -> None:
        """Follow what other processes changed: only the aliases added since the last look, unless some were
        deleted or rewritten (the epoch moved), which reloads them all."""
        if not self._keys_checked:
            self._upgrade_keys()
        meta = dict(self.store.query("SELECT key, value FROM meta WHERE key IN ('memory_version', 'alias_epoch')"))
        version, epoch = int(meta["memory_version"]), int(meta.get("alias_epoch", 0))
        if version == self._version:
            return
        columns = "SELECT id, trace_id, template, terms, embedding FROM aliases"
        full = epoch != self._epoch
        rows = self.store.query(columns + " ORDER BY id" if full else columns + " WHERE id > ? ORDER BY id",
                                () if full else (self._max_id,))
        matrix = self.store.vectors_of((r["embedding"] for r in rows), DIM)
        entries = [(r["trace_id"], r["template"], frozenset(json.loads(r["terms"]))) for r in rows]
        with self._lock:
            if full:
                self._buffer, self._rows, self._max_id = matrix, entries, 0  # read-only: full, so never written
            elif entries:
                self._append(matrix)
                self._rows.extend(entries)
            if rows:
                self._max_id = max(self._max_id, rows[-1]["id"])
            self._version, self._epoch = version, epoch


def _bump_epoch(cur) -> None:
    """Aliases were deleted or rewritten: every process must reload its whole index, not just append."""
    cur.execute("INSERT INTO meta VALUES ('alias_epoch', 1) ON CONFLICT (key) DO UPDATE SET value = meta.value + 1")


def _set_meta(cur, key: str, value: int) -> None:
    cur.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
