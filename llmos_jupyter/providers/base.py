"""What every model provider offers the engine: one chat completion with exact usage."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from ..ledger import Usage
from ..settings import Settings

DEFAULTS = Settings()  # the SDK timeout, retries and output bound a provider uses when not told

TextCallback = Callable[[str], None]

# Request fields the pipeline writes itself: a cell's -m may not replace them (the model is chosen with
# provider:model or --model, the output bound with --max-tokens).
RESERVED_PARAMETERS = frozenset({"model", "messages", "system", "tools", "tool_choice", "stream", "stream_options",
                                 "max_completion_tokens", "n"})


@dataclass(frozen=True)
class CallOptions:
    """Model parameters a user chose for one request (a cell's --temperature, --max-tokens and -m JSON, over
    the configured ones), passed to the SDK call. `extra`: the other JSON parameters, sent in the request body
    as the vendor names them (top_p, top_k, stop, seed, ...)."""
    temperature: float | None = None
    max_tokens: int | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, temperature: float | None = None, max_tokens: int | None = None,
           parameters: dict[str, Any] | None = None) -> "CallOptions":
        """Checked options; `temperature` and `max_tokens` may also come inside `parameters`, but not twice."""
        from ..errors import ConfigError

        params = dict(parameters or {})
        reserved = sorted(RESERVED_PARAMETERS & set(params))
        if reserved:
            raise ConfigError(f"Model parameters may not set {', '.join(reserved)}: LLMOS writes those itself. "
                              "Choose the model with provider:model or --model, and the output bound with "
                              "--max-tokens.")
        for name, flag in (("temperature", temperature), ("max_tokens", max_tokens)):
            if name in params and flag is not None and params[name] != flag:
                raise ConfigError(f"{name} is given twice ({flag} and {params[name]} in the JSON): keep one.")
        temperature = params.pop("temperature", temperature)
        max_tokens = params.pop("max_tokens", max_tokens)
        if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                                        or not 0 <= temperature <= 2):
            raise ConfigError(f"temperature must be a number from 0 to 2, not {temperature!r}.")
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens <= 0):
            raise ConfigError(f"max_tokens must be a positive whole number, not {max_tokens!r}.")
        return cls(None if temperature is None else float(temperature), max_tokens, tuple(sorted(params.items())))

    def over(self, base: "CallOptions") -> "CallOptions":
        """These options, with `base`'s (the configured ones) where these name none."""
        return CallOptions(base.temperature if self.temperature is None else self.temperature,
                           base.max_tokens if self.max_tokens is None else self.max_tokens,
                           tuple(sorted({**dict(base.extra), **dict(self.extra)}.items())))

    def sdk_arguments(self) -> dict[str, Any]:
        """For the OpenAI and Anthropic SDKs: everything in `extra_body`, which both merge into the JSON body as
        written. Named arguments would tie us to one SDK release: anthropic 2.17's create() and stream() no
        longer take `temperature` at all, while the API still reads it from the body."""
        body = {**({"temperature": self.temperature} if self.temperature is not None else {}), **dict(self.extra)}
        return {"extra_body": body} if body else {}

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in (("temperature", self.temperature), ("max_tokens", self.max_tokens)) if v is not None}
        return {**out, **dict(self.extra)}


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
        options: CallOptions | None = None,
    ) -> Completion:
        """One completion. With `on_text`, stream and call it with each text piece as it arrives. `options`: the
        user's model parameters (its max_tokens already folded into `max_tokens` by the caller)."""

    def list_models(self) -> list[str]:
        """The models this provider serves, asked of its API where the API lists them."""
        from ..errors import ConfigError

        raise ConfigError(f"The {self.name} provider has no way to list its models; see its documentation.")

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model, "note": self.note}
