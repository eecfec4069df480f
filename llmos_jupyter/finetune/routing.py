"""Which tier answers a model call, and why (the cell shows the why).

- T0, an adapter fine-tuned here: a parameter variation of a family the adapter learned (a trace it trained
  on, by the card's trace ids, or a request with the terms of one it trained on): the request says a
  verified request's words and only a slot value is new, so no replay was allowed. A near miss (a new word)
  never goes to T0: a small model would answer it with the family's program. T0 is shown the trace's
  verified program and answers with an edit of it (finetune.prompt); the engine checks the result against
  the trace's recorded checks and asks the next tier when it fails them.
- T3, kept for meta tasks: planning (ORCHESTRATOR).
- T1 for MIXED and T2 for LEARNER, one tier down when energy is low; the nearest configured tier when
  the wanted one is missing. T0 and T3 are never a fallback for writing code: an adapter knows only its
  families, and the meta tier is kept for meta work (unless it is the only tier left).

A tier is "provider:model", optionally "@base_url" for an OpenAI-compatible server (vLLM, llama.cpp),
e.g. {"T0": "local:qiskit-t0"} in-process or {"T0": "openai:qiskit-t0@http://127.0.0.1:8000/v1"}.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..modes import Mode
from ..errors import ConfigError

_cards: dict[str, tuple[float, frozenset, frozenset]] = {}


@dataclass(frozen=True)
class Spec:
    provider: str
    model: str | None
    base_url: str | None = None


def parse(tier: str, spec: str) -> Spec:
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"LLMOS.tiers[{tier!r}] is {spec!r}; write 'provider:model' (e.g. 'local:qiskit-t0', "
                          "'openai:gpt-5.4-mini' or 'openai:qiskit-t0@http://127.0.0.1:8000/v1').")
    head, _, url = spec.partition("@")
    name, _, model = head.partition(":")
    return Spec(name.strip(), model.strip() or None, url.strip() or None)


def families(home: Path, adapter: str) -> frozenset:
    """The term sets an adapter was trained on (from its card); empty when it has no readable card."""
    return _learned(home, adapter)[0]


def trained_on(home: Path, adapter: str) -> frozenset:
    """The ids of the traces an adapter was trained on (from its card)."""
    return _learned(home, adapter)[1]


def _learned(home: Path, adapter: str) -> tuple[frozenset, frozenset]:
    path = Path(home) / "adapters" / adapter / "card.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return frozenset(), frozenset()
    cached = _cards.get(str(path))
    if cached is None or cached[0] != mtime:
        try:
            card = json.loads(path.read_text())
            found = (frozenset(frozenset(f) for f in card.get("families", [])),
                     frozenset(str(t) for t in card.get("trace_ids", [])))
        except (OSError, ValueError, TypeError, AttributeError):
            found = frozenset(), frozenset()
        cached = _cards[str(path)] = (mtime, *found)
    return cached[1], cached[2]


def choose(tiers: dict[str, str], mode: Mode, terms: frozenset, shift: int, home: Path, *,
           variation: str | None = None, skip: frozenset = frozenset()) -> tuple[str | None, str]:
    """(tier, why); tier None: no configured tier fits, the configured provider answers. `variation`: the id
    of the trace whose verified request this one repeats with only a new slot value; `skip`: tiers already
    tried for this request."""
    have = {t for t in tiers if len(t) == 2 and t[0] == "T" and t[1] in "0123"} - skip
    if "T0" in have and mode == Mode.MIXED and variation:
        adapter = parse("T0", tiers["T0"]).model or ""
        # The family is learned when the adapter trained on this very trace, or on requests with its terms.
        if variation in trained_on(home, adapter) or (terms and terms in families(home, adapter)):
            named = ", ".join(sorted(terms)) or variation
            return "T0", (f"T0: a new value for a family adapter {adapter} learned ({named}); "
                          "no verified trace had been shown to take it")
    if mode == Mode.ORCHESTRATOR and "T3" in have:
        return "T3", "T3: planning is a meta task, kept for the external model"
    wanted = {Mode.MIXED: 1, Mode.LEARNER: 2}.get(mode, 2) + shift
    usable = sorted(int(t[1]) for t in have - {"T0", "T3"}) or sorted(int(t[1]) for t in have - {"T0"})
    if not usable:
        return None, ("T0 serves only new values of the families its adapter learned; this request is not one, "
                      "so the configured provider answered")
    tier = min(usable, key=lambda t: (abs(t - wanted), -t))
    why = {Mode.MIXED: "MIXED (the nearest trace guides the model)", Mode.LEARNER: "LEARNER (nothing near in memory)"
           }.get(mode, str(mode))
    low = " one tier down: energy is low" if shift < 0 else ""
    missing = f" (T{wanted} is not configured)" if tier != wanted else ""
    return f"T{tier}", f"T{tier}: {why}{low}{missing}"
