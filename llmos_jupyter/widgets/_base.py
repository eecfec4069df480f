"""What every dashboard widget shares: engine subscription, thread safety and a throttle.

A widget keeps its state as plain Python data, changed by `apply(event)` under a lock, and copies it
into its synced traitlets at most `max_rate` times a second (leading and trailing edge, so the first
change shows at once and the final state always shows). Events may arrive on any thread.
"""
from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any, Callable

import anywidget

STATIC = Path(__file__).resolve().parent.parent / "static"
CSS = STATIC / "widgets.css"
MODES = ("CRYSTALLIZED", "FOLLOWER", "MIXED", "LEARNER", "ORCHESTRATOR")
DEFAULT_RATE = 30.0  # updates a second; at least 20 keeps a live chart smooth


class Throttle:
    """Call `fn` at most once per `interval` seconds: at once when the last call is old enough, else once
    at the end of the interval (trailing edge), with whatever changed meanwhile. `flush()` runs it now."""

    def __init__(self, fn: Callable[[], None], interval: float):
        self.fn = fn
        self.interval = float(interval)
        self.calls = 0  # how many times fn ran (tests read this)
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._dirty = False
        self._last = -math.inf
        self._timer: threading.Timer | None = None

    def request(self) -> None:
        with self._lock:
            self._dirty = True
            if self._timer is not None:
                return  # the trailing call will pick this change up
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._fire)
                self._timer.daemon = True
                self._timer.start()
                return
        self._run()

    def flush(self, force: bool = False) -> None:
        """Run now if anything is pending (or `force`), and cancel the trailing call."""
        with self._lock:
            self._dirty = self._dirty or force
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self._run()

    @property
    def pending(self) -> bool:
        with self._lock:
            return self._dirty or self._timer is not None

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        self._run()

    def _run(self) -> None:
        with self._run_lock:
            with self._lock:
                if not self._dirty:
                    return
                self._dirty = False
                self._last = time.monotonic()
            self.calls += 1
            self.fn()


def plain(value: Any) -> Any:
    """JSON-safe copies: numpy arrays and scalars to lists and floats, NaN and infinities to None."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    try:
        return plain(float(value))
    except (TypeError, ValueError):
        return str(value)


class EngineWidget(anywidget.AnyWidget):
    """Base of the live widgets. Subclasses set `_esm`, `kinds` (the event kinds they read), `traits_`
    (the synced traitlets their state maps to), and implement `reset_state`, `apply` and optionally `seed`."""

    _css = CSS
    kinds: tuple[str, ...] = ()
    final_kinds: tuple[str, ...] = ("request.end",)  # these show at once, not after the throttle interval
    synced: tuple[str, ...] = ()

    def __init__(self, source: Any = None, *, max_rate: float = DEFAULT_RATE, **kwargs: Any):
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._engine: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self.state: dict[str, Any] = {}
        self.reset_state()
        self._throttle = Throttle(self._flush, 1.0 / max_rate)
        self._throttle.flush(force=True)
        if source is not None:
            self.attach(source)

    # -- subscription --------------------------------------------------------------------------------
    def attach(self, source: Any) -> "EngineWidget":
        """Follow an engine (anything with `.events`) or an EventBus. Reads the engine's current state
        first (ledger totals, valence), then updates on each event. Returns self."""
        self.detach()
        bus = getattr(source, "events", source)
        if not hasattr(bus, "subscribe"):
            raise TypeError(f"{type(self).__name__}.attach takes an LLMOS engine or an EventBus, got {source!r}.")
        self._engine = source if bus is not source else None
        with self._lock:
            if self._engine is not None:
                self.seed(self._engine)
        self._unsubscribe = bus.subscribe(self.handle)
        self._throttle.flush(force=True)
        return self

    def detach(self) -> None:
        """Stop following; what was received so far stays shown."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._throttle.flush()

    @property
    def attached(self) -> bool:
        return self._unsubscribe is not None

    @property
    def updates(self) -> int:
        """How many times the synced state was updated (each is at most one message to the front end)."""
        return self._throttle.calls

    def handle(self, event: Any) -> None:
        """EventBus callback: update the state, then schedule (or, for final events, do) a sync."""
        if event.kind not in self.kinds:
            return
        with self._lock:
            changed = self.apply(event.kind, dict(event.data))
        if changed is False:
            return
        if event.kind in self.final_kinds:
            self._throttle.flush(force=True)
        else:
            self._throttle.request()

    def flush(self) -> None:
        """Show pending changes now."""
        self._throttle.flush()

    def close(self) -> None:
        self.detach()
        super().close()

    # -- for subclasses ------------------------------------------------------------------------------
    def reset_state(self) -> None:
        raise NotImplementedError

    def seed(self, engine: Any) -> None:
        """Read what the engine already knows (called under the lock on attach)."""

    def apply(self, kind: str, data: dict[str, Any]) -> bool | None:
        """Change self.state for one event; return False when nothing changed."""
        raise NotImplementedError

    def _flush(self) -> None:
        with self._lock:
            values = {name: plain(self.state[name]) for name in self.synced}
        with self.hold_sync():
            for name, value in values.items():
                setattr(self, name, value)


class Requests:
    """Which requests are open, so the steps of an ORCHESTRATOR request (each dispatched as a request of
    its own, while the plan's request is still open) count under their parent, once."""

    def __init__(self) -> None:
        self.open: list[str] = []

    def start(self, request_id: str) -> str | None:
        """Open a request; returns its parent's id when it is a step of an open request."""
        parent = self.open[0] if self.open else None
        self.open.append(request_id)
        return parent

    def end(self, request_id: str) -> bool:
        """Close a request; True when it was a top-level one (or one that began before we attached)."""
        if request_id in self.open:
            top = self.open[0] == request_id
            self.open.remove(request_id)
            return top
        return not self.open

    def parent(self, request_id: str) -> str | None:
        if request_id in self.open and self.open[0] != request_id:
            return self.open[0]
        return None
