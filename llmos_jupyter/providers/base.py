"""What every model provider offers the engine: one chat completion with exact usage."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from ..ledger import Usage
from ..settings import Settings

DEFAULTS = Settings()  # the SDK timeout, retries and output bound a provider uses when not told

TextCallback = Callable[[str], None]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call, described once and translated per API."""

    name: str
    description: str
    input_schema: dict[str, Any]
    input_examples: tuple[dict[str, Any], ...] = ()  # filled from verified runs

    def description_with_examples(self) -> str:
        """For APIs without an examples field, the examples go into the description."""
        if not self.input_examples:
            return self.description
        import json

        return self.description + " Examples: " + "; ".join(json.dumps(e) for e in self.input_examples)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Message:
    role: str  # "user" | "assistant" | "tool"
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # an assistant turn that called tools
    tool_call_id: str = ""  # a "tool" turn: the result for this call


@dataclass
class Completion:
    text: str
    usage: Usage
    provider: str
    model: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    stop_reason: str | None = None


class Provider(ABC):
    """A chat model. Implementations use the vendor's official SDK, nothing hand-rolled."""

    name: str = ""
    default_model: str = ""
    #: Shown by `%llmos status`; say plainly when a provider is weak.
    note: str = ""

    def __init__(self, model: str | None = None):
        self.model = model or self.default_model

    @abstractmethod
    def complete(
        self,
        system: str,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        max_tokens: int = DEFAULTS.max_tokens,
        on_text: TextCallback | None = None,
    ) -> Completion:
        """One completion. With `on_text`, stream and call it with each text piece as it arrives."""

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model, "note": self.note}
