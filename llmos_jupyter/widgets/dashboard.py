"""Dashboard: the mode, token, valence, consensus and causal-graph widgets together, following one event bus."""
from __future__ import annotations

import weakref
from typing import Any

import ipywidgets

from ..events import EventBus
from ._base import event_bus
from .causal import CausalGraphWidget
from .consensus import ConsensusWidget
from .mode import ModeWidget
from .tokens import TokenWidget
from .valence import ValenceWidget

_ROW = ipywidgets.Layout(display="flex", flex_flow="row wrap", align_items="stretch", width="100%",
                         grid_gap="8px")


def _cell(widget: ipywidgets.DOMWidget, basis: str = "320px") -> ipywidgets.DOMWidget:
    widget.layout = ipywidgets.Layout(flex=f"1 1 {basis}", min_width="280px", margin="0")
    return widget


class Dashboard(ipywidgets.VBox):
    """All the live widgets in one panel: mode history on top, tokens and valence, then consensus
    weights and the causal graph. `attach(source)` follows an EventBus (or an engine's `.events`);
    `detach()` stops."""

    def __init__(self, source: Any = None, **kwargs: Any):
        self.mode = ModeWidget()
        self.tokens = TokenWidget()
        self.valence = ValenceWidget()
        self.consensus = ConsensusWidget()
        self.causal = CausalGraphWidget()
        self.mode.layout = ipywidgets.Layout(width="100%", margin="0")
        rows = [self.mode,
                ipywidgets.Box([_cell(self.tokens, "420px"), _cell(self.valence, "300px")], layout=_ROW),
                ipywidgets.Box([_cell(self.consensus, "360px"), _cell(self.causal, "360px")], layout=_ROW)]
        kwargs.setdefault("layout", ipywidgets.Layout(width="100%", grid_gap="8px"))
        super().__init__(rows, **kwargs)
        self.add_class("llmos-dashboard")
        if source is not None:
            self.attach(source)

    @property
    def widgets(self) -> tuple:
        return (self.mode, self.tokens, self.valence, self.consensus, self.causal)

    def attach(self, source: Any) -> "Dashboard":
        bus = event_bus(source)
        for w in self.widgets:
            w.attach(bus)
        return self

    def detach(self) -> None:
        for w in self.widgets:
            w.detach()

    @property
    def attached(self) -> bool:
        return any(w.attached for w in self.widgets)

    def close(self) -> None:
        self.detach()
        for w in self.widgets:
            w.close()
        super().close()

    def __repr__(self) -> str:
        return "Dashboard(\n  " + "\n  ".join(repr(w) for w in self.widgets) + "\n)"


_shown: "weakref.WeakKeyDictionary[EventBus, Dashboard]" = weakref.WeakKeyDictionary()


def show_dashboard(source: Any, *, display: bool = True) -> Dashboard:
    """Display the dashboard following `source` (an engine, through its `.events`, or an EventBus) and
    return it. One dashboard per bus: calling again shows the same live dashboard once more (another
    view of the same widgets), still following."""
    bus = event_bus(source)
    dashboard = _shown.get(bus)
    if dashboard is None or not dashboard.attached:
        dashboard = _shown[bus] = Dashboard(bus)
    if display:
        from IPython.display import display as show

        show(dashboard)
    return dashboard
