"""Which model answers a call: the cell's choice, else the configured tier for the mode, else the configured
provider. Each provider is made once and kept (the local model loads once)."""
from __future__ import annotations

import os
from pathlib import Path

from ..modes import Mode
from ..errors import ConfigError
from ..prices import PriceTable
from ..providers import Provider, make_provider, provider_class, resolve_auto
from ..sentience import Sentience
from ..settings import Settings
from .stages import RunOptions


class Models:
    def __init__(self, settings: Settings, api_key: str | None, home: Path, sentience: Sentience, prices: PriceTable):
        self.settings = settings
        self.prices = prices
        self._api_key = api_key  # kept in memory only: never stored, logged or exported
        self.home = home
        self.sentience = sentience
        self._made: dict[tuple, Provider] = {}

    def provider(self, name: str | None = None, model: str | None = None, base_url: str | None = None,
                 api_key_name: str | None = None) -> Provider:
        """The provider `name` (the configured one when None) for `model`; `base_url`: a tier's or an alias's own
        server (e.g. vLLM serving an adapter); `api_key_name`: the environment variable with an alias's key."""
        s = self.settings
        configured = name in (None, s.provider)
        chosen = resolve_auto(name or s.provider)
        # The configured model, base URL and key belong to the configured provider only.
        model = model or (s.model if configured else None)
        base_url, api_key = (base_url or s.base_url, self._api_key) if configured else (base_url, None)
        if api_key_name is not None:
            api_key = os.environ.get(api_key_name)
            if not api_key:
                raise ConfigError(f"The alias for {chosen}:{model} reads its key from ${api_key_name}, which is not "
                                  f"set. Set it in the kernel's environment (os.environ[{api_key_name!r}] = ...) "
                                  "or make the alias again with another --api-key-name.")
        key = (chosen, model, base_url, api_key_name)
        if key not in self._made:
            options = {"timeout": s.timeout, "max_retries": s.max_retries}
            if chosen != "local":
                options.update(base_url=base_url, api_key=api_key)
            else:
                options["adapters"] = self.home / "adapters"  # local:<name> is an adapter fine-tuned here
            self._made[key] = make_provider(chosen, model, **options)
        return self._made[key]

    def choose(self, mode: Mode, options: RunOptions, terms: frozenset = frozenset(), variation: str | None = None,
               skip: frozenset = frozenset()) -> tuple[Provider, str | None, str | None]:
        """The model for this call, its tier and why: the cell's choice, else the tier for the mode when tiers
        are configured (finetune.routing: T0 for new values of families its adapter learned, T1 MIXED, T2
        LEARNER, T3 planning; `skip`: tiers already tried), else the configured provider."""
        tiers = self.settings.tiers
        if options.provider is None and options.model is None and tiers:
            from ..finetune import routing

            tier, why = routing.choose(tiers, mode, terms, self.sentience.policy().tier_shift, self.home,
                                       variation=variation, skip=skip)
            if tier is not None:
                spec = routing.parse(tier, tiers[tier])
                return self.provider(spec.provider, spec.model, spec.base_url), tier, why
            return self.provider(), None, why
        return self.provider(options.provider, options.model, options.base_url, options.api_key_name), None, None

    def saved_usd(self, saved: int) -> float | None:
        """Saved tokens priced as input to the configured model (a floor: output tokens cost more)."""
        if not saved:
            return 0.0
        name = resolve_auto(self.settings.provider)
        model = self.settings.model or getattr(provider_class(name), "default_model", "")
        price = self.prices.price(name, model)
        return None if price is None else saved * price.input / 1e6

    def forget_adapter(self, name: str) -> None:
        """A provider made for an adapter's earlier version holds its old card: the next call loads the new one."""
        self._made = {k: v for k, v in self._made.items() if k[:2] != ("local", name)}

    def clear(self) -> None:
        self._made.clear()
