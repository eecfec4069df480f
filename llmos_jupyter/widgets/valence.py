"""ValenceWidget: a radar of safety, curiosity, energy and self_confidence, with the latent mode."""
from __future__ import annotations

import traitlets

from ..events import ValenceChanged
from ._base import STATIC, EngineWidget

AXES = ("safety", "curiosity", "energy", "self_confidence")
MAX_HISTORY = 200


class ValenceWidget(EngineWidget):
    """The sentience layer's valence as a radar that moves after each request, the latent mode
    (BALANCED, AUTO_CREATIVE, AUTO_CONTAINED, RECOVERY) and the behaviour it selects."""

    _esm = STATIC / "valence.js"
    final_kinds = ()
    synced = ("valence", "latent_mode", "behaviour", "budget", "history")

    valence = traitlets.Dict().tag(sync=True)
    latent_mode = traitlets.Unicode("").tag(sync=True)
    behaviour = traitlets.List().tag(sync=True)
    budget = traitlets.Dict().tag(sync=True)  # {tokens, spent, left} when a token budget is set
    history = traitlets.List().tag(sync=True)  # [{safety, curiosity, energy, self_confidence, latent_mode}]

    def reset_state(self) -> None:
        self.state = {"valence": {}, "latent_mode": "", "behaviour": [], "budget": {}, "history": []}
        self._last: ValenceChanged | None = None

    def _changed(self, event: ValenceChanged) -> bool:
        valence = {k: float(v) for k, v in event.valence.items() if k in AXES}
        # A re-attach replays the valence already shown: one point in the history, not two.
        if not valence or event == self._last:
            return False
        self._last = event
        self.state.update(valence=valence, latent_mode=event.latent_mode, behaviour=list(event.behaviour),
                          budget=dict(event.budget or {}))
        history = self.state["history"]
        history.append({**valence, "latent_mode": event.latent_mode})
        del history[:-MAX_HISTORY]
        return True

    handlers = {ValenceChanged: _changed}

    def __repr__(self) -> str:
        v = self.state["valence"]
        values = ", ".join(f"{k} {v[k]:.2f}" for k in AXES if k in v)
        return f"ValenceWidget({self.state['latent_mode'] or 'no valence yet'}" + (f": {values})" if values else ")")
