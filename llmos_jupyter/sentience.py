"""The sentience layer: a valence vector that outcomes move, and the behaviour it selects.

Valence (each in [0, 1], persisted in `home`): safety, curiosity, energy, self_confidence.
It starts at the design's values (0.6, 0.1, 0.7, 0.4) and after every request moves by these
deterministic rules:

- success (ran, verified or nothing to verify): safety += 0.05·(1−safety), self_confidence += 0.08·(1−self_confidence),
  and the failure streak resets;
- failure (an error, an answer that did not verify, blocked code): safety −= 0.15·safety,
  self_confidence −= 0.2·self_confidence, streak += 1;
- verification miss (a replay that failed its checks): safety −= 0.1·safety, self_confidence −= 0.1·self_confidence;
- novelty: LEARNER (nothing in memory was close) curiosity += 0.15·(1−curiosity); a zero-token replay
  curiosity −= 0.1·curiosity;
- energy: with a token budget, energy = 1 − spent/budget; without one, each billed token costs 1/20,000
  (at most 0.3 per request) and each zero-token answer restores 0.03·(1−energy).

Latent mode, first match: RECOVERY (a streak of 3 failures, safety < 0.3 or self_confidence < 0.15),
AUTO_CONTAINED (energy < 0.3), AUTO_CREATIVE (curiosity > 0.6 and energy ≥ 0.5), BALANCED.

What changes (see `policy`): low energy lowers the replay and worked-example thresholds (prefer
FOLLOWER/CRYSTALLIZED) and routes model calls one tier down; high curiosity raises the MIXED threshold
(let LEARNER explore); low safety (< 0.45) turns on the strict guard and raises the replay threshold;
RECOVERY does all the conservative things at once and replays only traces with recorded checks.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from .store import Store

START = {"safety": 0.6, "curiosity": 0.1, "energy": 0.7, "self_confidence": 0.4}


@dataclass
class Valence:
    safety: float = START["safety"]
    curiosity: float = START["curiosity"]
    energy: float = START["energy"]
    self_confidence: float = START["self_confidence"]

    def clamp(self) -> "Valence":
        for k, v in asdict(self).items():
            setattr(self, k, round(min(1.0, max(0.0, v)), 6))
        return self


@dataclass(frozen=True)
class Outcome:
    mode: str
    ok: bool  # ran (or had nothing to run) without error, and did not fail verification
    miss: bool = False  # a replay failed verification and fell back
    billed: int = 0  # tokens billed for this request


@dataclass(frozen=True)
class Policy:
    follower_delta: float = 0.0
    mixed_delta: float = 0.0
    strict_guard: bool = False
    require_checks: bool = False  # replay only traces with recorded checks beyond the basic ones
    tier_shift: int = 0  # -1: route model calls one tier down
    behaviour: tuple[str, ...] = field(default_factory=tuple)


def latent_mode(v: Valence, streak: int = 0) -> str:
    if streak >= 3 or v.safety < 0.3 or v.self_confidence < 0.15:
        return "RECOVERY"
    if v.energy < 0.3:
        return "AUTO_CONTAINED"
    if v.curiosity > 0.6 and v.energy >= 0.5:
        return "AUTO_CREATIVE"
    return "BALANCED"


def policy(v: Valence, streak: int = 0) -> Policy:
    mode = latent_mode(v, streak)
    follower = mixed = 0.0
    strict = require = False
    shift = 0
    why: list[str] = []
    if mode == "RECOVERY":
        follower, strict, require, shift = 0.05, True, True, 0
        why.append("recovery: replay threshold +0.05, strict guard, replays need recorded checks")
    else:
        if mode == "AUTO_CONTAINED":
            follower, mixed, shift = -0.04, -0.10, -1
            why.append("low energy: replay threshold -0.04 and worked-example threshold -0.10 (prefer memory), "
                       "model calls one tier down")
        if mode == "AUTO_CREATIVE":
            mixed = 0.10
            why.append("high curiosity: worked-example threshold +0.10 (let LEARNER explore)")
        if v.safety < 0.45:
            follower += 0.03
            strict = True
            why.append("low safety: replay threshold +0.03, strict guard")
    return Policy(follower, mixed, strict, require, shift, tuple(why))


_SELECT = "SELECT valence, streak, budget, spent FROM sentience WHERE id = 1"


class Sentience:
    """Owns the valence; persisted in the store so it survives a kernel restart."""

    def __init__(self, store: Store):
        self.store = store
        self.valence = Valence()
        self.streak = 0
        self.budget: int | None = None
        self.spent = 0
        self._load()

    def _load(self) -> None:
        self._take(self.store.query(_SELECT))

    def _take(self, rows) -> None:
        if rows:
            self.valence = Valence(**json.loads(rows[0]["valence"]))
            self.streak, self.budget, self.spent = rows[0]["streak"], rows[0]["budget"], rows[0]["spent"]

    def _save(self) -> None:
        with self.store.transaction() as cur:
            self._write(cur)

    def _write(self, cur) -> None:
        cur.execute("INSERT INTO sentience (id, valence, streak, budget, spent, updated) VALUES (1, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET valence = excluded.valence, streak = excluded.streak,"
                    " budget = excluded.budget, spent = excluded.spent, updated = excluded.updated",
                    (json.dumps(asdict(self.valence)), self.streak, self.budget, self.spent, time.time()))

    @contextmanager
    def _update(self):
        """Read, change and write under the store's write lock: kernels sharing a home add up their
        outcomes (and the tokens spent against a budget) instead of overwriting each other's."""
        with self.store.transaction() as cur:
            cur.lock("sentience")  # the row may not exist yet, so a row lock alone would not hold off the others
            self._take(cur.execute(_SELECT).fetchall())
            yield
            self._write(cur)

    @property
    def latent_mode(self) -> str:
        return latent_mode(self.valence, self.streak)

    def policy(self) -> Policy:
        return policy(self.valence, self.streak)

    def budget_left(self) -> int | None:
        return None if self.budget is None else max(0, self.budget - self.spent)

    def set_budget(self, tokens: int | None) -> None:
        if tokens is not None and (not isinstance(tokens, int) or tokens <= 0):
            raise ValueError("A token budget is a positive whole number, e.g. 50000 (or None to clear it).")
        with self._update():
            self.budget, self.spent = tokens, 0
            if tokens is not None:
                self.valence.energy = 1.0

    def observe(self, o: Outcome) -> None:
        with self._update():
            self._apply(o)

    def _apply(self, o: Outcome) -> None:
        v = self.valence
        if o.ok:
            v.safety += 0.05 * (1 - v.safety)
            v.self_confidence += 0.08 * (1 - v.self_confidence)
            self.streak = 0
        else:
            v.safety -= 0.15 * v.safety
            v.self_confidence -= 0.2 * v.self_confidence
            self.streak += 1
        if o.miss:
            v.safety -= 0.1 * v.safety
            v.self_confidence -= 0.1 * v.self_confidence
        if o.mode == "LEARNER":
            v.curiosity += 0.15 * (1 - v.curiosity)
        elif o.mode in ("FOLLOWER", "CRYSTALLIZED"):
            v.curiosity -= 0.1 * v.curiosity
        if self.budget is not None:
            self.spent += o.billed
            v.energy = 1 - self.spent / self.budget
        elif o.billed:
            v.energy -= min(0.3, o.billed / 20_000)
        else:
            v.energy += 0.03 * (1 - v.energy)
        v.clamp()

    def reset(self) -> None:
        self.valence, self.streak = Valence(), 0
        self._save()

    def snapshot(self) -> dict:
        p = self.policy()
        snap = {"latent_mode": self.latent_mode, "valence": asdict(self.valence), "behaviour": list(p.behaviour)}
        if self.budget is not None:
            snap["budget"] = {"tokens": self.budget, "spent": self.spent, "left": self.budget_left()}
        return snap
