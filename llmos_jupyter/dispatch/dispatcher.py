"""Choose a mode for a request and say why.

Steps, each small: normalize → retrieve from memory → choose. Until learned memory
exists there is nothing to retrieve, so every request goes to LEARNER and the
decision says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .modes import Mode


@dataclass(frozen=True)
class Decision:
    mode: Mode
    why: dict[str, Any] = field(default_factory=dict)


class Dispatcher:
    def choose(self, request: str) -> Decision:
        return Decision(Mode.LEARNER, {"reason": "no learned trace or tool matches this request"})
