"""The consensus pipeline: from a question and several providers to one weighed answer.

run_consensus asks every provider once, in parallel (one slow model must not hold up the others), bills
each call to the ledger, embeds the answers, estimates the causal graph between them (series.py,
transfer_entropy.py), finds the ground state (hamiltonian.py), refines it (active_inference.py), optionally
scores the answers with the quantum reservoir and releases a private centroid (privacy.py), and takes the
top-weighted answer or has one more model write the consensus from the weighted answers (by default the
model whose answer weighs most: synthesize_with="top").

When most answers carry a program and a runner is given, the answers are judged by what their programs compute
instead: each program runs apart in the sandboxed worker (programs.py), the distances come from what they
produced (behaviour.py: total variation between counts, 1 - fidelity between states, operator equivalence,
equal values; text embeddings only between prose answers), a program that fails is left out and named, and
the top-weighted program is the answer (the caller runs it where the user works; no synthesis unless asked).

Events, all under the run's request id: ConsensusAnswer for each model asked, CausalGraph, the engine's
ConsensusStep and ConsensusDone, and ConsensusFinished last.
"""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ..errors import ConfigError, LLMOSError
from ..events import ConsensusAnswer, ConsensusFinished, Event, EventBus
from ..ledger import Billed, Ledger, Usage
from ..prices import PriceTable
from ..providers import Message, Provider, make_provider
from .active_inference import refine
from .hamiltonian import ConsensusEngine
from .privacy import PrivateAggregator
from .result import ConsensusResult
from .series import text_series
from .specs import parse_specs
from .transfer_entropy import causal_graph

ANSWER_SYSTEM = "You are an expert in quantum computing. Answer the question accurately and concisely."
SYNTHESIS_SYSTEM = (
    "You combine several models' answers to one question into a single answer. Each answer comes with a "
    "consensus weight: how strongly the ensemble agrees with it. Keep what the heavily weighted answers agree "
    "on, drop claims only lightly weighted answers make, and do not mention the models or the weights."
)


class ConsensusError(LLMOSError):
    """No answer came back, so there is nothing to weigh."""


@dataclass(frozen=True)
class ConsensusOptions:
    """What a caller chooses for one run: the keyword options of LLMOS.consensus(prompt, providers, **options)."""

    system: str = ANSWER_SYSTEM  # the system prompt every model answers under
    max_tokens: int = 1024  # per answer, and for the synthesis
    # Per answer label ("provider:model") or provider name (1 when absent), or one per provider asked for.
    priors: Mapping[str, float] | tuple[float, ...] | None = None
    # Who writes the consensus answer from the weighted answers: "top" (the model whose answer weighs most), a
    # Provider or "name[:model]" spec (e.g. "local"), or None (the top-weighted answer stands as it is). For
    # program answers "top" keeps the top-weighted program: a rewritten one would not have been run and compared.
    synthesize_with: Any = "top"
    programs: bool = True  # judge program answers by what they compute (needs a runner)
    target_entropy: float = 0.1  # of the refined belief (active_inference.py)
    causal: bool = True  # estimate the causal graph and discount answers that echo another
    privacy: PrivateAggregator | None = None  # release its noisy mean embedding, charged to its accountant
    reservoir: bool = False  # also score the answers with the quantum reservoir (reservoir.py)

    def __post_init__(self) -> None:
        # Copies: a caller's dict or list changed later must not change options already taken.
        if isinstance(self.priors, Mapping):
            object.__setattr__(self, "priors", MappingProxyType(dict(self.priors)))
        elif self.priors is not None:
            object.__setattr__(self, "priors", tuple(self.priors))

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> ConsensusOptions:
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigError(f"Unknown consensus option(s): {', '.join(unknown)}. Known: {', '.join(known)}.")
        return cls(**options)


@dataclass(frozen=True)
class RunContext:
    """Where one run's model calls and events go."""

    request_id: str
    ledger: Ledger | None
    events: EventBus | None
    pricing: PriceTable
    provider_options: Mapping[str, Any]  # for providers made here from specs (timeout, max_retries, ...)

    def make_provider(self, name: str, model: str | None) -> Provider:
        return make_provider(name, model, **self.provider_options)

    def bill(self, provider: Provider, usage: Usage) -> Billed:
        """Record one call in the ledger; returns its usage and cost for ConsensusResult.tokens."""
        cost = self.pricing.cost(provider.name, provider.model, usage)
        if self.ledger is not None:
            self.ledger.record_call(self.request_id, provider.name, provider.model, usage, cost_usd=cost)
        return Billed(usage, cost)

    def publish(self, event: Event) -> None:
        if self.events is not None:
            self.events.publish(event)


@dataclass(frozen=True)
class Answer:
    label: str  # "provider:model", "#2" etc. appended when one model is asked twice
    text: str


@dataclass(frozen=True)
class Asked:
    """What came back from asking every provider once."""

    labels: tuple[str, ...]  # every provider asked for, in order, answered or not (list priors align with these)
    answers: tuple[Answer, ...] = ()  # the non-empty ones, in the order asked
    failures: tuple[dict[str, Any], ...] = ()  # {model, kind, message}
    tokens: Mapping[str, Billed] = field(default_factory=dict)  # label -> what its call billed
    latency_ms: Mapping[str, float] = field(default_factory=dict)
    providers: Mapping[str, Provider] = field(default_factory=dict)  # label -> the provider that answered


@dataclass(frozen=True)
class Synthesis:
    """The synthesis call's outcome: its text, or the failure that leaves the top-weighted answer standing."""

    label: str  # "synthesis:provider:model"
    text: str | None = None
    tokens: Billed | None = None  # when the call came back (and was billed)
    failure: dict[str, Any] | None = None


def run_consensus(prompt: str, providers: Sequence[Any] | str, *, ledger: Ledger | None = None,
                  events: EventBus | None = None, request_id: str | None = None, embedder: Any = None,
                  prices: Mapping[str, tuple[float, float]] | None = None,
                  provider_options: Mapping[str, Any] | None = None, engine: ConsensusEngine | None = None,
                  runner: Any = None, **options: Any) -> ConsensusResult:
    """Ask every provider in parallel, weigh the answers, and return a ConsensusResult.

    providers: Provider objects, "name[:model]" specs, (name, model) pairs, or one comma-separated string.
    A provider that cannot be made or fails to answer is left out and listed in `failures`; the run fails
    (ConsensusError) only when no answer comes back. ledger: each billed call is recorded under request_id
    (a fresh one when None). events: the bus for this run's events (else the engine's). embedder: an
    Embedder (memory/embed.py), made here when None. prices: overrides of the price table. provider_options:
    passed to the providers made here from specs. engine: the ConsensusEngine that weighs (its seed also
    seeds the causal graph and the reservoir); ConsensusEngine(device="auto", seed=0) when None.
    runner: where program answers run to be compared (a WorkerRunner: each in its own session); without
    one, every answer is judged by its text. options: the fields of ConsensusOptions.
    """
    opts = ConsensusOptions.of(options)
    engine = engine if engine is not None else ConsensusEngine(device="auto", seed=0)
    run = RunContext(request_id=request_id or uuid.uuid4().hex, ledger=ledger,
                     events=events if events is not None else engine.events, pricing=PriceTable(prices),
                     provider_options=MappingProxyType(dict(provider_options or {})))
    clock = _Stopwatch()
    with clock.stage("query"):
        asked = _ask_all(prompt, providers, opts, run)
    if not asked.answers:
        detail = "; ".join(f"{f['model']}: {f['message']}" for f in asked.failures) or "no providers were given"
        raise ConsensusError(f"No model answered, so there is no consensus. {detail}")

    from ..tools.extract import code_from_text

    codes = [code_from_text(a.text) for a in asked.answers]
    judged = None
    answers, failures = asked.answers, asked.failures
    if runner is not None and opts.programs and 2 * sum(c is not None for c in codes) > len(codes):
        with clock.stage("programs"):
            judged = _judge_programs(asked, codes, runner, run.request_id, embedder)
        embedder, answers, failures = judged.embedder, judged.answers, failures + judged.failures
    labels = [a.label for a in answers]
    texts = [a.text for a in answers]

    if embedder is None:
        from ..memory.embed import Embedder  # the memory package pulls in the trace store: only when needed

        embedder = Embedder()
    E = None
    if judged is None or opts.reservoir or opts.privacy is not None:
        with clock.stage("embed"):
            E = embedder.encode(texts).astype(np.float64)
    graph = None
    if judged is None and opts.causal and len(texts) >= 2:
        # Transfer entropy reads how texts unfold; programs are related by what they compute instead.
        with clock.stage("causal"):
            graph = causal_graph(text_series(texts, embedder), seed=engine.seed, labels=labels)
        run.publish(graph.to_event(run.request_id))
    with clock.stage("weigh"):
        source = dict(embeddings=E) if judged is None else dict(distances=judged.distances)
        ground = engine.weigh(**source, priors=_prior_vector(opts.priors, asked.labels, labels),
                              causal=None if graph is None else graph.effective, events=run.events,
                              request_id=run.request_id)
    ground.causal_pvalues = None if graph is None else graph.pvalues
    with clock.stage("refine"):
        refinement = refine(ground.weights, ground.local_energies, target_entropy=opts.target_entropy)
    reservoir_weights = None
    if opts.reservoir:
        with clock.stage("reservoir"):
            from .reservoir import QuantumReservoir  # qiskit loads only for a run that asks for it

            reservoir_weights = QuantumReservoir(seed=engine.seed).weights(E)
    private = opts.privacy.aggregate(E) if opts.privacy is not None else None

    top = int(np.argmax(ground.weights))
    answer, source_label = texts[top], labels[top]
    program = None if judged is None or judged.runs[top] is None else judged.runs[top].code
    synthesizer = opts.synthesize_with
    if synthesizer == "top":
        # The model whose answer weighs most writes the consensus; for programs the top program stands.
        synthesizer = asked.providers.get(labels[top]) if judged is None and len(texts) > 1 else None
    tokens = dict(asked.tokens)
    if synthesizer is not None:
        with clock.stage("synthesize"):
            synthesis = _synthesize(synthesizer, prompt, answers, ground.weights, opts.max_tokens, run)
        if synthesis.tokens is not None:
            tokens[synthesis.label] = synthesis.tokens
        if synthesis.text is None:
            failures = failures + (synthesis.failure,)
        else:
            answer, source_label = synthesis.text, synthesis.label

    run.publish(ConsensusFinished(answer_source=source_label, models=tuple(labels),
                                  weights=tuple(ground.weights.tolist()),
                                  failures=tuple(f["model"] for f in failures), request_id=run.request_id,
                                  histograms=() if judged is None else tuple(_likeliest(r) for r in judged.runs)))
    return ConsensusResult(prompt=prompt, models=labels, texts=texts, weights=ground.weights, ground=ground,
                           refinement=refinement, graph=graph, answer=answer, answer_source=source_label,
                           failures=list(failures), tokens=tokens, latency_ms=dict(asked.latency_ms),
                           timings_ms=clock.ms, reservoir_weights=reservoir_weights, private=private,
                           request_id=run.request_id, program=program,
                           programs=None if judged is None else judged.runs,
                           basis=None if judged is None else judged.basis,
                           distances=None if judged is None else judged.distances)


@dataclass(frozen=True)
class Judged:
    """Program answers after running them: the answers kept, their runs (aligned), their distances, and a
    failure for each answer left out because its program failed."""

    answers: tuple[Answer, ...]
    failures: tuple[dict[str, Any], ...]
    runs: list[Any]  # programs.ProgramRun, or None for a prose answer
    distances: np.ndarray
    basis: list[str]
    embedder: Any


def _likeliest(run: Any, keep: int = 8) -> dict[str, float] | None:
    """A program's histogram for the dashboard: its likeliest outcomes (None for prose or no distribution)."""
    hist = None if run is None else run.behaviour.histogram()
    if not hist:
        return None
    total = sum(hist.values()) or 1.0
    top = sorted(hist.items(), key=lambda kv: -kv[1])[:keep]
    return {k: round(v / total, 6) for k, v in sorted(top)}


def _judge_programs(asked: Asked, codes: list[str | None], runner: Any, request_id: str, embedder: Any) -> Judged:
    """Run every program apart, leave out (and name) those that fail, and measure the rest by behaviour."""
    from .behaviour import distance_matrix
    from .programs import run_apart

    with_code = [(a.label, c) for a, c in zip(asked.answers, codes) if c is not None]
    runs = {r.label: r for r in run_apart(with_code, runner, run_id=request_id[:12])}
    kept, kept_runs, kept_codes, failed = [], [], [], []
    for a, c in zip(asked.answers, codes):
        r = runs.get(a.label)
        if r is not None and not r.ok:
            failed.append({"model": a.label, "kind": "program", "message": f"{a.label}: {r.problem()}"})
            continue
        kept.append(a)
        kept_runs.append(r)
        kept_codes.append(c)
    if not kept:
        detail = "; ".join(f["message"] for f in (*asked.failures, *failed))
        raise ConsensusError(f"Every model's program failed, so there is nothing to weigh. {detail}")
    behaviours = [None if r is None else r.behaviour for r in kept_runs]
    if sum(b is None for b in behaviours) > 1 and embedder is None:
        from ..memory.embed import Embedder

        embedder = Embedder()
    D, basis = distance_matrix(behaviours, [a.text for a in kept], embedder, kept_codes)
    return Judged(tuple(kept), tuple(failed), kept_runs, D, basis, embedder)


def _ask_all(prompt: str, providers: Sequence[Any] | str, opts: ConsensusOptions, run: RunContext) -> Asked:
    entries, failures = _make_providers(providers, run)
    labels = tuple(label for label, _ in entries)
    made = [(label, provider) for label, provider in entries if provider is not None]
    if not made:
        return Asked(labels=labels, failures=tuple(failures))

    def ask(item):
        label, provider = item
        t0 = time.perf_counter()
        try:
            completion = provider.complete(opts.system, [Message("user", prompt)], max_tokens=opts.max_tokens)
        except Exception as exc:  # noqa: BLE001 - one provider failing must not sink the others
            return label, provider, None, exc, time.perf_counter() - t0
        return label, provider, completion, None, time.perf_counter() - t0

    with ThreadPoolExecutor(max_workers=len(made), thread_name_prefix="consensus") as pool:
        outcomes = list(pool.map(ask, made))
    # Billed and published here, in the order asked, so the ledger and the events do not depend on who was faster.
    answers, tokens, latency_ms, answered = [], {}, {}, {}
    for label, provider, completion, exc, seconds in outcomes:
        latency_ms[label] = round(seconds * 1000, 1)
        ok = exc is None and bool(completion.text.strip())
        if exc is not None:
            failures.append(_failure(label, exc))
        else:
            tokens[label] = run.bill(provider, completion.usage)
            if ok:
                answers.append(Answer(label, completion.text))
                answered[label] = provider
            else:
                failures.append(_empty(label, "answer"))
        run.publish(ConsensusAnswer(model=label, ok=ok, seconds=round(seconds, 3), request_id=run.request_id))
    return Asked(labels, tuple(answers), tuple(failures), tokens, latency_ms, answered)


def _make_providers(providers: Sequence[Any] | str, run: RunContext) -> tuple[list[tuple[str, Provider | None]],
                                                                              list[dict[str, Any]]]:
    """(label, Provider or None) for every provider asked for, in order; the ones that could not be made
    (e.g. no API key) have None and a failure entry."""
    items = parse_specs(providers) if isinstance(providers, str) else list(providers)
    entries, failures, seen = [], [], {}
    for item in items:
        provider = item if isinstance(item, Provider) else None
        if provider is None:
            name, model = parse_specs(item)[0] if isinstance(item, str) else tuple(item)
            try:
                provider = run.make_provider(name, model)
            except Exception as exc:  # noqa: BLE001 - e.g. a missing API key: left out, shown
                label = f"{name}:{model}" if model else name
                failures.append(_failure(label, exc))
                entries.append((label, None))
                continue
        label = f"{provider.name}:{provider.model}"
        seen[label] = seen.get(label, 0) + 1
        entries.append((label if seen[label] == 1 else f"{label}#{seen[label]}", provider))
    return entries, failures


def _synthesize(synthesizer: Any, prompt: str, answers: Sequence[Answer], weights: np.ndarray, max_tokens: int,
                run: RunContext) -> Synthesis:
    """One LLM call that writes the consensus from the answers, heaviest first, each with its weight."""
    if isinstance(synthesizer, Provider):
        label = f"synthesis:{synthesizer.name}:{synthesizer.model}"
    else:
        name, model = parse_specs(synthesizer)[0] if isinstance(synthesizer, str) else tuple(synthesizer)
        label = f"synthesis:{name}:{model}" if model else f"synthesis:{name}"
    order = np.argsort(-np.asarray(weights), kind="stable")
    body = "\n\n".join(f"Answer {k + 1} (consensus weight {weights[i]:.3f}):\n{answers[i].text}"
                       for k, i in enumerate(order))
    try:
        if not isinstance(synthesizer, Provider):
            synthesizer = run.make_provider(name, model)
            label = f"synthesis:{synthesizer.name}:{synthesizer.model}"
        completion = synthesizer.complete(SYNTHESIS_SYSTEM, [Message("user", f"Question: {prompt}\n\n{body}")],
                                          max_tokens=max_tokens)
    except Exception as exc:  # noqa: BLE001 - the top-weighted answer stands, and the failure is listed
        return Synthesis(label, failure=_failure(label, exc))
    tokens = run.bill(synthesizer, completion.usage)
    if not completion.text.strip():
        return Synthesis(label, tokens=tokens, failure=_empty(label, "synthesis"))
    return Synthesis(label, text=completion.text, tokens=tokens)


def _failure(label: str, exc: BaseException) -> dict[str, Any]:
    kind = getattr(exc, "kind", None) or ("config" if isinstance(exc, ConfigError) else type(exc).__name__)
    message = str(exc) if isinstance(exc, LLMOSError) else f"{type(exc).__name__}: {exc}"
    return {"model": label, "kind": kind, "message": message}


def _empty(label: str, what: str) -> dict[str, Any]:
    return {"model": label, "kind": "empty", "message": f"{label} returned an empty {what}."}


def _prior_vector(priors: Mapping[str, float] | Sequence[float] | None, asked: Sequence[str],
                  labels: Sequence[str]) -> np.ndarray | None:
    """Priors for the answers that came back: from a mapping (by "provider:model" label or provider name;
    1 when absent) or a sequence aligned with the providers asked for."""
    if priors is None:
        return None
    if isinstance(priors, Mapping):
        return np.array([float(priors.get(lab, priors.get(lab.split(":")[0], 1.0))) for lab in labels])
    if len(priors) != len(asked):
        raise ConfigError(f"priors has {len(priors)} entries for {len(asked)} providers.")
    by_label = dict(zip(asked, priors))
    return np.array([float(by_label[lab]) for lab in labels])


class _Stopwatch:
    """Milliseconds per stage, for ConsensusResult.timings_ms."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = (time.perf_counter() - t0) * 1000
