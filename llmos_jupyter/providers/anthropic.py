"""Anthropic Messages API through the official `anthropic` SDK."""
from __future__ import annotations

import os

from ..errors import ConfigError, ProviderError
from ..ledger import Usage
from .base import DEFAULTS, CallOptions, Completion, Message, Provider, TextCallback, ToolCall, ToolSpec
from .sdk_errors import translated_errors


class AnthropicProvider(Provider):
    name = "anthropic"
    default_model = "claude-sonnet-5-5"
    key_env = "ANTHROPIC_API_KEY"

    def __init__(self, model: str | None = None, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = DEFAULTS.timeout, max_retries: int = DEFAULTS.max_retries):
        super().__init__(model)
        import anthropic  # first use only: keeps %load_ext fast

        self._sdk = anthropic
        key = api_key or os.environ.get(self.key_env) or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        if not key:
            raise ConfigError(
                "No Anthropic API key. Set ANTHROPIC_API_KEY in the environment (or pass api_key=...), "
                "or choose another provider: --provider openai, or --provider local for the offline model."
            )
        self.max_retries = max_retries
        # base_url=None lets the SDK read ANTHROPIC_BASE_URL itself.
        self._client = anthropic.Anthropic(api_key=key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self.endpoint = str(self._client.base_url)

    def complete(self, system: str, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = DEFAULTS.max_tokens, on_text: TextCallback | None = None,
                 options: CallOptions | None = None) -> Completion:
        kwargs: dict = {
            "model": self.model,
            "max_tokens": max_tokens,
            "system": system,
            "messages": _messages(messages),
            **(options.sdk_arguments() if options else {}),
        }
        if tools:
            kwargs["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.input_schema,
                                **({"input_examples": list(t.input_examples)} if t.input_examples else {})}
                               for t in tools]
        with translated_errors(self):
            if on_text is None:
                message = self._client.messages.create(**kwargs)
            else:
                with self._client.messages.stream(**kwargs) as stream:
                    for piece in stream.text_stream:
                        on_text(piece)
                    try:
                        message = stream.get_final_message()
                    except AssertionError:  # the SDK's way of saying no message_start ever came
                        raise ProviderError(
                            f"{self.name} ({self.model}) at {self.endpoint} ended its stream without a reply. "
                            "Nothing was run. If this is a local server, check that it supports streaming or use "
                            "%%llmos --no-stream.", provider=self.name, kind="malformed") from None
        return self._completion(message)

    def list_models(self) -> list[str]:
        """GET /v1/models through the SDK (which follows its pages)."""
        with translated_errors(self):
            return sorted(m.id for m in self._client.models.list())

    def _completion(self, message) -> Completion:
        text = "".join(b.text for b in message.content if b.type == "text")
        calls = [ToolCall(b.name, dict(b.input or {}), b.id) for b in message.content if b.type == "tool_use"]
        u = message.usage
        cache_read = u.cache_read_input_tokens or 0
        cache_write = u.cache_creation_input_tokens or 0
        # Anthropic reports the uncached part apart from the cached parts: the whole prompt is their sum.
        usage = Usage(u.input_tokens + cache_read + cache_write, u.output_tokens, cache_read, cache_write)
        return Completion(text, usage, self.name, message.model or self.model, calls, message.stop_reason)


def _messages(messages: list[Message]) -> list[dict]:
    """Tool turns in Anthropic's shape: tool_use blocks in the assistant turn, tool_result blocks in a user turn."""
    out: list[dict] = []
    for m in messages:
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif m.tool_calls:
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": m.role, "content": m.content})
    return out
