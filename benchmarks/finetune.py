"""Local models that learn from verified traces: base SmolLM2-135M vs its AdaLoRA adapter on held-out traces,
training time, adapter size, and the share of model calls T0 takes on the token_savings stream.

What it measures
    Traces: the 13 starter skills of a fresh home (verified by construction, read back from its SQLite store).
    Three families are held out whole (UNSEEN: W state, teleportation, QAOA max-cut); the other ten are
    learned. Of a learned family, training never sees its last wording (a paraphrase) nor one value of its
    main parameter (6 qubits / nodes, the bitstring 0110, or 4,096 shots for the Bell state).
    Training set: --examples pairs (default 200) drawn evenly from the learned families' other wordings
    and values, rendered as the finetune package renders traces (finetune.dataset).
    Held out: per learned family, (a) the held-out value under a trained wording and (b) the held-out
    value under the held-out wording; per unseen family, a new value under its first and its last wording.
    Pass: the greedy reply's program runs in the sandboxed worker (pipeline.runners.WorkerRunner) and
    passes the checks its trace records for verified runs (memory.checks with the request's values), as a
    replay must. Base and adapter get the same prompt, the one T0 is served (finetune.prompt: the
    family's verified program at its default values, then the request). Training examples are guided as
    finetune.dataset.guided does: half by that program, half by another trained variation.
    Tokens/s: generated tokens over generation wall time, greedy, batch 1.
    Training: AdaLoRA (peft) on the top third of the layers, --steps optimizer steps of --batch examples;
    wall time of the training loop only (model loading apart), with os.getloadavg() before and after.
    T0 savings (--stage savings): the token_savings stream (its generator, imported) with starter skills
    on (or off, --no-starter). The first --learn requests (60) run without tiers, so the home learns; an
    adapter is then fine-tuned on the home's verified traces (--savings-steps, as %llmos finetune would)
    and the rest run with tiers T0 = that adapter served by an OpenAI-compatible server at a
    base_url (the scripted server stands in for vLLM --lora-modules), T2 = the scripted model; the
    engine's own routing decides.
    Reported: model calls per tier, and the cost of T0's calls priced at T2 (claude-sonnet list price,
    $3 / $15 per 1M) against the local price (--local-price, default the seed's $0.01 per 1M). The answers
    there come from the scripted model, so this row measures routing and cost, not T0's answer quality
    (that is the held-out table).

    python benchmarks/finetune.py [--steps 300] [--examples 200] [--batch 1] [--stage all|train|savings]
                                  [--home DIR] [--requests 300] [--base-limit N] [--no-starter]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from llmos_jupyter import LLMOS  # noqa: E402
from llmos_jupyter.finetune import dataset
from llmos_jupyter.localmodel import adapters  # noqa: E402
from llmos_jupyter.finetune.dataset import Example  # noqa: E402
from llmos_jupyter.finetune.prompt import answer  # noqa: E402
from llmos_jupyter.memory.templates import instantiate  # noqa: E402

UNSEEN = ("starter-w_state", "starter-teleportation", "starter-qaoa_maxcut")
NAME = "bench-t0"


def held_value(trace, placeholder: str):
    """A value of the main parameter that training never sees, within the skill's valid range."""
    from llmos_jupyter.memory.starter_skills import skill

    param = next(p for p in skill(trace.id.removeprefix("starter-")).params if p.placeholder == placeholder)
    if param.kind == "bits":
        return "0110" if (param.maximum or 16) >= 4 else "0"
    if param.kind == "shots":
        return 4096
    return min(6, param.maximum or 6)


def main_placeholder(trace) -> str:
    others = [p for p in trace.bound if p != "SLOT_shots_0"]
    return others[0] if others else "SLOT_shots_0"


def example(trace, phrase: str, values: dict):
    request = dataset.render_request(phrase, values, trace.defaults)
    if request is None:
        return None
    return Example(request, instantiate(trace.code, values), trace.id, values)


def build(traces, n_examples: int, seed: int):
    """(training examples, held-out items [(kind, example)])."""
    rng = random.Random(seed)
    learned = [t for t in traces if t.id not in UNSEEN]
    by_id = {t.id: t for t in traces}
    per_family = max(1, n_examples // len(learned))
    train, held = [], []
    for t in traces:
        phrases = dataset.phrasings(t)
        main = main_placeholder(t)
        value = held_value(t, main)
        new = {**t.defaults, main: value}
        if t.id in UNSEEN:
            first = next((e for p in phrases if (e := example(t, p, new))), None)
            last = next((e for p in reversed(phrases) if (e := example(t, p, new))), None)
            held += [(k, e) for k, e in (("unseen family, new value", first),
                                         ("unseen family, new value + another wording", last))
                     if e is not None and (k.endswith("value") or e != first)]
            continue
        # The held-out paraphrase: the last wording that can say the held-out value.
        paraphrase = next((p for p in reversed(phrases) if example(t, p, new)), phrases[-1])
        trained_phrases = [p for p in phrases if p != paraphrase]
        a = next((e for p in trained_phrases if (e := example(t, p, new))), None)
        b = example(t, paraphrase, new)
        held += [(k, e) for k, e in (("learned family, new value", a), ("learned family, new value + paraphrase", b))
                 if e is not None]
        pool = []
        for values in dataset.variants(t):
            if values.get(main) == value:
                continue
            for p in trained_phrases:
                ex = example(t, p, values)
                if ex is not None:
                    pool.append(ex)
        unique = list({(e.request, e.program): e for e in pool}.values())
        rng.shuffle(unique)
        train += unique[:per_family]
    rng.shuffle(train)
    train = dataset.guided(train[:n_examples], by_id, seed=seed)
    held = [(k, e) for k, (e,) in ((k, dataset.as_served([e], by_id)) for k, e in held)]
    held_texts = {e.request for _, e in held}
    assert not held_texts & {e.request for e in train}
    assert not {e.program for _, e in held} & ({e.program for e in train} | {e.guide[1] for e in train})
    return train, held


def evaluate(label, tokenizer, model, held, by_id, runner, max_new):
    from llmos_jupyter.finetune.evaluate import judge, reply

    rows = []
    for i, (kind, ex) in enumerate(held, 1):
        t = time.perf_counter()
        text, n = reply(tokenizer, model, ex.request, ex.guide, max_new)
        seconds = time.perf_counter() - t
        ok, why = judge(by_id[ex.trace_id], ex, text, runner)
        rows.append((kind, ex, ok, why, n, seconds))
        print(f"  … {label} {i}/{len(held)}: {'pass' if ok else 'fail'} {ex.request[:60]!r} {why[:60]}",
              file=sys.stderr, flush=True)
    return rows


def pct(k, n):
    return f"{k}/{n} ({k / n:.0%})" if n else "0/0"


def stage_train(args, home: Path) -> None:
    import torch

    from llmos_jupyter.finetune.train import Options, train, write_adapter
    from llmos_jupyter.pipeline.runners import WorkerRunner
    from llmos_jupyter.localmodel.weights import load_base

    llmos = LLMOS(home=home, starter_skills=True, provider="local")
    llmos.memory.ready()
    traces = llmos.memory.traces.all()
    llmos.close()
    by_id = {t.id: t for t in traces}
    train_set, held = build(traces, args.examples, args.seed)
    held = held[:args.held_limit] if args.held_limit else held
    print(f"## Fine-tuning SmolLM2-135M-Instruct with AdaLoRA on verified traces\n")
    print(f"Traces: {len(traces)} starter skills read from {home / 'llmos.db'}; learned families "
          f"{len(traces) - len(UNSEEN)}, unseen {len(UNSEEN)} ({', '.join(u.removeprefix('starter-') for u in UNSEEN)}).")
    print(f"Training set: {len(train_set)} examples; held out: {len(held)} requests "
          f"(none of their texts in training). Device: {'cuda' if torch.cuda.is_available() else 'cpu'}, "
          f"torch threads {torch.get_num_threads()}, os.cpu_count() {os.cpu_count()}.\n")
    runner = WorkerRunner(protect=(home,), outputs=Path(tempfile.mkdtemp(prefix="llmos-bench-out-")), timeout=60)
    tok_lens = []
    max_new = 0
    base_rows = []
    try:
        tokenizer, base_model, _ = load_base("local")
        for _, ex in held:  # room for the edit, or for a whole program (what the base model tends to write)
            n = max(len(tokenizer(answer(ex.program, ex.guide))["input_ids"]),
                    len(tokenizer(answer(ex.program))["input_ids"]))
            tok_lens.append(n)
        max_new = max(tok_lens) + 24
        base_model.eval()
        subset = held if args.base_limit is None else held[:args.base_limit]
        base_rows = evaluate("base", tokenizer, base_model, subset, by_id, runner, max_new)
        del base_model
        options = Options(steps=args.steps, batch_size=args.batch, seed=args.seed)
        load_before = os.getloadavg()
        from tqdm import tqdm

        bar = tqdm(total=args.steps, desc="fine-tuning", unit="step", file=sys.stderr)

        def progress(step, total, loss):
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")

        trained = train(train_set, base="local", options=options, progress=progress)
        bar.close()
        load_after = os.getloadavg()
        adapter_rows = evaluate("adapter", trained.tokenizer, trained.model, held, by_id, runner, max_new)
        card = {"base": trained.base, "examples": len(train_set), "trace_ids": sorted({e.trace_id for e in train_set}),
                "steps": args.steps, "seconds": round(trained.seconds, 1), "loss_curve": trained.losses,
                "benchmark": "benchmarks/finetune.py"}
        from llmos_jupyter.dispatch.normalize import normalize

        card["families"] = sorted({tuple(sorted(normalize(e.request).terms)) for e in train_set} - {()})
        folder = adapters.save(home, NAME, lambda f: write_adapter(trained, f), card)
    finally:
        runner.close()

    kinds = list(dict.fromkeys(k for k, _ in held))
    print("### Held-out pass rate (runs in the worker and passes the trace's checks)\n")
    print("| held-out set | requests | base model | adapter |")
    print("|---|---:|---:|---:|")
    for kind in kinds + ["all learned-family variations"]:
        pick = (lambda k: k.startswith("learned")) if kind.startswith("all") else (lambda k, kind=kind: k == kind)
        a = [r for r in adapter_rows if pick(r[0])]
        b = [r for r in base_rows if pick(r[0])]
        print(f"| {kind} | {len(a)} | {pct(sum(r[2] for r in b), len(b))} | {pct(sum(r[2] for r in a), len(a))} |")
    if args.base_limit is not None:
        print(f"\nBase model measured on the first {len(base_rows)} held-out requests only (--base-limit).")

    def speed(rows):
        tokens, seconds = sum(r[4] for r in rows), sum(r[5] for r in rows)
        return f"{tokens / seconds:.1f}" if seconds else "not measured"

    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    peft_size = (folder / "adapter_model.safetensors").stat().st_size
    print("\n### Training and generation\n")
    print("| what | measured |")
    print("|---|---|")
    print(f"| training set | {len(train_set)} examples ({trained.tokens:,} tokens seen, {trained.truncated} cut at "
          f"{options.max_len} tokens) |")
    print(f"| steps × batch | {args.steps} × {args.batch} |")
    print(f"| training loop time | {trained.seconds:.0f} s ({trained.seconds / args.steps:.2f} s/step) on "
          f"{trained.device} |")
    print(f"| load average (1/5/15 min) before → after | {'/'.join(f'{x:.1f}' for x in load_before)} → "
          f"{'/'.join(f'{x:.1f}' for x in load_after)} |")
    print(f"| loss first 10 → last 10 steps (mean) | {sum(trained.losses[:10]) / min(10, len(trained.losses)):.3f} → "
          f"{sum(trained.losses[-10:]) / min(10, len(trained.losses)):.3f} |")
    print(f"| adapter size (peft AdaLoRA file) | {peft_size / 1e6:.1f} MB |")
    print(f"| adapter folder (with plain-LoRA copy and card) | {size / 1e6:.1f} MB |")
    print(f"| generation, base model | {speed(base_rows)} tokens/s |")
    print(f"| generation, adapter (unmerged peft) | {speed(adapter_rows)} tokens/s |")
    for label, rows in (("base model", base_rows), ("adapter", adapter_rows)):
        if rows:
            print(f"| reply, {label} (mean) | {sum(r[4] for r in rows) / len(rows):.0f} tokens in "
                  f"{sum(r[5] for r in rows) / len(rows):.1f} s |")
    target = trained.seconds <= 600 and args.examples >= 200 and args.steps >= 300
    print(f"\nTarget 200 examples × 300 steps ≤ 10 min on the CPU: {'met' if target else 'NOT met'} "
          f"({args.examples} × {args.steps} steps in {trained.seconds / 60:.1f} min).")
    print(f"Adapter saved in {folder}.")
    fails = [r for r in adapter_rows if not r[2]]
    if fails:
        print("\n### Adapter failures\n")
        for kind, ex, _, why, _, _ in fails:
            print(f"- {kind}: {ex.request!r}: {why or 'failed'}")


def stage_savings(args, home: Path) -> None:
    import token_savings as ts

    from llmos_jupyter.testing import ScriptedLLMServer
    from llmos_jupyter.testing.qiskit_model import MODEL_NAME, respond

    items = ts.stream(args.requests, args.seed)
    learn = items[:args.learn]
    items = items[len(learn):]
    t2_price, t0_price = (3.0, 15.0), (args.local_price, args.local_price)
    tiers: dict[str, list[int]] = {}
    wrong = 0
    with ScriptedLLMServer() as srv:
        srv.responder = respond
        with tempfile.TemporaryDirectory(prefix="llmos-bench-t0-") as tmp:
            run_home = Path(tmp) / "home"
            common = dict(home=run_home, provider="openai", model=MODEL_NAME, base_url=srv.openai_base_url,
                          api_key="x", starter_skills=not args.no_starter, stream=False, max_retries=0)
            # First half: the home learns its families; then an adapter is fine-tuned on its verified traces,
            # as a user would with %llmos finetune.
            llmos = LLMOS(**common)
            try:
                for item in learn:
                    llmos.run(item.text)
                llmos.finetune(NAME, steps=args.savings_steps, evaluate=0, progress=None)
            finally:
                llmos.close()
            llmos = LLMOS(**common, tiers={"T0": f"openai:{NAME}@{srv.openai_base_url}", "T2": f"openai:{MODEL_NAME}"})
            try:
                for i, item in enumerate(items):
                    r = llmos.run(item.text)
                    if r.tokens.input or r.tokens.output:
                        tiers.setdefault(r.why.get("tier") or "none", []).append(r.tokens.input + r.tokens.output)
                        tiers.setdefault("_in_" + (r.why.get("tier") or "none"), []).append(r.tokens.input)
                    if not r.counts or ts.problems(item, r.counts):
                        wrong += 1
                    if (i + 1) % 50 == 0:
                        print(f"  … savings stream {i + 1}/{len(items)}", file=sys.stderr, flush=True)
            finally:
                llmos.close()
    calls = {k: len(v) for k, v in tiers.items() if not k.startswith("_")}
    total = sum(calls.values())
    t0_tokens = sum(tiers.get("T0", []))
    t0_in = sum(tiers.get("_in_T0", []))
    t0_out = t0_tokens - t0_in
    at_t2 = (t0_in * t2_price[0] + t0_out * t2_price[1]) / 1e6
    at_t0 = (t0_in * t0_price[0] + t0_out * t0_price[1]) / 1e6
    print(f"\n### T0 on the token_savings stream (the last {len(items)} of {args.requests} requests, seed {args.seed}, "
          f"starter skills {'off' if args.no_starter else 'on'}; adapter fine-tuned {args.savings_steps} steps on the "
          f"home after the first {len(learn)})\n")
    print("| tier | model calls | share of calls | tokens |")
    print("|---|---:|---:|---:|")
    for k in sorted(calls):
        print(f"| {k} | {calls[k]} | {calls[k] / total:.0%} | {sum(tiers[k]):,} |")
    print(f"\nT0 calls priced at T2 (${t2_price[0]}/${t2_price[1]} per 1M): ${at_t2:.4f}; at the local price "
          f"(${args.local_price} per 1M): ${at_t0:.6f}; saved ${at_t2 - at_t0:.4f}. "
          f"Answers that did not fit the request (scripted model behind both tiers): {wrong}.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--examples", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stage", choices=("all", "train", "savings"), default="all")
    ap.add_argument("--home", type=Path, help="keep the home (and adapter) here; default a temporary folder")
    ap.add_argument("--requests", type=int, default=300, help="token_savings stream length for the T0 row")
    ap.add_argument("--learn", type=int, default=60,
                    help="savings stage: requests the home learns from before the adapter is fine-tuned")
    ap.add_argument("--savings-steps", type=int, default=30,
                    help="fine-tuning steps for the savings stage's adapter (its answers are scripted there)")
    ap.add_argument("--no-starter", action="store_true",
                    help="savings stage without starter skills: families are learned from the stream itself")
    ap.add_argument("--local-price", type=float, default=0.01, help="USD per 1M tokens for T0 (seed: 0.01-0.05)")
    ap.add_argument("--held-limit", type=int, help="evaluate only the first N held-out requests (smoke runs)")
    ap.add_argument("--base-limit", type=int, help="evaluate the base model on only the first N held-out requests")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    home = args.home or Path(tempfile.mkdtemp(prefix="llmos-bench-ft-")) / "home"
    if args.stage in ("all", "train"):
        stage_train(args, home)
    if args.stage in ("all", "savings"):
        stage_savings(args, home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
