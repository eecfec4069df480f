"""Every default, in one place. `LLMOS(...)`, the traitlets `Configurable` behind `%config LLMOS.*`
and the `llmos` CLI all read `Settings`; none of them writes a default of its own."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ConfigError


DEFAULT_SHOTS = 1024  # shots when a request names none: what the prompts, skills and checks all assume


@dataclass(frozen=True)
class FinetuneDefaults:
    """What `%llmos finetune`, `llmos finetune` and `LLMOS.finetune` train when not told otherwise."""
    name: str = "qiskit-t0"  # the adapter, saved under home/adapters/<name>/
    steps: int = 300  # on 200 examples, 300 steps passed 15 of 20 held-out variations where 80 passed 1
    base: str = "local"  # the embedded SmolLM2-135M
    evaluate: int = 8  # held-out variations the adapter is tested on


FINETUNE = FinetuneDefaults()


def _setting(default: Any, help: str, **kwargs: Any) -> Any:
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass(frozen=True)
class Settings:
    """LLMOS's settings; each field's help says what it does (`Settings.help(name)`)."""

    home: str = _setting(".llmos", "Folder where the token ledger and memory persist.")
    provider: str = _setting("auto", "auto, anthropic, openai, local, or an entry-point provider.")
    model: str | None = _setting(None, "Model name; None for the provider's default.")
    base_url: str | None = _setting(None, "API base URL (e.g. a local OpenAI-compatible server).")
    starter_skills: bool = _setting(True, "Start with verified skills for common circuits.")
    max_tokens: int = _setting(2048, "Most output tokens per model call (a cell's --max-tokens overrides it).")
    temperature: float | None = _setting(None, "Sampling temperature for model calls; None for the model's own "
                                         "default (a cell's --temperature overrides it).")
    model_parameters: dict[str, Any] = _setting({}, "Other parameters sent with every model call as the vendor "
                                                "names them, e.g. {'top_p': 0.9} (a cell's -m JSON adds to them).")
    timeout: float = _setting(60.0, "Seconds to wait for a provider before giving up.")
    max_retries: int = _setting(2, "SDK retries (with backoff) on 429, 5xx and connection errors.")
    tool_steps: int = _setting(5, "Most calls of your own functions ({&fn} in a request) the model may make in one "
                               "request; past it, calls are refused and the model must answer.")
    stream: bool = _setting(True, "Show the model's reply as it arrives.")
    follower_threshold: float = _setting(0.92, "Similarity at or above which a verified trace is replayed.")
    mixed_threshold: float = _setting(0.75, "Similarity at or above which the nearest trace guides the LLM.")
    reworded_margin: float = _setting(0.12, "How far below follower_threshold a request still replays when one "
                                      "verified request says the same content words in the same order (only "
                                      "filler and slot values differ); 0 turns this off.")
    crystallize_uses: int = _setting(5, "Verified uses before a trace becomes a Python tool.")
    tiers: dict[str, str] = _setting({}, "Model tiers, e.g. {'T1': 'openai:gpt-5.4-mini', 'T2': "
                                     "'anthropic:claude-sonnet-5-5'}: MIXED uses T1, LEARNER T2, one tier "
                                     "down when energy is low.")
    prices: dict[str, tuple[float, float]] = _setting({}, "Extra prices, model prefix -> (input, output) USD "
                                                      "per million tokens.")
    execution: str = _setting("worker", "Where model-written and replayed programs run: 'worker' (a sandboxed "
                              "process without your keys, network or write access to the home) or 'kernel' "
                              "(your kernel, as with --trust).")
    run_timeout: float = _setting(60.0, "Seconds a replayed program, a tool's check or a compared answer may run in "
                                  "the worker before it is stopped (the worker restarts). A cell's own new program "
                                  "has no bound: it runs until it finishes or you interrupt the kernel.")
    disk_mb: int = _setting(2048, "MiB that all the files programs write in the worker may take together (its "
                            "workdir and the outputs folder); past it, writes there are refused.")
    outputs: str = _setting("llmos-outputs", "Folder where programs in the worker may save files for you.")
    store: str | None = _setting(None, "Where traces, facts, the ledger and sentience state persist: None for "
                                 "home/llmos.db (SQLite, no server; the LLMOS_STORE environment variable, when set, "
                                 "is used instead), 'sqlite:///path/llmos.db', or a team's "
                                 "'postgresql://user@host/db' (needs the pgvector extension).")
    store_timeout: float = _setting(10.0, "Seconds to wait for a team store (connecting, one statement, a row "
                                    "another kernel holds) before a clear error; a cell never hangs on it.")
    member: str | None = _setting(None, "Who this kernel is in a team store: billed in the ledger, recorded as "
                                  "the verifier of what it learns. None: your login name.")
    read_only: bool = _setting(False, "A read-only member replays the store's verified memory but adds, counts "
                               "and forgets nothing in it (its own requests are still billed in the ledger).")

    def __post_init__(self) -> None:
        if self.execution not in ("worker", "kernel"):
            raise ConfigError(f"LLMOS.execution is {self.execution!r}; use 'worker' (sandboxed, the default) or "
                              "'kernel' (runs model code in your kernel, beside your API keys).")
        if not (isinstance(self.disk_mb, int) and self.disk_mb > 0):
            raise ConfigError(f"LLMOS.disk_mb must be a positive number of MiB, not {self.disk_mb!r}.")
        if not self.store_timeout > 0:
            raise ConfigError(f"LLMOS.store_timeout must be a positive number of seconds, not {self.store_timeout!r}.")
        if not (isinstance(self.tool_steps, int) and self.tool_steps > 0):
            raise ConfigError(f"LLMOS.tool_steps must be a positive whole number, not {self.tool_steps!r}.")
        if not self.run_timeout > 0:
            raise ConfigError(f"LLMOS.run_timeout must be a positive number of seconds, not {self.run_timeout!r}.")

    def who(self) -> str:
        """The member this kernel records as: the setting, else the login name."""
        if self.member:
            return self.member
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):  # a container user with no passwd entry and no USER variable
            return "unknown"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def help(cls, name: str) -> str:
        return next(f.metadata["help"] for f in fields(cls) if f.name == name)

    @classmethod
    def default(cls, name: str) -> Any:
        return getattr(cls(), name)

    def with_(self, **changes: Any) -> "Settings":
        """A copy with `changes`; an unknown name is an error that lists the known ones."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise ConfigError(f"Unknown setting{'s' * (len(unknown) > 1)} {', '.join(unknown)}. "
                              f"Known: {', '.join(self.names())}.")
        return replace(self, **changes)
