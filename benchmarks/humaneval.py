"""Qiskit HumanEval through `LLMOS.run`: is every answer right, and how many repeats cost zero tokens?

What it measures
    The 151 tasks of Qiskit HumanEval (../shared/data/qiskit_humaneval.json, read in place) as a user
    would paste them: the docstring's text, a line break, and "You must implement this using a function
    named `f` with the signature `def f(...)`.". A scripted model behind a real HTTP ScriptedLLMServer
    (reached through the official openai SDK) answers each request with the task's own program, prompt +
    canonical_solution, in a ```python block, billing cl100k counts of what was sent and returned. It finds
    the task by the entry point's name in the request (the last user message, or else the MIXED worked
    example in the system prompt).

    Three passes over the tasks, in one home with starter skills off, each task-pass in a fresh namespace:
      first      the request, cold memory;
      repeat     the same text again;
      reworded   light rewordings that change no program (a "Please", "Can you write…", "Implement it as a
                 function named" for "You must implement this using a function named", no trailing periods,
                 a "Thanks!", a politeness-only preamble: "Please help me with this. ", "Quick task: ",
                 "Hello! I have a question for you: ", "Could you help me with the following? ");
                 --rewordings of them per task, chosen with --seed (--rewordings 9 asks them all).
    After each answer the task's own `check(entry_point)` runs against the function the engine left in the
    namespace it ran in (the test's globals get the prompt's imports, as HumanEval runs it).

    right    the function is there and passes check.
    wrong    the function is missing, or check fails (assertion, exception, or over --check-timeout s).
    failed   run() raised, or the Result has `error` set.
    zero     tokens.input + tokens.output == 0 (answered from memory).

    Left out, with the reason printed: tasks that need an IBM account (QiskitRuntimeService), Graphviz or
    qiskit-ibm-transpiler (found by text in prompt, solution or test); tasks importing a module that is not
    installed here (qiskit-ibm-runtime and matplotlib are not dependencies of this project); tasks whose own
    canonical solution fails its check in this environment (the engine cannot do better than the program
    the scripted model sends).

    With --t0 FOLDER (an adapter folder, home/adapters/NAME, made by %llmos finetune or
    benchmarks/finetune.py) the home holds that adapter and runs with tiers T0 = local:NAME (in-process, the
    real fine-tuned SmolLM2) and T2 = the scripted model: the engine's own routing decides which requests
    T0 answers, a T0 program that fails its trace's checks goes on to T2, and the "Tiers" table counts them.
    These tasks are not parameter variations of the starter families an adapter usually learns, so this
    shows whether T0 takes requests it should not, on requests we did not write.

    python benchmarks/humaneval.py [--limit N] [--seed S] [--rewordings K] [--check-timeout S] [--log x.jsonl]
                                   [--t0 HOME/adapters/NAME]

Targets (from the issue): 0 wrong answers on the first pass; >= 95 % of exact repeats at zero tokens;
>= 80 % of light rewordings at zero tokens; every answer passes its test. A missed target is printed, not
an error: the exit status is non-zero only if the benchmark itself crashes.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import json
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmos_jupyter import LLMOS  # noqa: E402
from llmos_jupyter.testing import Reply, Request, ScriptedLLMServer  # noqa: E402
from llmos_jupyter.testing.qiskit_model import prompt_tokens  # noqa: E402
from llmos_jupyter.tokencount import count_tokens  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "qiskit_humaneval.json"
MODEL_NAME = "scripted-humaneval"
PASSES = ("first", "repeat", "reworded")
MODES = ("CRYSTALLIZED", "FOLLOWER", "MIXED", "LEARNER")

# Left out by text: (what it needs, patterns in prompt + canonical_solution + test)
NEEDS = [
    ("an IBM Quantum account (QiskitRuntimeService)", [r"QiskitRuntimeService"]),
    ("Graphviz", [r"graphviz", r"\bdag_drawer\b", r"\bpydot\b"]),
    ("qiskit-ibm-transpiler", [r"qiskit_ibm_transpiler", r"qiskit-ibm-transpiler"]),
]


@dataclass
class Task:
    task_id: str
    prompt: str
    solution: str
    test: str
    entry_point: str
    difficulty: str

    @property
    def program(self) -> str:
        return self.prompt + self.solution

    @property
    def imports(self) -> str:
        """The prompt's lines before the function: what HumanEval's test sees as globals."""
        head = self.prompt.split(f"def {self.entry_point}", 1)[0]
        return head

    @property
    def signature(self) -> str:
        m = re.search(rf"^def {re.escape(self.entry_point)}\b.*?:\s*$", self.prompt, re.M | re.S)
        line = m.group(0) if m else f"def {self.entry_point}(...):"
        return " ".join(line.split())

    @property
    def docstring(self) -> str:
        tree = ast.parse(self.program)
        fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == self.entry_point)
        return (ast.get_docstring(fn) or "").strip()


def load(path: Path) -> list[Task]:
    return [Task(r["task_id"], r["prompt"], r["canonical_solution"], r["test"], r["entry_point"],
                 r["difficulty_scale"]) for r in json.loads(path.read_text())]


def needs(task: Task) -> str | None:
    text = task.prompt + task.solution + task.test
    for what, patterns in NEEDS:
        if any(re.search(p, text, re.I) for p in patterns):
            return what
    return None


def missing_modules(task: Task) -> list[str]:
    mods: set[str] = set()
    for source in (task.program, task.test):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                mods |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                mods.add(node.module.split(".")[0])
    return sorted(m for m in mods if importlib.util.find_spec(m) is None)


# -- the requests ---------------------------------------------------------------------------------
INSTRUCTION = "You must implement this using a function named `{ep}` with the signature `{sig}`."


def request(task: Task) -> str:
    """The task as a user would paste it: the docstring, a line break, the function it must be."""
    return f"{task.docstring}\n{INSTRUCTION.format(ep=task.entry_point, sig=task.signature)}"


def _lower_first(text: str) -> str:
    # "Generate a circuit" -> "generate a circuit", but "QFT of ..." and "Qiskit ..." keep their capitals
    word = text.split(" ", 1)[0]
    return text if not word[:1].isupper() or word[1:2].isupper() or word in ("Qiskit", "I") else text[0].lower() + text[1:]


REWORDINGS = {
    "please": lambda t: "Please " + _lower_first(t),
    "can you": lambda t: "Can you write this in Qiskit? " + t,
    "implement it as": lambda t: t.replace("You must implement this using a function named",
                                           "Implement it as a function named"),
    "no trailing periods": lambda t: "\n".join(line.rstrip().rstrip(".") for line in t.split("\n")),
    "thanks": lambda t: t + "\nThanks!",
    # politeness-only preambles (issue #24): a sentence that names nothing is dropped before matching
    "please help": lambda t: "Please help me with this. " + t,
    "quick task": lambda t: "Quick task: " + t,
    "hello question": lambda t: "Hello! I have a question for you: " + t,
    "could you help": lambda t: "Could you help me with the following? " + t,
}


# -- the scripted model ---------------------------------------------------------------------------
def _system_text(req: Request) -> str:
    body = req.body
    if isinstance(body.get("system"), str):
        return body["system"]
    if isinstance(body.get("system"), list):
        return "\n".join(b.get("text", "") for b in body["system"] if isinstance(b, dict))
    return "\n".join(m.get("content", "") for m in body.get("messages", [])
                     if isinstance(m, dict) and m.get("role") == "system" and isinstance(m.get("content"), str))


class Responder:
    """Answers a task's request with prompt + canonical_solution; bills cl100k counts."""

    def __init__(self, tasks: list[Task]) -> None:
        self.by_name: dict[str, list[Task]] = defaultdict(list)
        for t in tasks:
            self.by_name[t.entry_point].append(t)
        self.unmatched: list[str] = []

    def task_for(self, text: str) -> Task | None:
        named = re.search(r"function named `([^`]+)`", text)
        if named and named.group(1) in self.by_name:
            name = named.group(1)
        else:
            names = [n for n in self.by_name if re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", text)]
            if not names:
                return None
            name = max(names, key=len)
        candidates = self.by_name[name]
        if len(candidates) == 1:
            return candidates[0]
        # one entry point, several tasks (create_state_prep, circuit, ...): the signature, then the docstring's
        # words tell them apart
        flat = " ".join(text.split())
        words = set(re.findall(r"\w+", text.lower()))

        def score(t: Task) -> tuple[bool, float]:
            doc = re.findall(r"\w+", t.docstring.lower())
            return t.signature in flat, sum(w in words for w in doc) / max(1, len(doc))
        return max(candidates, key=score)

    def __call__(self, req: Request) -> Reply:
        task = self.task_for(req.last_user_text()) or self.task_for(_system_text(req))
        if task is None:
            self.unmatched.append(req.last_user_text()[:120])
            text = "I can only answer the Qiskit HumanEval tasks, by their function names."
        else:
            text = f"```python\n{task.program.rstrip()}\n```\nThis defines `{task.entry_point}` as asked."
        return Reply(text=text, input_tokens=prompt_tokens(req), output_tokens=count_tokens(text), model=MODEL_NAME)


# -- checking -------------------------------------------------------------------------------------
class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float):
    def fire(*_):
        raise _Timeout(f"over {seconds:g} s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _short(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0][:160] if msg else ''}".rstrip(": ")


def check(task: Task, candidate, timeout: float) -> str | None:
    """None when `candidate` passes the task's own check; else why not."""
    env: dict = {"__name__": "__humaneval_test__"}
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                _deadline(timeout):
            exec(compile(task.imports, f"<{task.task_id} imports>", "exec"), env)
            exec(compile(task.test, f"<{task.task_id} test>", "exec"), env)
            env["check"](candidate)
    except _Timeout as exc:
        return f"check timed out ({exc})"
    except AssertionError as exc:
        return f"check failed: {_short(exc)}" if str(exc) else "check failed: AssertionError"
    except Exception as exc:  # noqa: BLE001 - any exception in the test is a failed check
        return f"check raised {_short(exc)}"
    return None


def canonical_problem(task: Task, timeout: float) -> str | None:
    """Whether the task's own program passes its own check here (else it is left out)."""
    ns: dict = {"__name__": "__main__"}
    # In a scratch folder: some programs and their checks write files (bell.qpy) where they run.
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    _deadline(timeout):
                exec(compile(task.program, f"<{task.task_id}>", "exec"), ns)
        except Exception as exc:  # noqa: BLE001
            return f"program raised {_short(exc)}"
        return check(task, ns.get(task.entry_point), timeout)


# -- running --------------------------------------------------------------------------------------
@dataclass
class Row:
    task: Task
    pass_: str
    wording: str  # "as written" or the rewording's name
    text: str
    mode: str = ""
    billed: int = 0
    calls: int = 0
    outcome: str = ""  # right | wrong | failed
    problem: str = ""
    reason: str = ""  # the engine's why.reason
    tier: str = ""  # the tier that answered, and why (with --t0)
    tier_reason: str = ""
    ms: float = 0.0

    @property
    def zero(self) -> bool:
        return self.outcome != "failed" and self.billed == 0


def run_one(llmos: LLMOS, srv: ScriptedLLMServer, task: Task, pass_: str, wording: str, text: str,
            timeout: float) -> Row:
    row = Row(task, pass_, wording, text)
    namespace: dict = {}
    before = len(srv.requests)
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            r = llmos.run(text, namespace=namespace)
    except Exception as exc:  # noqa: BLE001 - a raised error is a failed answer, not a crash
        row.ms = (time.perf_counter() - started) * 1000
        row.calls = len(srv.requests) - before
        row.mode, row.outcome, row.problem = "ERROR", "failed", f"run() raised {_short(exc)}"
        return row
    row.ms = (time.perf_counter() - started) * 1000
    row.calls = len(srv.requests) - before
    row.mode = str(r.mode)
    row.billed = r.tokens.input + r.tokens.output
    row.reason = str(r.why.get("reason", ""))[:300]
    row.tier, row.tier_reason = str(r.why.get("tier") or ""), str(r.why.get("tier_reason") or "")
    if r.error:
        lines = [ln for ln in r.error.strip().splitlines() if ln.strip()]
        row.outcome, row.problem = "failed", "error: " + (lines[-1][:200] if lines else "?")
        return row
    fn = namespace.get(task.entry_point)
    if not callable(fn):
        row.outcome, row.problem = "wrong", f"no function `{task.entry_point}` in the namespace"
        return row
    problem = check(task, fn, timeout)
    row.outcome, row.problem = ("wrong", problem) if problem else ("right", "")
    return row


def _forget_tool_modules(home: Path) -> None:
    tools = str(home / "tools")
    while tools in sys.path:
        sys.path.remove(tools)
    for name, module in list(sys.modules.items()):
        if name.startswith("llmos_") and str(getattr(module, "__file__", "") or "").startswith(tools):
            del sys.modules[name]


def run_passes(srv: ScriptedLLMServer, tasks: list[Task], rewordings: int, seed: int, timeout: float,
               t0: Path | None = None) -> list[Row]:
    rng = random.Random(seed)
    chosen = {t.task_id: rng.sample(sorted(REWORDINGS), min(rewordings, len(REWORDINGS))) for t in tasks}
    rows: list[Row] = []
    # In a scratch folder: the engine's sandbox works where the kernel does, and some answers save files there.
    with tempfile.TemporaryDirectory(prefix="llmos-humaneval-") as tmp, contextlib.chdir(tmp):
        home = Path(tmp) / "home"
        tiers = {}
        if t0 is not None:
            shutil.copytree(t0, home / "adapters" / t0.name)
            tiers = {"T0": f"local:{t0.name}", "T2": f"openai:{MODEL_NAME}"}
        llmos = LLMOS(home=home, provider="openai", model=MODEL_NAME, base_url=srv.openai_base_url, api_key="x",
                      starter_skills=False, stream=False, max_retries=0, tiers=tiers)
        try:
            for pass_ in PASSES:
                for i, task in enumerate(tasks):
                    base = request(task)
                    if pass_ == "reworded":
                        jobs = [(name, REWORDINGS[name](base)) for name in chosen[task.task_id]]
                    else:
                        jobs = [("as written", base)]
                    for wording, text in jobs:
                        rows.append(run_one(llmos, srv, task, pass_, wording, text, timeout))
                    if (i + 1) % 25 == 0:
                        print(f"  … {pass_}: {i + 1}/{len(tasks)} tasks", file=sys.stderr, flush=True)
        finally:
            llmos.close()
            _forget_tool_modules(home)
    return rows


# -- tables ---------------------------------------------------------------------------------------
def share(k: int, n: int) -> str:
    return f"{100 * k / n:.1f} %" if n else "–"


def group(row: Row) -> str:
    """A failure reason with the task-specific detail taken out, to count alike failures together."""
    p = row.problem
    p = re.sub(r"`[^`]*`", "`…`", p)
    p = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", p)
    p = re.sub(r"\d+(\.\d+)?", "N", p)
    return p[:110]


def billed_cause(row: Row) -> str:
    why = row.reason
    if row.mode == "LEARNER":
        return "LEARNER: memory empty" if "empty" in why else "LEARNER: nothing in memory close enough"
    if row.mode == "MIXED":
        m = re.search(r"failed verification \(([^)]*)\)", why)
        if m:
            return f"MIXED: a replay failed its recorded checks ({m.group(1)})"
        m = re.search(r"no replay because [0-9a-f]+: (.*)", why)
        if m:  # the nearest trace was close enough, a check on its words stopped the replay
            return "MIXED: close, but no replay: " + re.sub(r"'[^']*'", "'…'", m.group(1))[:90]
        if "worked example" in why:
            return "MIXED: similar, but below the replay (FOLLOWER) threshold"
        return "MIXED: " + (re.sub(r"\d+(\.\d+)?", "N", why)[:90] or "no reason given")
    return f"{row.mode}: {why[:90]}"


def print_tables(rows: list[Row], tasks: list[Task], seconds: float) -> dict[str, bool]:
    print("\n### Per pass\n")
    print("| pass | requests | tasks | right | wrong | failed | zero-token | zero-token share | LLM calls "
          "| billed tokens | mean ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_pass = {p: [r for r in rows if r.pass_ == p] for p in PASSES}
    for p, sel in by_pass.items():
        n = len(sel)
        c = Counter(r.outcome for r in sel)
        z = sum(r.zero for r in sel)
        print(f"| {p} | {n} | {len({r.task.task_id for r in sel})} | {c['right']} | {c['wrong']} | {c['failed']} | "
              f"{z} | {share(z, n)} | {sum(r.calls for r in sel)} | {sum(r.billed for r in sel):,} | "
              f"{sum(r.ms for r in sel) / n if n else 0:,.0f} |")
    n = len(rows)
    c = Counter(r.outcome for r in rows)
    print(f"| all | {n} | {len(tasks)} | {c['right']} | {c['wrong']} | {c['failed']} | {sum(r.zero for r in rows)} | "
          f"{share(sum(r.zero for r in rows), n)} | {sum(r.calls for r in rows)} | {sum(r.billed for r in rows):,} | "
          f"{sum(r.ms for r in rows) / n if n else 0:,.0f} |")
    print(f"\n{seconds:.0f} s in all.")

    print("\n### Modes seen\n")
    modes = [*MODES, *sorted({r.mode for r in rows} - set(MODES))]
    print("| pass | " + " | ".join(modes) + " |")
    print("|---|" + "---:|" * len(modes))
    for p, sel in by_pass.items():
        mix = Counter(r.mode for r in sel)
        print(f"| {p} | " + " | ".join(str(mix[m]) for m in modes) + " |")

    if any(r.tier for r in rows):
        print_tiers(rows, by_pass)

    reworded = by_pass["reworded"]
    if reworded:
        print("\n### Rewordings\n")
        print("| rewording | requests | zero-token | share | right | wrong | failed |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in REWORDINGS:
            sel = [r for r in reworded if r.wording == name]
            if sel:
                c = Counter(r.outcome for r in sel)
                z = sum(r.zero for r in sel)
                print(f"| {name} | {len(sel)} | {z} | {share(z, len(sel))} | {c['right']} | {c['wrong']} | "
                      f"{c['failed']} |")

    print("\n### By difficulty (first pass)\n")
    print("| difficulty | tasks | right | wrong | failed |")
    print("|---|---:|---:|---:|---:|")
    for d in ("basic", "intermediate", "difficult"):
        sel = [r for r in by_pass["first"] if r.task.difficulty == d]
        if sel:
            c = Counter(r.outcome for r in sel)
            print(f"| {d} | {len(sel)} | {c['right']} | {c['wrong']} | {c['failed']} |")

    bad = [r for r in rows if r.outcome != "right"]
    if bad:
        print("\n### Wrong and failed answers, grouped\n")
        print("| outcome | reason | answers | passes | examples (task: mode) |")
        print("|---|---|---:|---|---|")
        groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for r in bad:
            groups[(r.outcome, group(r))].append(r)
        for (outcome, reason), sel in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            passes = ", ".join(f"{p} {k}" for p, k in Counter(r.pass_ for r in sel).items())
            ex = "; ".join(f"{r.task.task_id.split('/')[-1]} {r.task.entry_point}: {r.mode}" for r in sel[:3])
            print(f"| {outcome} | {reason.replace('|', '/')} | {len(sel)} | {passes} | {ex} |")
        print("\nFirst examples in full:\n")
        shown: set[tuple[str, str]] = set()
        for r in bad:
            key = (r.outcome, group(r))
            if key in shown:
                continue
            shown.add(key)
            print(f"- {r.task.task_id} `{r.task.entry_point}` ({r.pass_}, {r.wording}, {r.mode}): "
                  f"{r.problem.replace('|', '/')}")

    later = [r for r in rows if r.pass_ != "first" and not r.zero and r.outcome != "failed"]
    if later:
        print("\n### Why repeats and rewordings were billed (from each result's `why.reason`)\n")
        print("| cause | repeat | reworded | billed tokens | examples |")
        print("|---|---:|---:|---:|---|")
        causes: dict[str, list[Row]] = defaultdict(list)
        for r in later:
            causes[billed_cause(r)].append(r)
        for name, sel in sorted(causes.items(), key=lambda kv: -len(kv[1])):
            k = Counter(r.pass_ for r in sel)
            ex = "; ".join(f"{r.task.task_id.split('/')[-1]} ({r.wording})" for r in sel[:3])
            print(f"| {name.replace('|', '/')} | {k['repeat']} | {k['reworded']} | {sum(r.billed for r in sel):,} "
                  f"| {ex} |")

    first, repeat = by_pass["first"], by_pass["repeat"]
    first_wrong = sum(r.outcome == "wrong" for r in first)
    rep_zero = sum(r.zero for r in repeat)
    rew_zero = sum(r.zero for r in reworded)
    not_right = sum(r.outcome != "right" for r in rows)
    c = Counter(r.outcome for r in rows)
    targets = {
        "0 wrong answers on the first pass": (first_wrong == 0, f"{first_wrong} wrong"),
        ">= 95 % of exact repeats at zero tokens": (bool(repeat) and rep_zero / len(repeat) >= 0.95,
                                                    f"{share(rep_zero, len(repeat))}"),
        ">= 80 % of light rewordings at zero tokens": (bool(reworded) and rew_zero / len(reworded) >= 0.80,
                                                       f"{share(rew_zero, len(reworded))}"),
        "every answer passes its test": (not_right == 0, f"{not_right} of {len(rows)} did not "
                                         f"({c['wrong']} wrong, {c['failed']} failed)"),
    }
    print("\n### Targets\n")
    for name, (met, detail) in targets.items():
        print(f"- {name}: {'met' if met else 'NOT met'} ({detail})")
    return {k: v[0] for k, v in targets.items()}


def print_tiers(rows: list[Row], by_pass: dict[str, list[Row]]) -> None:
    """Which tier answered the billed requests (--t0), and what became of the requests T0 tried."""
    tiers = sorted({r.tier for r in rows if r.tier})
    print("\n### Tiers (requests that reached a model)\n")
    print("| pass | " + " | ".join(tiers) + " | T0 tried, then T2 |")
    print("|---|" + "---:|" * (len(tiers) + 1))
    for p, sel in by_pass.items():
        mix = Counter(r.tier for r in sel)
        handed_on = sum("T0's program failed" in r.tier_reason for r in sel)
        print(f"| {p} | " + " | ".join(str(mix[t]) for t in tiers) + f" | {handed_on} |")
    tried = [r for r in rows if r.tier == "T0" or "T0's program failed" in r.tier_reason]
    kept = [r for r in tried if r.tier == "T0"]
    print(f"\nT0 tried {len(tried)} request(s): its program was kept for {len(kept)} "
          f"({sum(r.outcome == 'right' for r in kept)} right, {sum(r.outcome == 'wrong' for r in kept)} wrong), "
          f"and {len(tried) - len(kept)} went on to T2.")
    for r in tried[:10]:
        print(f"- {r.task.task_id} `{r.task.entry_point}` ({r.pass_}): {r.tier}, {r.outcome}; "
              f"{(r.tier_reason or r.reason)[:160]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, help="only the first N usable tasks")
    ap.add_argument("--seed", type=int, default=7, help="picks each task's rewordings")
    ap.add_argument("--rewordings", type=int, default=3, help=f"rewordings per task (of {len(REWORDINGS)})")
    ap.add_argument("--check-timeout", type=float, default=180.0,
                    help="seconds for one program or check (task 100, Solovay-Kitaev, takes ~35 s on an idle core)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--log", type=Path, help="write one JSON line per answer here")
    ap.add_argument("--t0", type=Path, metavar="FOLDER",
                    help="an adapter folder (HOME/adapters/NAME): serve it as tier T0, the scripted model as T2")
    args = ap.parse_args()
    # The passes run in a scratch folder: paths given relative to where the command ran are resolved first.
    args.data, args.log, args.t0 = (None if p is None else p.resolve() for p in (args.data, args.log, args.t0))
    if args.t0 is not None and not (args.t0 / "card.json").is_file():
        ap.error(f"--t0 {args.t0}: no card.json there; pass an adapter folder, HOME/adapters/NAME, that "
                 "%llmos finetune or benchmarks/finetune.py wrote")

    every = load(args.data)
    left_out: dict[str, list[Task]] = defaultdict(list)
    usable: list[Task] = []
    for task in every:
        if args.limit is not None and len(usable) >= args.limit:
            break
        need = needs(task)
        if need:
            left_out[f"needs {need}"].append(task)
            continue
        missing = missing_modules(task)
        if missing:
            left_out[f"imports {', '.join(missing)}, not installed here"].append(task)
            continue
        problem = canonical_problem(task, args.check_timeout)
        if problem:
            left_out[f"its canonical solution fails here: {problem}"].append(task)
            continue
        usable.append(task)
    seen = len(usable) + sum(len(v) for v in left_out.values())

    print(f"## Qiskit HumanEval: {len(usable)} tasks, seed {args.seed}, scripted model `{MODEL_NAME}` over HTTP "
          "(openai SDK), starter skills off\n")
    print(f"Data: {args.data} ({len(every)} tasks; {seen} looked at"
          + (f", --limit {args.limit}" if args.limit is not None else "") + f"). Left out: "
          f"{sum(len(v) for v in left_out.values())}.")
    for why, sel in sorted(left_out.items(), key=lambda kv: -len(kv[1])):
        ids = ", ".join(t.task_id.split("/")[-1] for t in sel)
        print(f"- {len(sel)}: {why} ({ids})")
    print("\nRequest (as a user would paste it): the docstring, a line break, then "
          f"\"{INSTRUCTION.format(ep='f', sig='def f(...):')}\". The model answers with prompt + "
          "canonical_solution. Passes: first (cold), exact repeat, "
          f"{args.rewordings} light rewording(s) per task of: {', '.join(REWORDINGS)}.")
    if usable:
        print(f"\nExample request ({usable[0].task_id}):\n\n```\n{request(usable[0])}\n```")
    if not usable:
        return 0

    responder = Responder(usable)
    with ScriptedLLMServer() as srv:
        srv.responder = responder
        t = time.perf_counter()
        rows = run_passes(srv, usable, args.rewordings, args.seed, args.check_timeout, args.t0)
        seconds = time.perf_counter() - t

    print_tables(rows, usable, seconds)
    if responder.unmatched:
        print(f"\nThe scripted model found no task in {len(responder.unmatched)} request(s), e.g. "
              f"{responder.unmatched[0]!r}.")
    if args.log:
        with args.log.open("w") as f:
            for r in rows:
                f.write(json.dumps({"task_id": r.task.task_id, "entry_point": r.task.entry_point, "pass": r.pass_,
                                    "wording": r.wording, "text": r.text, "mode": r.mode, "billed": r.billed,
                                    "calls": r.calls, "outcome": r.outcome, "problem": r.problem,
                                    "reason": r.reason, "tier": r.tier, "tier_reason": r.tier_reason,
                                    "ms": round(r.ms, 1)}) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # the benchmark itself crashed
        traceback.print_exc()
        sys.exit(2)
