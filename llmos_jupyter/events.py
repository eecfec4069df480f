"""Typed events and the bus that carries them.

The engine and the consensus pipeline publish frozen dataclasses; widgets and displays subscribe to
the classes they fold. Everything a subscriber needs travels in the event, so no subscriber ever reads
the engine, the ledger or the store. The engine never imports a subscriber.

State events (`LedgerTotals`, `ValenceChanged`) describe the engine's state as a whole; a subscriber
that asks for `replay=True` gets the current ones first, so a dashboard opened late starts from the
right totals without asking the engine.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every event."""


# -- one request ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestStarted(Event):
    request_id: str
    text: str
    parent_id: str | None = None  # set for the steps of an ORCHESTRATOR request


@dataclass(frozen=True)
class Status(Event):
    """A transient line for slow first-use work (loading the embedding model), or a program still running;
    empty text ends it."""
    request_id: str
    text: str


@dataclass(frozen=True)
class Choice:
    """What the displays show of a mode choice: the similarity, the trace replayed or shown (or only the nearest
    one), the reason, a plan's steps, and the mode a failed replay fell back from."""
    score: float | None = None
    trace_id: str | None = None
    nearest: bool = False  # `trace_id` is the nearest trace only: it was neither replayed nor shown
    reason: str | None = None
    plan: tuple[str, ...] = ()
    fallback_from: str | None = None

    @classmethod
    def of(cls, why: Mapping[str, Any], fallback_from: str | None = None) -> "Choice":
        trace = why.get("trace_id") or why.get("nearest")
        return cls(score=why.get("score"), trace_id=str(trace) if trace else None,
                   nearest=bool(trace) and not why.get("trace_id"),
                   reason=str(why["reason"]) if why.get("reason") else None,
                   plan=tuple(str(s) for s in why.get("plan") or ()),
                   fallback_from=str(fallback_from) if fallback_from else None)

    def to_dict(self) -> dict[str, Any]:
        """The facts that are there, for a widget's state."""
        out: dict[str, Any] = {}
        if self.score is not None:
            out["score"] = self.score
        if self.trace_id:
            out.update(trace_id=self.trace_id, nearest=self.nearest)
        if self.reason:
            out["reason"] = self.reason
        if self.fallback_from:
            out["fallback_from"] = self.fallback_from
        if self.plan:
            out["plan"] = list(self.plan)
        return out


@dataclass(frozen=True)
class ModeChosen(Event):
    request_id: str
    mode: str  # a Mode value: CRYSTALLIZED, FOLLOWER, MIXED, LEARNER, ORCHESTRATOR
    why: dict[str, Any] = field(default_factory=dict)  # everything the dispatcher said, for `Result.why`
    parent_id: str | None = None
    fallback_from: str | None = None  # a replay failed verification and the request moved on to `mode`
    choice: Choice | None = None  # the typed summary displays show; made from `why` when not given

    def __post_init__(self) -> None:
        if self.choice is None:
            object.__setattr__(self, "choice", Choice.of(self.why, self.fallback_from))


@dataclass(frozen=True)
class StepStarted(Event):
    """ORCHESTRATOR: step `index` (from 1) of `total` is about to be dispatched as its own request."""
    request_id: str
    index: int
    total: int
    text: str


@dataclass(frozen=True)
class LLMText(Event):
    request_id: str
    text: str  # one streamed piece


@dataclass(frozen=True)
class LLMCall(Event):
    """One billed model call, with the provider's own usage figures."""
    request_id: str
    provider: str
    model: str
    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0
    cost_usd: float | None = 0.0  # None when the model's price is unknown
    reported: bool = True  # False when the provider sent no usage figures


@dataclass(frozen=True)
class GuardBlocked(Event):
    request_id: str
    findings: tuple[str, ...]
    trusted: bool = False  # the cell ran it anyway (--trust)


@dataclass(frozen=True)
class ExecutionStarted(Event):
    request_id: str


@dataclass(frozen=True)
class Executed(Event):
    request_id: str
    output: str
    error: str | None
    counts: dict[str, int] | None


@dataclass(frozen=True)
class Crystallized(Event):
    trace_id: str
    tool: str


@dataclass(frozen=True)
class RequestSummary:
    """What a display needs to know about a finished request."""
    request: str
    mode: str
    input: int = 0
    output: int = 0
    saved: int = 0
    cost_usd: float | None = 0.0
    error: str | None = None
    notice: str | None = None
    verified: bool | None = None
    executed: bool = False
    counts: dict[str, int] | None = None
    shots: int | None = None
    trace_id: str | None = None
    provider: str | None = None
    model: str | None = None
    steps: int = 0
    duration_ms: float = 0.0

    @property
    def billed(self) -> int:
        return self.input + self.output

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class RequestEnded(Event):
    request_id: str
    summary: RequestSummary
    parent_id: str | None = None


# -- the engine's state as a whole ----------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerTotals(Event):
    """The ledger's totals over this home, after a request was recorded (the ledger owns the counts)."""
    requests: int
    input: int
    output: int
    saved: int
    cost_usd: float | None  # None when some call's price is unknown
    request_id: str | None = None

    @property
    def billed(self) -> int:
        return self.input + self.output

    @property
    def baseline(self) -> int:
        return self.billed + self.saved

    @property
    def percent_saved(self) -> float:
        return round(100.0 * self.saved / self.baseline, 2) if self.baseline else 0.0


@dataclass(frozen=True)
class ValenceChanged(Event):
    valence: dict[str, float]
    latent_mode: str
    behaviour: tuple[str, ...] = ()
    budget: dict[str, int] | None = None  # {tokens, spent, left} when a budget is set
    request_id: str | None = None


# -- consensus -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsensusAnswer(Event):
    """One model's answer arrived (ok) or failed."""
    model: str
    ok: bool
    seconds: float
    request_id: str | None = None


@dataclass(frozen=True)
class ConsensusStep(Event):
    """One annealing step: the best replica's energy and weights."""
    step: int
    temperature: float
    energy: float
    weights: tuple[float, ...]
    batch: int = 1
    request_id: str | None = None


@dataclass(frozen=True)
class ConsensusDone(Event):
    """The ground state was found."""
    weights: tuple[float, ...]
    energy: float
    free_energy: float
    entropy: float
    device: str
    batch: int = 1
    seconds: float = 0.0
    request_id: str | None = None


@dataclass(frozen=True)
class CausalGraph(Event):
    labels: tuple[str, ...]
    te: tuple[tuple[float, ...], ...]
    effective: tuple[tuple[float, ...], ...]
    pvalues: tuple[tuple[float, ...], ...]
    edges: tuple[dict[str, Any], ...]
    alpha: float
    note: str = ""
    request_id: str | None = None


@dataclass(frozen=True)
class ConsensusFinished(Event):
    """The consensus answer: who wrote it, the models weighed and their weights, those that failed, and for
    program answers each model's histogram (outcome -> probability, the likeliest few; None for prose)."""
    answer_source: str
    models: tuple[str, ...]
    weights: tuple[float, ...]
    failures: tuple[str, ...] = ()
    request_id: str | None = None
    histograms: tuple[Mapping[str, float] | None, ...] = ()


STATE_EVENTS = (LedgerTotals, ValenceChanged)

Subscriber = Callable[[Event], None]
EventKinds = type | tuple[type, ...] | None


class EventBus:
    """A synchronous publish/subscribe bus. `state` returns the current state events, for late subscribers
    that ask for them (replay=True); the bus also keeps the last published one of each state type."""

    def __init__(self, state: Callable[[], Iterable[Event]] | None = None) -> None:
        self._subscribers: list[tuple[EventKinds, Subscriber]] = []
        self._lock = threading.Lock()
        self._state = state
        self._last: dict[type, Event] = {}

    def subscribe(self, callback: Subscriber, kinds: EventKinds = None, *, replay: bool = False) -> Callable[[], None]:
        """Call `callback` for every event (or only those of the class or classes `kinds`); with `replay`,
        first for the current state events. Returns an unsubscribe function."""
        wanted = kinds if isinstance(kinds, tuple) else (kinds,)
        if kinds is not None and not all(isinstance(k, type) and issubclass(k, Event) for k in wanted):
            raise TypeError(f"EventBus.subscribe takes event classes (e.g. ModeChosen), not {kinds!r}.")
        entry = (kinds, callback)
        if replay:
            for event in self.current_state():
                if kinds is None or isinstance(event, kinds):
                    self._deliver(callback, event)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def current_state(self) -> list[Event]:
        """The newest state event of each kind: published ones first, else asked of the state source."""
        with self._lock:
            last = dict(self._last)
        if len(last) < len(STATE_EVENTS) and self._state is not None:
            try:
                for event in self._state():
                    last.setdefault(type(event), event)
            except Exception:  # noqa: BLE001 - a closed store must not break a display being opened
                log.exception("event bus: reading the current state failed")
        return [last[k] for k in STATE_EVENTS if k in last]

    def publish(self, event: Event) -> None:
        if not isinstance(event, Event):
            raise TypeError(f"EventBus.publish takes an Event, got {event!r}")
        with self._lock:
            if isinstance(event, STATE_EVENTS):
                self._last[type(event)] = event
            targets = [cb for k, cb in self._subscribers if k is None or isinstance(event, k)]
        for callback in targets:
            self._deliver(callback, event)

    @staticmethod
    def _deliver(callback: Subscriber, event: Event) -> None:
        # A broken display must never break the request it is showing.
        try:
            callback(event)
        except Exception:  # noqa: BLE001
            log.exception("event subscriber failed on %s", type(event).__name__)
