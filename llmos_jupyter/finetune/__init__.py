"""Local models that learn from verified traces: a training set from the memory, AdaLoRA training, and an
adapter saved atomically under `home/adapters/<name>/` with a card saying what it learned and how well.

Nothing heavy is imported here; torch, transformers and peft load when a fine-tune starts.
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from ..settings import FINETUNE
from ..localmodel.adapters import AdapterError, check_name, read_card, save, training_lock
from .dataset import Example, as_served, guided, training_set, worked

__all__ = ["AdapterError", "finetune", "read_card", "split", "summary"]


def split(examples: list[Example], fraction: float, *, seed: int = 0,
          keep: frozenset[str] = frozenset()) -> tuple[list[Example], list[Example]]:
    """(train, held out): per trace, a share of its variations whose requests and programs training never
    sees; a trace with a single example is trained on whole. Programs in `keep` (the worked examples T0 is
    shown) are never held out: T0 would only have to copy them."""
    by_trace: dict[str, list[Example]] = {}
    for ex in examples:
        by_trace.setdefault(ex.trace_id, []).append(ex)
    rng = random.Random(seed)
    train, held = [], []
    for items in by_trace.values():
        items = items[:]
        rng.shuffle(items)
        items.sort(key=lambda e: e.program in keep)  # stable: the shuffled order otherwise
        k = int(len(items) * fraction) if len(items) > 1 else 0
        out = [e for e in items[:k] if e.program not in keep]
        seen = {e.program for e in out} | {e.request for e in out}
        held += out
        # A held-out request or program must not come back in training under another pairing.
        train += [e for e in items[k:] if e.program not in seen and e.request not in seen]
    return train, held


def finetune(home: Path, traces, *, name: str = FINETUNE.name, steps: int = FINETUNE.steps, base: str = FINETUNE.base,
             runner=None, evaluate: int = FINETUNE.evaluate, held_out: float = 0.1, options=None,
             progress: Callable[[int, int, float], None] | str | None = "bar") -> dict:
    """Train adapter `name` on the verified traces, evaluate it on up to `evaluate` held-out variations (with
    `runner`; none: the card says "not measured"), save it atomically and return its card."""
    from .train import Options, train, write_adapter

    check_name(name)
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"--steps must be a whole number of at least 1, not {steps!r}.")
    home = Path(home)
    with training_lock(home):
        traces = list(traces)
        examples, left_out = training_set(traces)
        if not examples:
            why = f" ({len(left_out)} left out: " + "; ".join(sorted(set(left_out.values()))) + ")" if left_out else ""
            raise ConfigError(f"There are no verified traces in {home} to learn from{why}. Run %%llmos cells whose "
                              "programs verify, or turn the starter skills on, then fine-tune again. Nothing was "
                              "written.")
        by_id = {t.id: t for t in traces}
        shown = frozenset(g[1] for t in traces if (g := worked(t)))
        train_set, held = split(examples, held_out if evaluate else 0.0, keep=shown)
        train_set, held = guided(train_set, by_id), as_served(held, by_id)
        o = options or Options()
        o.steps = steps
        bar, report = _progress(progress, steps)
        try:
            trained = train(train_set, base=base, options=o, progress=report)
        finally:
            if bar is not None:
                bar.close()
        card = _card(trained, train_set, traces, left_out)
        card["held_out"] = _held_out(trained, held[:evaluate], traces, runner)
        saved = save(home, name, lambda folder: write_adapter(trained, folder), card)
    return read_card(home, saved.name)


def summary(card: dict, name: str) -> str:
    """What a fine-tune made, in a few lines, and how to use it."""
    held = card.get("held_out") or {}
    rate = held.get("adapter_pass_rate")
    measured = (f"{held.get('passed', 0)} of {held['examples']} held-out variations pass their checks "
                f"({100 * rate:.0f} %)" if rate is not None else f"held-out pass rate {held.get('note', 'not measured')}")
    return (f"Adapter {name}: {card['examples']} examples from {len(card['trace_ids'])} traces, {card['steps']} steps "
            f"on {card['device']} in {card['seconds']:.0f} s, final loss {card['final_loss']:.3f}; {measured}.\n"
            f"Saved in {card.get('path', 'HOME/adapters/' + name)}. Serve it with "
            f"%config LLMOS.tiers = {{'T0': 'local:{name}'}} (requests of the families it learned go there)."
            + (_train_longer(card) if rate is not None and rate < 0.5 else ""))


def _train_longer(card: dict) -> str:
    # Measured (benchmarks/finetune.py, 200 examples): 80 steps passed 1 of 20 held-out variations, 300 steps 15.
    return (f"\nFew held-out variations pass, so T0 will mostly hand its requests on to the next tier (each "
            f"failed try costs a local call). Train longer: on 200 examples, 300 steps passed 15 of 20 where 80 "
            f"passed 1 (%llmos finetune --steps {max(300, 2 * card['steps'])}).")


def _progress(progress, steps: int):
    if progress != "bar":
        return None, progress
    from tqdm.auto import tqdm

    bar = tqdm(total=steps, desc="fine-tuning", unit="step")

    def report(step: int, total: int, loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}")

    return bar, report


def _card(trained, examples: list[Example], traces, left_out: dict[str, str]) -> dict:
    import peft
    import torch
    import transformers

    losses = trained.losses
    stride = max(1, len(losses) // 100)  # the curve, at most ~100 points
    ids = sorted({e.trace_id for e in examples})
    from ..dispatch.normalize import normalize

    # The term sets of what it learned: T0 routing sends a request here only when its terms are one of them.
    families = sorted({tuple(sorted(normalize(e.request).terms)) for e in examples} - {()})
    return {
        "base": trained.base, "device": trained.device, "examples": len(examples), "trace_ids": ids,
        "families": [list(f) for f in families],
        "left_out": left_out, "steps": len(losses), "loss_curve": losses[::stride], "loss_every": stride,
        "final_loss": sum(losses[-10:]) / len(losses[-10:]), "seconds": round(trained.seconds, 1),
        "tokens": trained.tokens, "truncated": trained.truncated,
        "options": dict(trained.options.__dict__), "peft": peft.__version__, "transformers": transformers.__version__,
        "torch": torch.__version__, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "prompt": "finetune.prompt: the family's verified program, then the request",
    }


def _held_out(trained, held: list[Example], traces, runner) -> dict:
    if not held or runner is None:
        return {"examples": 0, "adapter_pass_rate": None,
                "note": "not measured" + (" (no runner)" if held else " (nothing held out)")}
    from .evaluate import evaluate

    verdicts = evaluate(trained.tokenizer, trained.model, held, {t.id: t for t in traces}, runner)
    passed = sum(v.passed for v in verdicts)
    return {"examples": len(held), "passed": passed, "adapter_pass_rate": passed / len(held),
            "failures": [v.why for v in verdicts if not v.passed][:10]}
