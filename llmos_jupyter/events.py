"""A tiny synchronous publish/subscribe bus.

The engine publishes small events (mode chosen, tokens, streamed text, execution);
widgets and displays subscribe. The engine never imports a subscriber.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[tuple[str | None, Subscriber]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber, kind: str | None = None) -> Callable[[], None]:
        """Call `callback` for every event (or only those of `kind`); returns an unsubscribe function."""
        entry = (kind, callback)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, kind: str, **data: Any) -> None:
        event = Event(kind, data)
        with self._lock:
            targets = [cb for k, cb in self._subscribers if k is None or k == kind]
        for callback in targets:
            # A broken display must never break the request it is showing.
            try:
                callback(event)
            except Exception:  # noqa: BLE001
                log.exception("event subscriber failed on %s", kind)
