"""LLMOS: the engine behind %%llmos, the Python API and the CLI. No Jupyter imports here."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .dispatch.dispatcher import Dispatcher
from .dispatch.modes import Mode
from .errors import ConfigError, LLMOSError
from .events import EventBus
from .ledger import Ledger, Usage
from .prompts import LEARNER_SYSTEM
from .providers import Message, Provider, make_provider, resolve_auto
from .sentience import Sentience
from .store import Store
from .tools.extract import EXECUTE_TOOL, code_from_completion

DEFAULT_SHOTS = 1024


@dataclass
class Tokens:
    input: int = 0
    output: int = 0
    saved: int = 0
    cumulative_saved: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reported: bool = True  # False if a provider sent no usage figures for some call

    def to_dict(self) -> dict[str, int]:
        return {"input": self.input, "output": self.output, "saved": self.saved,
                "cumulative_saved": self.cumulative_saved}


@dataclass
class Result:
    request: str
    mode: Mode
    tokens: Tokens
    response: str = ""
    code: str | None = None
    output: str = ""
    error: str | None = None
    counts: dict[str, int] | None = None
    shots: int | None = None
    provider: str | None = None
    model: str | None = None
    agent: str = "quantum-architect"
    ptc_used: bool = False
    executed: bool = False
    notice: str | None = None
    why: dict[str, Any] = field(default_factory=dict)
    sentience: dict[str, Any] = field(default_factory=dict)
    execution_time_ms: float = 0.0
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        tokens = self.tokens.to_dict()
        tokens.update(cache_read=self.tokens.cache_read, cache_write=self.tokens.cache_write)
        return {
            "response": self.response,
            "output": self.output,
            "metadata": {
                "agent": self.agent,
                "mode": str(self.mode),
                "tokens": tokens,
                "ptc_used": self.ptc_used,
                "execution_time_ms": round(self.execution_time_ms, 1),
                "sentience": self.sentience,
                "provider": self.provider,
                "model": self.model,
                "code": self.code,
                "counts": self.counts,
                "shots": self.shots,
                "error": self.error,
                "notice": self.notice,
                "why": self.why,
                "request_id": self.request_id,
            },
        }


class LLMOS:
    """Answer quantum-programming requests: choose a mode, ask a model if needed, run the code on Aer,
    and count every token."""

    def __init__(self, home: str | Path = ".llmos", provider: str = "auto", model: str | None = None,
                 base_url: str | None = None, api_key: str | None = None, starter_skills: bool = True, *,
                 namespace: dict[str, Any] | None = None, max_tokens: int = 2048, timeout: float = 60.0,
                 max_retries: int = 2, stream: bool = True):
        self.home = Path(home).expanduser()
        self.provider_name = provider
        self.model = model
        self.base_url = base_url
        self._api_key = api_key  # kept in memory only: never stored, logged or exported
        self.starter_skills = starter_skills
        self.namespace = namespace if namespace is not None else {}
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.stream = stream
        self.events = EventBus()
        self.store = Store(self.home)
        self.ledger = Ledger(self.store)
        self.dispatcher = Dispatcher()
        self.sentience = Sentience()
        self._providers: dict[tuple, Provider] = {}

    def __repr__(self) -> str:
        return f"LLMOS(home={str(self.home)!r}, provider={self.provider_name!r}, model={self.model!r})"

    # -- providers -------------------------------------------------------------------------------
    def provider(self, name: str | None = None, model: str | None = None) -> Provider:
        """The provider for a run; created on first use and kept (the local model loads once)."""
        configured = name in (None, self.provider_name)
        chosen = resolve_auto(name or self.provider_name)
        # The configured model, base URL and key belong to the configured provider only.
        model = model or (self.model if configured else None)
        base_url, api_key = (self.base_url, self._api_key) if configured else (None, None)
        key = (chosen, model, base_url)
        if key not in self._providers:
            options = {"timeout": self.timeout, "max_retries": self.max_retries}
            if chosen != "local":
                options.update(base_url=base_url, api_key=api_key)
            self._providers[key] = make_provider(chosen, model, **options)
        return self._providers[key]

    # -- running ---------------------------------------------------------------------------------
    def run(self, text: str, *, provider: str | None = None, model: str | None = None, execute: bool = True,
            namespace: dict[str, Any] | None = None, on_text: Callable[[str], None] | None = None) -> Result:
        """Answer one request. Provider and configuration failures raise LLMOSError; a program that raises
        comes back as `Result.error` with its traceback."""
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("The request is empty. Write what you want, e.g. 'Create a Bell state circuit'.")
        request = text.strip()
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        self.events.publish("request.start", request_id=request_id, request=request)

        decision = self.dispatcher.choose(request)
        self.events.publish("mode", request_id=request_id, mode=str(decision.mode), why=decision.why)
        result = Result(request=request, mode=decision.mode, tokens=Tokens(), why=dict(decision.why),
                        request_id=request_id, sentience=self.sentience.snapshot())
        try:
            self._learner(result, provider, model, on_text)
            if result.code and execute:
                self._execute(result, namespace if namespace is not None else self.namespace)
            elif result.code:
                result.notice = "Not run (--no-exec)."
        except LLMOSError as exc:
            result.error = str(exc)
            self._close(result, started)
            raise
        except BaseException:
            result.error = "interrupted"
            self._close(result, started)
            raise
        self._close(result, started)
        return result

    def _learner(self, result: Result, provider: str | None, model: str | None,
                 on_text: Callable[[str], None] | None) -> None:
        llm = self.provider(provider, model)
        result.provider, result.model = llm.name, llm.model

        def stream(piece: str) -> None:
            self.events.publish("llm.text", request_id=result.request_id, text=piece)
            if on_text is not None:
                on_text(piece)

        completion = llm.complete(
            LEARNER_SYSTEM,
            [Message("user", result.request)],  # the request reaches the model verbatim, last
            tools=[EXECUTE_TOOL] if llm.name != "local" else None,
            max_tokens=self.max_tokens,
            on_text=stream if (self.stream or on_text is not None) else None,
        )
        self.ledger.record_call(result.request_id, completion.provider, completion.model, completion.usage)
        self._add_usage(result, completion.usage)
        result.model = completion.model
        self.events.publish("llm.call", request_id=result.request_id, provider=completion.provider,
                            model=completion.model, input=completion.usage.input, output=completion.usage.output)
        result.response = completion.text
        result.code, _from_tool = code_from_completion(completion)
        if result.code is None:
            result.notice = ("The reply holds no Python code, so nothing ran. "
                             "If you wanted a program, ask for one explicitly (e.g. 'Write Qiskit code that ...').")

    @staticmethod
    def _add_usage(result: Result, usage: Usage) -> None:
        t = result.tokens
        t.input += usage.input
        t.output += usage.output
        t.cache_read += usage.cache_read
        t.cache_write += usage.cache_write
        t.reported = t.reported and usage.reported

    def _execute(self, result: Result, namespace: dict[str, Any]) -> None:
        from .tools.qiskit_exec import run_code  # imports qiskit-aer on first use

        self.events.publish("execution.start", request_id=result.request_id)
        execution = run_code(result.code, namespace)
        result.executed = True
        result.output = execution.output
        result.error = execution.error
        result.counts = execution.counts
        result.shots = execution.shots
        self.events.publish("execution", request_id=result.request_id, output=execution.output,
                            error=execution.error, counts=execution.counts)

    def _close(self, result: Result, started: float) -> None:
        result.execution_time_ms = (time.perf_counter() - started) * 1000
        self.ledger.record_request(result.request_id, result.request, str(result.mode), result.provider,
                                   result.model, result.tokens.saved, result.error is None,
                                   result.execution_time_ms)
        result.tokens.cumulative_saved = self.ledger.cumulative_saved()
        self.events.publish("tokens", request_id=result.request_id, **result.tokens.to_dict())
        self.events.publish("request.end", request_id=result.request_id, result=result.to_dict())

    # -- introspection ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What `%llmos status` and `llmos status` show. Creating the provider is cheap; the local
        model itself loads on first request."""
        totals = self.ledger.totals()
        info: dict[str, Any] = {"home": str(self.home), "store": str(self.store.path),
                                "provider_setting": self.provider_name, "provider": resolve_auto(self.provider_name)}
        try:
            info.update(self.provider().describe())
        except LLMOSError as exc:
            info["provider_error"] = str(exc)
        info["ledger"] = {"requests": totals.requests, "input": totals.input, "output": totals.output,
                          "cache_read": totals.cache_read, "cache_write": totals.cache_write,
                          "saved": totals.saved}
        info["sentience"] = self.sentience.snapshot()
        return info

    def reset(self, *, ledger: bool = False) -> None:
        """Forget the providers made so far (so new settings take effect); with ledger=True also clear
        the token ledger in home."""
        self._providers.clear()
        if ledger:
            self.ledger.clear()

    def close(self) -> None:
        self.store.close()
