"""Token savings of the learning memory on a realistic request stream, and whether any answer was wrong.

What it measures
    A seeded, reproducible stream of requests (default 1,000, about a month of use, so the cold start is
    amortized as it would be; --quick 80) goes through `LLMOS.run` with starter skills off, against the
    scripted Qiskit "LLM" (llmos_jupyter.testing.qiskit_model) behind a real HTTP ScriptedLLMServer reached
    through the official openai SDK. The stream mixes exact repeats, paraphrases (our own phrasings and
    everyday ones: questions, "please", "I need", lower case, a trailing period), parameter variations
    (qubit counts 2..8 as digits, number words and 'n-qubit', bitstrings, shot counts in several phrasings)
    and new families introduced in phases across the stream (Bell+GHZ, then superposition+basis state, then
    Bernstein-Vazirani+W, then Deutsch-Jozsa constant/balanced).

    billed    sum of r.tokens.input + r.tokens.output (the provider's usage figures) over the stream.
    baseline  "always ask the LLM, as a user would without LLMOS": for every request, one call with the
              one-sentence LEAN_SYSTEM ("You are a helpful assistant that writes Qiskit programs.") as the
              system prompt and the request as the user message, sent for real to the same scripted server
              with the official openai SDK; its `usage` (prompt + completion tokens) is the cost. Repeats
              are called and billed again, as they would be.
    wrong     an answer that does not fit the request: no counts (every request here asks for a measured
              circuit), or counts off in register width, support of the exact distribution (and the exact
              outcome for deterministic families), per-outcome frequencies (within 6 sigma of the exact
              probabilities), or total shots (the requested count, or 1024).
    failed    a result with `error` set, or an exception from run(); counted apart from wrong.

    With --starter-run the same stream runs once more in a fresh home with starter_skills=True (totals row).

    Tables: totals (with the engine's own `r.tokens.saved` beside the measured saving), mode mix, the
    learning curve per 100 requests, the wordings that needed the model, billed tokens per family, why the
    LLM was asked (each billed request classified from its `why.reason`), and every wrong or failed answer.

    python benchmarks/token_savings.py [--quick] [--requests N] [--seed S] [--exclude basis,...]
                                       [--starter-run] [--log requests.jsonl]

Target (from the issue): >= 90 % saved with 0 wrong answers, starter skills off. A missed target is
printed, not an error: the exit status is non-zero only if the benchmark itself crashes.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmos_jupyter import LLMOS  # noqa: E402
from llmos_jupyter.prompts import LEAN_SYSTEM  # noqa: E402
from llmos_jupyter.testing import ScriptedLLMServer  # noqa: E402
from llmos_jupyter.testing.qiskit_model import MODEL_NAME, respond  # noqa: E402

WORDS = "zero one two three four five six seven eight nine".split()
MODES = ("CRYSTALLIZED", "FOLLOWER", "MIXED", "LEARNER")

# family -> (parameter kind, wordings). {n}: a qubit count phrase ("5 qubits" / "five qubits"), {nq}: an
# adjective ("5-qubit" / "five-qubit"), {b}: a bitstring. The first wordings of each family are our own
# phrasings; the rest are everyday ones (questions, "I need", "please", "show me"). Every one of them is a
# request that the scripted model (testing/qiskit_model.py) answers.
PHRASES: dict[str, tuple[str, list[str]]] = {
    "bell": ("none", [
        "Create a Bell state circuit",
        "Prepare an EPR pair and measure it",
        "Make a Bell pair",
        "Entangle two qubits into a Bell state",
        "Build a Bell state with a Hadamard and a CNOT",
        "Can you make me a Bell pair?",
        "I need two entangled qubits in a Bell state",
        "Show me a Bell state",
        "bell state please",
        "Could you set up an EPR pair and measure both qubits?",
        "How do I make a Bell state in Qiskit?",
    ]),
    "ghz": ("qubits", [
        "Create a GHZ state with {n}",
        "Make a GHZ state on {n}",
        "Prepare a cat state on {n}",
        "Build a {nq} GHZ circuit",
        "Entangle {n} in a GHZ state",
        "Can you make a GHZ state with {n}?",
        "I want a {nq} GHZ state",
        "ghz on {n} please",
        "Show me a GHZ state across {n}",
        "Could you entangle {n} into a cat state?",
    ]),
    "superposition": ("qubits", [
        "Put {n} in an equal superposition",
        "Create a uniform superposition over {n}",
        "Prepare the uniform superposition on {n}",
        "Apply a Hadamard to every qubit of a {nq} register and measure",
        "Can you put {n} into superposition?",
        "I need all {n} in an equal superposition",
        "Hadamard on each qubit of a {nq} register, then measure",
        "Make an equal superposition of {n} please",
    ]),
    "basis": ("bits", [
        "Prepare the basis state |{b}>",
        "Prepare the computational basis state {b} and measure it",
        "Initialize the register in state |{b}> and measure",
        "Encode {b} with X gates",
        "Can you prepare |{b}>?",
        "I need the register in |{b}>, then measure it",
        "Set the qubits to the bitstring {b} and measure",
        "Show me the basis state |{b}>",
    ]),
    "bv": ("bits", [
        "Find the secret string {b} with Bernstein-Vazirani",
        "Run BV with secret {b}",
        "Bernstein-Vazirani algorithm for the hidden bitstring {b}",
        "Recover the hidden string {b} with one oracle query",
        "Can you run Bernstein-Vazirani for the secret {b}?",
        "Use BV to find the hidden bitstring {b}",
        "I have a secret string {b}; recover it with Bernstein-Vazirani",
        "bernstein vazirani with secret {b} please",
    ]),
    "w": ("qubits", [
        "Prepare a W state on {n}",
        "Create a W state with {n}",
        "Build a {nq} W state",
        "Generate the W state on {n}",
        "Can you make a W state on {n}?",
        "I need a {nq} W state",
        "w state with {n} please",
        "Show me the W state for {n}",
    ]),
    "dj_constant": ("qubits", [
        "Run Deutsch-Jozsa with a constant oracle on {n}",
        "Deutsch-Jozsa algorithm with a constant function on {n}",
        "Show Deutsch-Jozsa recognizing a constant oracle on {n}",
        "DJ algorithm with a constant oracle and {n}",
        "Can you run Deutsch-Jozsa on {n} with a constant oracle?",
        "Deutsch Jozsa, constant function, {n}",
        "Check a constant oracle with the Deutsch-Jozsa algorithm on {n}",
    ]),
    "dj_balanced": ("qubits", [
        "Run Deutsch-Jozsa with a balanced oracle on {n}",
        "Deutsch-Jozsa algorithm with a balanced function on {n}",
        "Show Deutsch-Jozsa detecting a balanced oracle on {n}",
        "DJ algorithm with a balanced oracle and {n}",
        "Can you run Deutsch-Jozsa on {n} with a balanced oracle?",
        "Deutsch Jozsa, balanced function, {n}",
        "Test a balanced oracle with the Deutsch-Jozsa algorithm on {n}",
    ]),
}
# (fraction of the stream where the phase starts, families introduced)
PHASES = [(0.0, ["bell", "ghz"]), (0.15, ["superposition", "basis"]), (0.35, ["bv", "w"]),
          (0.55, ["dj_constant", "dj_balanced"])]
SHOT_COUNTS = [100, 256, 500, 1000, 2000, 2048, 4096]
SHOT_PHRASES = [", {s} shots", " with {s} shots", " and run {s} shots", " using {s} shots", ", run it {s} times",
                " ({s} shots)", " for {s} shots", " and sample it {s} times"]
DEFAULT_SHOTS = 1024
BLOCK = 100  # requests per row of the learning curve


@dataclass(frozen=True)
class Item:
    text: str
    family: str
    n: int | None  # qubits (input qubits for Deutsch-Jozsa)
    bits: str | None
    shots: int  # what the request asks for (1024 when it names none)
    kind: str  # first | repeat
    wording: str = ""  # the wording it was made from, before parameters and shots went in


def _qubit_phrase(rng: random.Random, n: int) -> tuple[str, str]:
    word = WORDS[n] if rng.random() < 0.4 else str(n)
    return f"{word} qubits", f"{word}-qubit"


def _articles(text: str) -> str:
    return re.sub(r"\ba (?=(?:eight|8)-)", "an ", text)


def _shots_phrase(rng: random.Random) -> tuple[str, int]:
    if rng.random() < 0.6:
        return "", DEFAULT_SHOTS
    s = rng.choice(SHOT_COUNTS)
    shown = f"{s:,}" if s >= 2000 and rng.random() < 0.3 else str(s)
    return rng.choice(SHOT_PHRASES).format(s=shown), s


def _everyday(rng: random.Random, text: str) -> str:
    """How people type: sometimes all lower case, sometimes a closing period; a question keeps its mark."""
    if rng.random() < 0.15:
        text = text.lower()
    if text.endswith("?"):
        return text
    if text.endswith(" please") and rng.random() < 0.5:
        return text
    return text + "." if rng.random() < 0.25 else text


def _with_shots(text: str, suffix: str) -> str:
    """The shot phrase goes before a closing question mark: 'Can you make a Bell pair, 500 shots?'."""
    if not suffix:
        return text
    return text[:-1] + suffix + "?" if text.endswith("?") else text + suffix


def stream(n_requests: int, seed: int, exclude: frozenset[str] = frozenset()) -> list[Item]:
    """The request stream: reproducible for a seed."""
    rng = random.Random(seed)
    items: list[Item] = []
    active: list[str] = []
    newest: list[str] = []
    starts = [(int(frac * n_requests), fams) for frac, fams in PHASES]
    for i in range(n_requests):
        for start, fams in starts:
            if i == start:
                fams = [f for f in fams if f not in exclude] or newest
                active += [f for f in fams if f not in active]
                newest = fams
        if items and rng.random() < 0.3:  # an exact repeat, more often of something recent
            j = len(items) - 1 - min(int(rng.expovariate(1 / 20)), len(items) - 1)
            items.append(Item(**{**items[j].__dict__, "kind": "repeat"}))
            continue
        weights = [3 if f in newest else 1 for f in active]
        family = rng.choices(active, weights)[0]
        kind, wordings = PHRASES[family]
        wording = rng.choice(wordings)
        n = bits = None
        fmt: dict[str, str] = {}
        if kind == "qubits":
            n = rng.randint(2, 8)
            fmt["n"], fmt["nq"] = _qubit_phrase(rng, n)
        elif kind == "bits":
            bits = "".join(rng.choice("01") for _ in range(rng.randint(3, 6)))
            fmt["b"] = bits
        suffix, shots = _shots_phrase(rng)
        text = _everyday(rng, _with_shots(_articles(wording.format(**fmt)), suffix))
        items.append(Item(text, family, n, bits, shots, "first", wording))
    return items


# -- the exact answer for a request ----------------------------------------------------------------
def expected(item: Item) -> tuple[int, dict[str, float] | None, set[str] | None]:
    """(register width, exact distribution, or None with the allowed support when only that is fixed)."""
    f, n, b = item.family, item.n, item.bits
    if f == "bell":
        return 2, {"00": 0.5, "11": 0.5}, None
    if f == "ghz":
        return n, {"0" * n: 0.5, "1" * n: 0.5}, None
    if f == "superposition":
        return n, {format(k, f"0{n}b"): 1 / 2 ** n for k in range(2 ** n)}, None
    if f == "w":
        return n, {"0" * (n - 1 - q) + "1" + "0" * q: 1 / n for q in range(n)}, None
    if f in ("basis", "bv"):
        return len(b), {b: 1.0}, None
    if f == "dj_constant":
        return n, {"0" * n: 1.0}, None
    if f == "dj_balanced":  # any balanced oracle: every outcome but all zeros is possible
        return n, None, {format(k, f"0{n}b") for k in range(1, 2 ** n)}
    raise ValueError(f)


def problems(item: Item, counts: dict[str, int]) -> list[str]:
    """Why `counts` do not answer `item`; [] when they do."""
    merged: Counter = Counter()
    for key, c in counts.items():
        merged[key.replace(" ", "")] += c
    width, dist, support = expected(item)
    out = []
    total = sum(merged.values())
    if total != item.shots:
        out.append(f"shots {total} != {item.shots}")
    widths = {len(k) for k in merged}
    if widths != {width}:
        out.append(f"width {sorted(widths)} != {width}")
        return out
    allowed = set(dist) if dist is not None else support
    outside = sorted(set(merged) - allowed)
    if outside:
        out.append(f"outcomes outside the exact support: {outside[:4]}")
    if dist is not None and total:
        for outcome, p in dist.items():
            mean = total * p
            if abs(merged.get(outcome, 0) - mean) > 6 * math.sqrt(mean * (1 - p)) + 2:
                out.append(f"P({outcome}) = {merged.get(outcome, 0) / total:.3f}, exact {p:.3f}")
                break
    return out


# -- running -----------------------------------------------------------------------------------------
@dataclass
class Row:
    item: Item
    mode: str
    billed: int
    baseline: int
    calls: int
    reported_saved: int = 0  # what the engine itself reports as saved (r.tokens.saved)
    wrong: list[str] = field(default_factory=list)
    failed: str | None = None
    ms: float = 0.0
    reason: str = ""
    latent: str = ""  # the sentience layer's latent mode when the request was answered
    index: int = 0  # position in the stream


def lean_baseline(srv: ScriptedLLMServer, items: list[Item]) -> list[int]:
    """What always asking the LLM bills, request by request: one real call each (LEAN_SYSTEM + the request)
    through the openai SDK, `usage.prompt_tokens + usage.completion_tokens`. Repeats are called again."""
    import openai

    client = openai.OpenAI(base_url=srv.openai_base_url, api_key="x", max_retries=0)
    out = []
    for item in items:
        r = client.chat.completions.create(model=MODEL_NAME, max_tokens=2048, messages=[
            {"role": "system", "content": LEAN_SYSTEM}, {"role": "user", "content": item.text}])
        out.append(r.usage.prompt_tokens + r.usage.completion_tokens)
    return out


def _forget_tool_modules(home: Path) -> None:
    """Crystallized tools are modules on sys.path; drop this home's so a second run in this process
    cannot import the first run's tools under the same names."""
    tools = str(home / "tools")
    while tools in sys.path:
        sys.path.remove(tools)
    for name, module in list(sys.modules.items()):
        if name.startswith("llmos_") and str(getattr(module, "__file__", "") or "").startswith(tools):
            del sys.modules[name]


def run_stream(srv: ScriptedLLMServer, items: list[Item], baseline: list[int], *, starter: bool,
               progress: str = "") -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="llmos-bench-") as tmp:
        home = Path(tmp) / "home"
        llmos = LLMOS(home=home, provider="openai", model=MODEL_NAME, base_url=srv.openai_base_url, api_key="x",
                      starter_skills=starter, stream=False, max_retries=0)
        try:
            for i, item in enumerate(items):
                before = len(srv.requests)
                started = time.perf_counter()
                try:
                    r = llmos.run(item.text)
                except Exception as exc:  # noqa: BLE001 - a provider error is a failed answer, not a crash
                    rows.append(Row(item, "ERROR", 0, baseline[i], len(srv.requests) - before,
                                    failed=f"{type(exc).__name__}: {exc}"[:200], index=i))
                    continue
                ms = (time.perf_counter() - started) * 1000
                row = Row(item, str(r.mode), r.tokens.input + r.tokens.output, baseline[i],
                          len(srv.requests) - before, r.tokens.saved, ms=ms,
                          reason=str(r.why.get("reason", ""))[:300],
                          latent=str((r.sentience or {}).get("latent_mode", "")), index=i)
                if r.error:
                    row.failed = r.error.strip().splitlines()[-1][:200] if r.error.strip() else "error"
                elif not r.counts:  # every request asks for a measured circuit: an answer without counts is wrong
                    row.wrong = ["no counts" + (f" ({r.notice.strip().splitlines()[-1][:120]})" if r.notice else "")]
                else:
                    row.wrong = problems(item, r.counts)
                rows.append(row)
                if progress and (i + 1) % 50 == 0:
                    print(f"  … {progress}: {i + 1}/{len(items)} requests", file=sys.stderr, flush=True)
        finally:
            llmos.close()
            _forget_tool_modules(home)
    return rows


# -- tables --------------------------------------------------------------------------------------
def cause(r: Row) -> str:
    """Why a billed request went to the LLM, read from the engine's explanation."""
    why = r.reason
    if r.mode == "LEARNER":
        return "LEARNER: memory empty" if "empty" in why else "LEARNER: nothing in memory close enough"
    m = re.search(r"failed verification \(([^)]*)\)", why)
    if m:
        return f"MIXED: a replay failed its recorded checks ({m.group(1)})"
    if "has not been shown to rebind" in why:
        return "MIXED: new slot value, slot not yet generalized"
    if "cannot take" in why:
        return "MIXED: the trace has no placeholder for this value (program not a template)"
    if "terms" in why and "differ" in why:
        return "MIXED: domain terms differ from the nearest trace"
    if r.mode == "MIXED":
        return "MIXED: paraphrase below the replay threshold"
    return f"{r.mode}: other"


def pct(saved: int, base: int) -> str:
    return f"{100 * saved / base:.1f} %" if base else "–"


def learning_curve(rows: list, block: int, modes: tuple[str, ...], name_families: bool = True) -> None:
    """Print the per-`block` table: families first seen (named, or counted), billed against the lean baseline,
    the window's and the cumulative share saved, the modes, wrong and failed answers. `rows` need .item.family,
    .billed, .baseline, .mode, .wrong and .failed."""
    print("| requests | new families | billed | baseline | % saved in the window | cumulative % saved "
          f"| {' / '.join(m[0] for m in modes)} | wrong | failed |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|")
    seen: set[str] = set()
    cum_billed = cum_base = 0
    for start in range(0, len(rows), block):
        window = rows[start:start + block]
        fams = sorted({r.item.family for r in window} - seen)
        seen |= set(fams)
        billed, base = sum(r.billed for r in window), sum(r.baseline for r in window)
        cum_billed, cum_base = cum_billed + billed, cum_base + base
        mix = Counter(r.mode for r in window)
        new = (", ".join(fams) or "–") if name_families else str(len(fams))
        print(f"| {start + 1}–{start + len(window)} | {new} | {billed:,} | {base:,} | {pct(base - billed, base)} | "
              f"{pct(cum_base - cum_billed, cum_base)} | {' / '.join(str(mix[m]) for m in modes)} | "
              f"{sum(1 for r in window if r.wrong)} | {sum(1 for r in window if r.failed)} |")


def totals_row(label: str, rows: list[Row]) -> str:
    billed = sum(r.billed for r in rows)
    base = sum(r.baseline for r in rows)
    calls = sum(r.calls for r in rows)
    wrong = sum(1 for r in rows if r.wrong)
    failed = sum(1 for r in rows if r.failed)
    reported = sum(r.reported_saved for r in rows)
    return (f"| {label} | {len(rows)} | {calls} | {billed:,} | {base:,} | {base - billed:,} | "
            f"{pct(base - billed, base)} | {wrong} | {failed} | {reported:,} |")


def print_tables(rows: list[Row], starter_rows: list[Row] | None, seconds: float, starter_seconds: float) -> None:
    print("\n### Totals\n")
    print("| run | requests | LLM calls | billed tokens | baseline tokens | saved | % saved | wrong | failed "
          "| saved as the engine reports it |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(totals_row(f"starter skills off ({seconds:.0f} s)", rows))
    if starter_rows is not None:
        print(totals_row(f"starter skills on ({starter_seconds:.0f} s)", starter_rows))

    print("\n### Mode mix (starter skills off)\n")
    print("| mode | requests | LLM calls | billed tokens | baseline tokens | billed / request | wrong | failed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in (*MODES, *sorted({r.mode for r in rows} - set(MODES))):
        sel = [r for r in rows if r.mode == mode]
        billed = sum(r.billed for r in sel)
        print(f"| {mode} | {len(sel)} | {sum(r.calls for r in sel)} | {billed:,} | "
              f"{sum(r.baseline for r in sel):,} | {billed / len(sel) if sel else 0:,.0f} | "
              f"{sum(1 for r in sel if r.wrong)} | {sum(1 for r in sel if r.failed)} |")

    latent = Counter(r.latent for r in rows if r.latent)
    if latent:
        print("\nSentience latent mode when each request was answered (it shifts the thresholds): "
              + ", ".join(f"{m} {c}" for m, c in latent.most_common()) + ".")

    print(f"\n### Learning curve (starter skills off, per {BLOCK} requests)\n")
    learning_curve(rows, BLOCK, (*MODES, "ORCHESTRATOR"))

    print("\n### Wordings that needed the model (starter skills off)\n")
    billed_rows = [r for r in rows if r.billed]
    texts = {r.item.text for r in rows}
    billed_texts = {r.item.text for r in billed_rows}
    wordings = {(r.item.family, r.item.wording) for r in rows}
    billed_wordings = Counter((r.item.family, r.item.wording) for r in billed_rows)
    print(f"Distinct request texts: {len(texts)}, of which {len(billed_texts)} needed the model at least once "
          f"({sum(1 for r in billed_rows if r.item.kind == 'repeat')} billed requests were exact repeats). "
          f"Distinct wordings (templates before parameters and shots): {len(wordings)}, of which "
          f"{len(billed_wordings)} needed the model at least once.\n")
    print("| family | wording | requests | needed the model | LEARNER | MIXED | billed |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (fam, wording), k in sorted(billed_wordings.items(), key=lambda kv: (-kv[1], kv[0])):
        sel = [r for r in rows if (r.item.family, r.item.wording) == (fam, wording)]
        paid = [r for r in sel if r.billed]
        print(f"| {fam} | {wording} | {len(sel)} | {k} | {sum(r.mode == 'LEARNER' for r in paid)} | "
              f"{sum(r.mode == 'MIXED' for r in paid)} | {sum(r.billed for r in paid):,} |")

    print("\n### Where the billed tokens go (starter skills off, by family)\n")
    print("| family | requests | LLM calls | LEARNER | MIXED | billed | baseline | % saved |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    by_family: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_family[r.item.family].append(r)
    for fam in PHRASES:
        sel = by_family.get(fam, [])
        if not sel:
            continue
        billed = sum(r.billed for r in sel)
        base = sum(r.baseline for r in sel)
        print(f"| {fam} | {len(sel)} | {sum(r.calls for r in sel)} | {sum(r.mode == 'LEARNER' for r in sel)} | "
              f"{sum(r.mode == 'MIXED' for r in sel)} | {billed:,} | {base:,} | {pct(base - billed, base)} |")

    print("\n### Why the LLM was asked (starter skills off; from each result's `why.reason`)\n")
    print("| cause | requests | billed | share of billed |")
    print("|---|---:|---:|---:|")
    causes: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r.billed:
            causes[cause(r)].append(r)
    total_billed = sum(r.billed for r in rows) or 1
    for name, sel in sorted(causes.items(), key=lambda kv: -sum(r.billed for r in kv[1])):
        billed = sum(r.billed for r in sel)
        print(f"| {name} | {len(sel)} | {billed:,} | {100 * billed / total_billed:.1f} % |")

    bad = [("off", r) for r in rows if r.wrong or r.failed] + \
        [("on", r) for r in (starter_rows or []) if r.wrong or r.failed]
    if bad:
        print("\n### Wrong or failed answers\n")
        print("| starter skills | # | request | mode | problem |")
        print("|---|---:|---|---|---|")
        for run, r in bad[:40]:
            print(f"| {run} | {r.index + 1} | {r.item.text} | {r.mode} | "
                  f"{'; '.join(r.wrong) or 'failed: ' + str(r.failed)} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="80 requests, for a ~1 minute run")
    ap.add_argument("--requests", type=int, help="stream length (default 1000; 80 with --quick)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--exclude", default="", help=f"comma-separated families to leave out ({', '.join(PHRASES)})")
    ap.add_argument("--starter-run", action="store_true", help="run the stream again with starter_skills=True")
    ap.add_argument("--log", type=Path, help="write one JSON line per request (starter skills off) here")
    args = ap.parse_args()
    n = args.requests or (80 if args.quick else 1000)
    exclude = frozenset(f.strip() for f in args.exclude.split(",") if f.strip())
    unknown = exclude - set(PHRASES)
    if unknown:
        ap.error(f"unknown families: {', '.join(sorted(unknown))}")
    items = stream(n, args.seed, exclude)
    kinds = Counter(i.kind for i in items)
    print(f"## Token savings: {n} requests, seed {args.seed}, scripted model `{MODEL_NAME}` over HTTP (openai SDK)"
          + (f", without {', '.join(sorted(exclude))}" if exclude else "") + "\n")
    print(f"Stream: {kinds['first']} generated requests ({len({i.text for i in items})} distinct texts from "
          f"{len({(i.family, i.wording) for i in items})} wordings) and {kinds['repeat']} exact repeats; families "
          "in phases: "
          + "; ".join(f"from request {int(f * n) + 1}: {', '.join(x for x in fams if x not in exclude)}"
                      for f, fams in PHASES if set(fams) - exclude) + ".")
    print(f"Baseline: for every request, one call with a one-sentence system prompt ({LEAN_SYSTEM!r}) and the "
          "request, sent to the same scripted server through the official openai SDK; "
          "`usage.prompt_tokens + usage.completion_tokens` as billed.")

    with ScriptedLLMServer() as srv:
        srv.responder = respond
        baseline = lean_baseline(srv, items)
        srv.reset()
        srv.responder = respond
        t = time.perf_counter()
        rows = run_stream(srv, items, baseline, starter=False, progress="starter skills off")
        seconds = time.perf_counter() - t
        starter_rows, starter_seconds = None, 0.0
        if args.starter_run:
            t = time.perf_counter()
            starter_rows = run_stream(srv, items, baseline, starter=True, progress="starter skills on")
            starter_seconds = time.perf_counter() - t

    print_tables(rows, starter_rows, seconds, starter_seconds)
    billed = sum(r.billed for r in rows)
    base = sum(r.baseline for r in rows)
    wrong = sum(1 for r in rows if r.wrong)
    failed = sum(1 for r in rows if r.failed)
    met = base and (base - billed) / base >= 0.9 and wrong == 0
    print(f"\nTarget ≥ 90 % saved with 0 wrong answers (starter skills off): {'met' if met else 'NOT met'} "
          f"({pct(base - billed, base)} saved, {wrong} wrong, {failed} failed).")
    if args.log:
        with args.log.open("w") as f:
            for r in rows:
                f.write(json.dumps({"text": r.item.text, "family": r.item.family, "kind": r.item.kind,
                                    "wording": r.item.wording, "mode": r.mode, "billed": r.billed,
                                    "baseline": r.baseline, "calls": r.calls, "wrong": r.wrong, "failed": r.failed,
                                    "ms": round(r.ms, 1), "reason": r.reason, "latent": r.latent}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
