"""The memory hierarchy under `home`.

L1 is the request in hand (the engine's Result); L2 the session history (table
`history`); L3 verified procedural traces (traces.py); L4 semantic facts (facts.py).
`Memory` puts them together for the engine and the dispatcher.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from ..store import Store
from .embed import Embedder
from .facts import Facts
from .traces import Trace, TraceStore

__all__ = ["Memory", "Trace"]


class Memory:
    def __init__(self, store: Store, home: Path, *, starter_skills: bool = True, member: str = "",
                 read_only: bool = False):
        self.store = store
        self.home = Path(home)
        self.tools_dir = self.home / "tools"
        # Other homes read this store (a team's PostgreSQL, or one SQLite file several homes point at): a tool
        # one of them made lives in that home's tools/, not this one's.
        own_file = getattr(store, "path", None)
        self.shared = (store.kind != "sqlite" or own_file is None
                       or Path(own_file).parent.resolve() != self.home.resolve())
        self.embedder = Embedder()
        self.traces = TraceStore(store, self.embedder, member, read_only)
        self.member = member
        self.read_only = read_only  # a read-only member replays the team's memory and changes none of it
        self.facts = Facts(store, self.embedder, read_only=read_only)
        self.starter_skills = starter_skills
        self.session = uuid.uuid4().hex[:12]
        self._seeded = False

    @property
    def loaded(self) -> bool:
        return self._seeded

    def ready(self) -> None:
        """Seed the starter skills once (they need the embedding model, so not at construction)."""
        if self._seeded:
            return
        if self.starter_skills and not self.read_only:
            from .seed import seed_starter_skills

            seed_starter_skills(self.traces)
        self._seeded = True

    def limits(self, trace: Trace):
        """A range check for starter skills (their parameters have valid ranges); None for learned traces."""
        if trace.origin != "starter":
            return None
        from .seed import skill_limits

        return skill_limits(trace)

    def param_names(self, trace: Trace) -> dict[str, str]:
        """placeholder -> parameter name, as tools and crystallized functions call them."""
        if trace.origin == "starter":
            from .seed import skill_param_names

            return skill_param_names(trace)
        from .crystallize import param_name

        return {p: param_name(p) for p in trace.bound}

    def remember(self, request: str, mode: str, trace_id: str | None, ok: bool) -> None:
        """L2: the session's history."""
        with self.store.transaction() as cur:
            cur.execute("INSERT INTO history (session, ts, request, mode, trace_id, ok) VALUES (?,?,?,?,?,?)",
                        (self.session, time.time(), request, mode, trace_id, int(ok)))

    def history(self, limit: int = 20) -> list[dict]:
        rows = self.store.query("SELECT ts, request, mode, trace_id, ok FROM history WHERE session = ?"
                                " ORDER BY id DESC LIMIT ?", (self.session, limit))
        return [dict(r) for r in rows]
