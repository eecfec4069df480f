"""Live dashboard widgets (anywidget). They fold the typed events of an EventBus (an engine's `.events`,
the only thing of an engine they read); the engine never imports them.

    from llmos_jupyter.widgets import show_dashboard
    dash = show_dashboard(engine)          # mode, tokens, valence, consensus, causal graph

Each widget also works alone: `TokenWidget(engine)`, `ValenceWidget(engine)`, `ModeWidget(engine)`,
`ConsensusWidget(bus)`, `CausalGraphWidget(bus)`; `attach(engine_or_bus)` / `detach()`.
Front ends are bundled in llmos_jupyter/static/ (built from js/), so they work offline.
"""
from __future__ import annotations

from ..events import RequestSummary
from ._base import DEFAULT_RATE, EngineWidget, Throttle
from .causal import CausalGraphWidget, significant_edges
from .consensus import ConsensusWidget
from .dashboard import Dashboard, show_dashboard
from .mode import ModeWidget
from .summary import ResultSummary
from .tokens import TokenWidget
from .valence import ValenceWidget


def inline_summary(summary: RequestSummary, source=None) -> ResultSummary:
    """The compact summary of one finished request (the RequestSummary its RequestEnded event carries), as a
    widget to display under it; with an engine or bus, the session's totals and valence now, too."""
    return ResultSummary.of(summary, source)


def live_summary(source) -> ResultSummary:
    """A summary that fills in while the next request on `source` (an engine or bus) runs; display it first."""
    return ResultSummary.follow(source)


__all__ = ["CausalGraphWidget", "ConsensusWidget", "Dashboard", "EngineWidget", "ModeWidget", "ResultSummary",
           "Throttle", "TokenWidget", "ValenceWidget", "DEFAULT_RATE", "inline_summary", "live_summary",
           "show_dashboard", "significant_edges"]
