"""What every dashboard widget shares: the event subscription, thread safety and a throttle.

A widget keeps its state as plain Python data, changed by its handler for each event under a lock, and
copies it into its synced traitlets at most `max_rate` times a second (leading and trailing edge, so the
first change shows at once and the final state always shows). Events may arrive on any thread.
"""
from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any, Callable, ClassVar

import anywidget

from ..modes import Mode
from ..events import Event, EventBus, RequestEnded

STATIC = Path(__file__).resolve().parent.parent / "static"
CSS = STATIC / "widgets.css"
MODES = tuple(m.value for m in Mode)
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


def event_bus(source: Any) -> EventBus:
    """The EventBus itself, or an engine's `.events` (the only thing a widget reads of an engine)."""
    bus = getattr(source, "events", source)
    if not isinstance(bus, EventBus):
        raise TypeError(f"Widgets follow an EventBus or an object with an `.events` EventBus, got {source!r}.")
    return bus


Handler = Callable[[Any, Event], "bool | None"]


class EngineWidget(anywidget.AnyWidget):
    """Base of the live widgets. Subclasses set `_esm`, `handlers` ({event class: method}: the events they
    fold; a method returns False when nothing changed), `synced` (the traitlets their state maps to), and
    implement `reset_state`."""

    _css = CSS
    handlers: ClassVar[dict[type[Event], Handler]] = {}
    kinds: ClassVar[tuple[type[Event], ...]] = ()  # the handlers' event classes, set per subclass
    final_kinds: ClassVar[tuple[type[Event], ...]] = (RequestEnded,)  # shown at once, not after the interval
    synced: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kinds = tuple(cls.handlers)

    def __init__(self, source: Any = None, *, max_rate: float = DEFAULT_RATE, **kwargs: Any):
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._unsubscribe: Callable[[], None] | None = None
        self.state: dict[str, Any] = {}
        self.reset_state()
        self._throttle = Throttle(self._flush, 1.0 / max_rate)
        self._throttle.flush(force=True)
        if source is not None:
            self.attach(source)

    # -- subscription --------------------------------------------------------------------------------
    def attach(self, source: Any) -> "EngineWidget":
        """Follow an EventBus, or an engine's `.events`. The bus first replays its current state (ledger
        totals, valence), so a widget opened late starts right. Returns self."""
        bus = event_bus(source)
        self.detach()
        self._unsubscribe = bus.subscribe(self.handle, self.kinds, replay=True)
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

    def handle(self, event: Event) -> None:
        """EventBus callback: update the state, then schedule (or, for final events, do) a sync."""
        if not self.apply(event):
            return
        if isinstance(event, self.final_kinds):
            self._throttle.flush(force=True)
        else:
            self._throttle.request()

    def apply(self, event: Event) -> bool:
        """Fold one event into the state (no sync); True when something changed."""
        handler = self.handlers.get(type(event))
        if handler is None:
            return False
        with self._lock:
            return handler(self, event) is not False

    def flush(self) -> None:
        """Show pending changes now."""
        self._throttle.flush()

    def close(self) -> None:
        self.detach()
        super().close()

    # -- for subclasses ------------------------------------------------------------------------------
    def reset_state(self) -> None:
        raise NotImplementedError

    def _flush(self) -> None:
        with self._lock:
            values = {name: plain(self.state[name]) for name in self.synced}
        with self.hold_sync():
            for name, value in values.items():
                setattr(self, name, value)
