"""Model providers, found by name. Third parties add their own through the
`llmos_jupyter.providers` entry-point group (as jupyter-ai does)."""
from __future__ import annotations

import os
from importlib.metadata import entry_points

from ..errors import ConfigError
from .base import CallOptions, Completion, Message, Provider, ToolCall, ToolSpec

BUILTIN = {
    "anthropic": "llmos_jupyter.providers.anthropic:AnthropicProvider",
    "openai": "llmos_jupyter.providers.openai:OpenAIProvider",
    "local": "llmos_jupyter.providers.local:LocalProvider",
}


def available() -> dict[str, str]:
    """Provider name -> 'module:Class', built-ins first, then entry points."""
    found = dict(BUILTIN)
    for ep in entry_points(group="llmos_jupyter.providers"):
        found.setdefault(ep.name, ep.value)
    return found


def resolve_auto(name: str) -> str:
    """`auto`: Anthropic if its key is set, else OpenAI, else the offline model."""
    if name != "auto":
        return name
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai"
    return "local"


def provider_class(name: str) -> type[Provider]:
    # A built-in wins over an entry point of the same name (available()), so it needs no scan of every installed
    # package's entry points: that scan took 7 ms, on every request that prices what it saved.
    table = BUILTIN if name in BUILTIN else available()
    if name not in table:
        raise ConfigError(
            f"Unknown provider {name!r}. Choose one of: auto, {', '.join(sorted(table))} "
            "(%llmos providers lists them)."
        )
    module_name, _, attr = table[name].partition(":")
    import importlib

    return getattr(importlib.import_module(module_name), attr)


def make_provider(name: str, model: str | None = None, **options) -> Provider:
    return provider_class(resolve_auto(name))(model, **options)


def key_status(name: str) -> str:
    """Whether a provider is usable, without ever showing the key."""
    cls = provider_class(name)
    env = getattr(cls, "key_env", None)
    if env is None:
        return "offline, no key needed"
    return f"{env} is set" if os.environ.get(env) else f"{env} is not set"


__all__ = ["CallOptions", "Completion", "Message", "Provider", "ToolCall", "ToolSpec", "available", "make_provider",
           "provider_class", "resolve_auto", "key_status"]
