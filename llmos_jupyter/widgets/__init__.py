"""Live dashboard widgets (anywidget). They subscribe to an engine's events; the engine never imports them.

    from llmos_jupyter.widgets import show_dashboard
    dash = show_dashboard(engine)          # mode, tokens, valence, consensus, causal graph

Each widget also works alone: `TokenWidget(engine)`, `ValenceWidget(engine)`, `ModeWidget(engine)`,
`ConsensusWidget(bus)`, `CausalGraphWidget(bus)`; `attach(engine_or_bus)` / `detach()`.
Front ends are bundled in llmos_jupyter/static/ (built from js/), so they work offline.
"""
from __future__ import annotations

from ._base import DEFAULT_RATE, EngineWidget, Throttle
from .causal import CausalGraphWidget, significant_edges
from .consensus import ConsensusWidget
from .dashboard import Dashboard, show_dashboard
from .mode import ModeWidget
from .summary import ResultSummary
from .tokens import TokenWidget
from .valence import ValenceWidget


def inline_summary(result, engine=None) -> ResultSummary:
    """The compact summary of one finished %%llmos result, as a widget to display under it."""
    return ResultSummary.of(result, engine)


def live_summary(engine) -> ResultSummary:
    """A summary that fills in while the next request on `engine` runs (display it before running)."""
    return ResultSummary.follow(engine)


__all__ = ["CausalGraphWidget", "ConsensusWidget", "Dashboard", "EngineWidget", "ModeWidget", "ResultSummary",
           "Throttle", "TokenWidget", "ValenceWidget", "DEFAULT_RATE", "inline_summary", "live_summary",
           "show_dashboard", "significant_edges"]
