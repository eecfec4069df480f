"""OpenAI chat completions through the official `openai` SDK.

Also the way to reach OpenAI-compatible local servers (vLLM, Ollama, llama.cpp server):
pass their base_url.
"""
from __future__ import annotations

import json
import os

from ..errors import ConfigError, ProviderError
from ..ledger import Usage
from .base import DEFAULTS, CallOptions, Completion, Message, Provider, TextCallback, ToolCall, ToolSpec
from .sdk_errors import translated_errors


class OpenAIProvider(Provider):
    name = "openai"
    default_model = "gpt-5.5"
    key_env = "OPENAI_API_KEY"

    def __init__(self, model: str | None = None, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = DEFAULTS.timeout, max_retries: int = DEFAULTS.max_retries):
        super().__init__(model)
        import openai  # first use only: keeps %load_ext fast

        self._sdk = openai
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        key = api_key or os.environ.get(self.key_env)
        if not key:
            if not base_url:
                raise ConfigError(
                    "No OpenAI API key. Set OPENAI_API_KEY in the environment (or pass api_key=...); for a local "
                    "OpenAI-compatible server pass its base_url; or use --provider local for the offline model."
                )
            key = "unused"  # local servers (Ollama, vLLM, llama.cpp) accept any key
        self.max_retries = max_retries
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self.endpoint = str(self._client.base_url)
        official = self._client.base_url.host == "api.openai.com"
        self._max_tokens_param = "max_completion_tokens" if official else "max_tokens"

    def complete(self, system: str, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = DEFAULTS.max_tokens, on_text: TextCallback | None = None,
                 options: CallOptions | None = None) -> Completion:
        kwargs: dict = {
            "model": self.model,
            # OpenAI's current models take max_completion_tokens and refuse max_tokens; compatible
            # local servers (Ollama, llama.cpp) know only max_tokens.
            self._max_tokens_param: max_tokens,
            "messages": [{"role": "system", "content": system}] + [_message(m) for m in messages],
            **(options.sdk_arguments() if options else {}),
        }
        if tools:
            kwargs["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description_with_examples(), "parameters": t.input_schema}}
                for t in tools]
        with translated_errors(self):
            if on_text is None:
                return self._completion(self._client.chat.completions.create(**kwargs))
            return self._stream(kwargs, on_text)

    def list_models(self) -> list[str]:
        """GET /v1/models through the SDK (which follows its pages)."""
        with translated_errors(self):
            return sorted(m.id for m in self._client.models.list())

    def _completion(self, response) -> Completion:
        choice = response.choices[0]
        calls = [ToolCall(c.function.name, _arguments(c.function.arguments), c.id)
                 for c in (choice.message.tool_calls or []) if c.type == "function"]
        return Completion(choice.message.content or "", _usage(response.usage), self.name,
                          response.model or self.model, calls, choice.finish_reason)

    def _stream(self, kwargs: dict, on_text: TextCallback) -> Completion:
        text: list[str] = []
        calls: dict[int, dict] = {}
        usage = None
        model = self.model
        finish = None
        stream = self._client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    text.append(delta.content)
                    on_text(delta.content)
                for tc in delta.tool_calls or []:
                    slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = tc.id or slot["id"]
                    if tc.function is not None:
                        slot["name"] += tc.function.name or ""
                        slot["arguments"] += tc.function.arguments or ""
                finish = choice.finish_reason or finish
        if finish is None and not text and not calls:
            # The SDK yields nothing for a body that is not an event stream: say so, don't return an empty reply.
            raise ProviderError(
                f"{self.name} ({self.model}) at {self.endpoint} ended its stream without a reply (no events, no "
                "finish reason). Nothing was run. If this is a local server, check that it supports streaming "
                "or use %%llmos --no-stream.", provider=self.name, kind="malformed")
        tool_calls = [ToolCall(c["name"], _arguments(c["arguments"]), c["id"]) for _, c in sorted(calls.items())]
        return Completion("".join(text), _usage(usage), self.name, model, tool_calls, finish)


def _usage(u) -> Usage:
    if u is None:
        # Some OpenAI-compatible servers send no usage; say so instead of inventing numbers.
        return Usage(reported=False)
    details = getattr(u, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    # prompt_tokens already includes the cached part.
    return Usage(u.prompt_tokens or 0, u.completion_tokens or 0, cached, 0)


def _arguments(raw: str | None) -> dict:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def _message(m: Message) -> dict:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content}
    if m.tool_calls:
        return {"role": "assistant", "content": m.content or None, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in m.tool_calls]}
    return {"role": m.role, "content": m.content}
