"""Which model a cell asked for: `provider:model`, an alias made with `%llmos alias`, or --provider/--model.
Aliases live for the session, as Jupyter AI's do. No Jupyter import."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError
from .providers import available, provider_class

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")


@dataclass(frozen=True)
class Target:
    """The model one request goes to; None fields fall back to the configured ones."""
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    api_key_name: str | None = None  # the environment variable holding this model's key

    def spec(self) -> str:
        return f"{self.provider}:{self.model}" if self.model else str(self.provider)


def split_spec(spec: str) -> Target:
    """'provider:model' (or a bare provider name) as a Target; an unknown provider is a clear error."""
    provider, _, model = spec.partition(":")
    if not provider:
        raise ConfigError(f"{spec!r} names no provider: write provider:model, e.g. openai:gpt-5.5.")
    provider_class(provider)  # raises with the known names
    return Target(provider, model or None)


class Aliases:
    """Short names for models, this session only: `%llmos alias fast openai:gpt-5.4-mini`."""

    def __init__(self, reserved: tuple[str, ...] = ()):
        self._table: dict[str, Target] = {}
        self._reserved = reserved  # subcommand names: an alias of that name could never be used

    def add(self, name: str, spec: str, base_url: str | None = None, api_key_name: str | None = None) -> Target:
        if not _NAME.fullmatch(name):
            raise ConfigError(f"Alias {name!r} is not a name: use letters, digits, '_' or '-', starting with a "
                              "letter, e.g. %llmos alias fast openai:gpt-5.4-mini.")
        if name in available() or name in ("auto", *self._reserved):
            raise ConfigError(f"{name!r} is already a provider or a %llmos command; choose another alias name.")
        if ":" not in spec:
            raise ConfigError(f"An alias points at provider:model, e.g. openai:gpt-5.4-mini, not {spec!r}.")
        target = split_spec(spec)
        if target.model is None:
            raise ConfigError(f"{spec!r} names no model after the colon, e.g. openai:gpt-5.4-mini.")
        if base_url is not None and not _URL.fullmatch(base_url):
            raise ConfigError(f"--base-url {base_url!r} is not an http(s) URL, e.g. http://localhost:8000/v1.")
        if api_key_name is not None and not _KEY_NAME.fullmatch(api_key_name):
            raise ConfigError(f"--api-key-name takes the name of an environment variable (e.g. MY_OPENAI_KEY), "
                              f"not {api_key_name!r}: the key itself never goes on the magic's line.")
        if target.provider == "local" and (base_url or api_key_name):
            raise ConfigError("The local model takes no --base-url or --api-key-name; serve it over HTTP and "
                              "alias it as openai:MODEL --base-url URL instead.")
        self._table[name] = t = Target(target.provider, target.model, base_url, api_key_name)
        return t

    def remove(self, name: str) -> None:
        if name not in self._table:
            known = ", ".join(sorted(self._table)) or "none yet"
            raise ConfigError(f"There is no alias {name!r} (aliases: {known}).")
        del self._table[name]

    def items(self) -> list[tuple[str, Target]]:
        return sorted(self._table.items())

    def resolve(self, model_id: str | None, provider: str | None, model: str | None) -> Target:
        """The cell's model: the positional alias or provider:model, else --provider/--model; both at once is
        an error, since one would silently lose."""
        if model_id is None:
            return Target(provider, model)
        if provider is not None or model is not None:
            raise ConfigError(f"The cell names its model twice ({model_id} and --provider/--model): keep one.")
        if model_id in self._table:
            return self._table[model_id]
        if ":" not in model_id and model_id not in available() and model_id != "auto":
            known = ", ".join(sorted(self._table)) or "none yet"
            raise ConfigError(f"{model_id!r} is neither provider:model (e.g. openai:gpt-5.5) nor an alias "
                              f"(aliases: {known}). Make one with %llmos alias {model_id} provider:model.")
        return split_spec(model_id)
