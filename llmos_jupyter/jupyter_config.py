"""Settings in the Jupyter way: `%config LLMOS.provider = 'openai'`, or `c.LLMOS.provider` in
ipython_config.py. The class is named LLMOS because %config finds configurables by class name."""
from __future__ import annotations

from traitlets import Bool, Dict, Float, Int, Unicode
from traitlets.config import Configurable


class LLMOS(Configurable):
    provider = Unicode("auto", help="auto, anthropic, openai, local, or an entry-point provider.").tag(config=True)
    model = Unicode(None, allow_none=True, help="Model name; None for the provider's default.").tag(config=True)
    base_url = Unicode(None, allow_none=True, help="API base URL (e.g. a local OpenAI-compatible server).").tag(
        config=True)
    home = Unicode(".llmos", help="Folder where the token ledger and memory persist.").tag(config=True)
    starter_skills = Bool(True, help="Start with verified skills for common circuits.").tag(config=True)
    max_tokens = Int(2048, help="Most output tokens per model call.").tag(config=True)
    timeout = Float(60.0, help="Seconds to wait for a provider before giving up.").tag(config=True)
    max_retries = Int(2, help="SDK retries (with backoff) on 429, 5xx and connection errors.").tag(config=True)
    stream = Bool(True, help="Show the model's reply as it arrives.").tag(config=True)
    follower_threshold = Float(0.92, help="Similarity at or above which a verified trace is replayed.").tag(
        config=True)
    mixed_threshold = Float(0.75, help="Similarity at or above which the nearest trace guides the LLM.").tag(
        config=True)
    crystallize_uses = Int(5, help="Verified uses before a trace becomes a Python tool.").tag(config=True)
    tiers = Dict({}, help="Model tiers, e.g. {'T1': 'openai:gpt-5.4-mini', 'T2': 'anthropic:claude-sonnet-5-5'}: "
                 "MIXED uses T1, LEARNER T2, one tier down when energy is low.").tag(config=True)
    prices = Dict({}, help="Extra prices, model prefix -> (input, output) USD per million tokens.").tag(config=True)

    def engine_options(self) -> dict:
        return {name: getattr(self, name) for name in self.trait_names(config=True)}
