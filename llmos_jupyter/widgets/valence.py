"""ValenceWidget: a radar of safety, curiosity, energy and self_confidence, with the latent mode."""
from __future__ import annotations

from typing import Any

import traitlets

from ._base import STATIC, EngineWidget

AXES = ("safety", "curiosity", "energy", "self_confidence")
MAX_HISTORY = 200


class ValenceWidget(EngineWidget):
    """The sentience layer's valence as a radar that moves after each request, the latent mode
    (BALANCED, AUTO_CREATIVE, AUTO_CONTAINED, RECOVERY) and the behaviour it selects."""

    _esm = STATIC / "valence.js"
    kinds = ("sentience",)
    final_kinds = ()
    synced = ("valence", "latent_mode", "behaviour", "budget", "history")

    valence = traitlets.Dict().tag(sync=True)
    latent_mode = traitlets.Unicode("").tag(sync=True)
    behaviour = traitlets.List().tag(sync=True)
    budget = traitlets.Dict().tag(sync=True)  # {tokens, spent, left} when a token budget is set
    history = traitlets.List().tag(sync=True)  # [{safety, curiosity, energy, self_confidence, latent_mode}]

    def reset_state(self) -> None:
        self.state = {"valence": {}, "latent_mode": "", "behaviour": [], "budget": {}, "history": []}

    def seed(self, engine: Any) -> None:
        self._take(engine.sentience.snapshot())

    def _take(self, snap: dict[str, Any]) -> bool:
        valence = {k: float(v) for k, v in (snap.get("valence") or {}).items() if k in AXES}
        if not valence:
            return False
        self.state["valence"] = valence
        self.state["latent_mode"] = str(snap.get("latent_mode", ""))
        self.state["behaviour"] = [str(b) for b in snap.get("behaviour") or []]
        self.state["budget"] = dict(snap.get("budget") or {})
        history = self.state["history"]
        history.append({**valence, "latent_mode": self.state["latent_mode"]})
        del history[:-MAX_HISTORY]
        return True

    def apply(self, kind: str, data: dict[str, Any]) -> bool:
        return self._take(data)

    def __repr__(self) -> str:
        v = self.state["valence"]
        values = ", ".join(f"{k} {v[k]:.2f}" for k in AXES if k in v)
        return f"ValenceWidget({self.state['latent_mode'] or 'no valence yet'}" + (f": {values})" if values else ")")
