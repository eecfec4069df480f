"""Provider specs as the magic takes them: "anthropic:claude-sonnet-5-5,openai:gpt-5.5,local"."""
from __future__ import annotations

from ..errors import ConfigError


def parse_specs(text: str) -> list[tuple[str, str | None]]:
    """Split a comma-separated list of `provider[:model]` into (provider, model or None) pairs.

    Only the first colon separates provider from model, so model names may contain colons
    (e.g. fine-tuned OpenAI models). Whether a provider name exists is checked when it is made.
    """
    specs: list[tuple[str, str | None]] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, model = part.partition(":")
        name, model = name.strip(), model.strip()
        if not name or (sep and not model):
            raise ConfigError(
                f"Cannot read the provider spec {part!r}. Write provider or provider:model, separated by commas, "
                "e.g. --consensus anthropic:claude-sonnet-5-5,openai:gpt-5.5,local"
            )
        specs.append((name, model or None))
    if not specs:
        raise ConfigError(
            "No providers given for consensus. Name at least one, e.g. --consensus anthropic,openai:gpt-5.5,local"
        )
    return specs
