"""Stage 6, verify: does what ran answer the request? A replay must pass the checks its trace recorded
and produce the same kinds of results; a fresh answer must match the request's own numbers (qubits,
shots, bitstrings) when it measured, and must have produced something, before it may be stored."""
from __future__ import annotations

import ast
import builtins

from .dispatcher import Decision
from ..modes import Mode
from ..memory import results
from ..memory.checks import check_values, failures
from .records import Answer, Run, Verification

# Names a notebook or the worker gives every program; a program may read them without defining them.
_GIVEN = frozenset(dir(builtins)) | {"__name__", "__file__", "__builtins__", "get_ipython", "display", "In", "Out"}
NO_RESULT = ("The program ran without error but produced nothing: no output, counts, value, names or figures, "
             "so there is no answer. Ask for what it should return or print.")


def verify_replay(decision: Decision, answer: Answer, run: Run) -> Verification:
    if not run.executed:
        return Verification(None)
    if run.error:
        return Verification(False, (f"raised {run.error.strip().splitlines()[-1]}",))
    values = {**decision.request_values, **decision.values}
    problems = failures(run.counts, check_values(values), decision.trace.checks)
    if answer.mode != Mode.CRYSTALLIZED:  # a tool returns only its counts, not the program's names
        problems += results.failures(decision.trace.results, run.produced)
    return Verification(not problems, tuple(problems), learnable=not problems)


def verify_answer(decision: Decision, run: Run, code: str | None = None) -> Verification:
    if not run.executed or run.error:
        return Verification(None)
    if not run.has_result:
        return Verification(False, ("no_result",), error=NO_RESULT)
    borrowed = borrowed_names(code or "")
    if borrowed:  # it ran on names an earlier program left in the session; a replay runs in a clean process
        return Verification(True, learnable=False, notice=(
            f"The program uses {', '.join(borrowed)} without defining or importing it (an earlier program left "
            "it in the session), so it was not stored in memory: a replay, which starts clean, would fail."))
    if not run.counts:
        return Verification(True, learnable=True)  # checked by kind on replay: the same names and types
    problems = failures(run.counts, check_values(decision.request_values))
    if problems:
        return Verification(False, tuple(problems), notice=(
            f"The program ran but does not match the request ({', '.join(problems)}), "
            "so it was not stored in memory."))
    return Verification(True, learnable=True)


def verify_variation(decision: Decision, run: Run, verification: Verification) -> Verification:
    """An answer from a fine-tuned local model (T0) to a new value of a family it learned must also pass what
    the family's trace recorded of its verified runs, with the request's values, as a replay would; one that
    does not is neither stored nor kept (the engine asks the next tier)."""
    if verification.verified is not True or decision.trace is None:
        return verification
    problems = failures(run.counts, check_values(decision.request_values), decision.trace.checks) if run.counts \
        else []
    problems += results.failures(decision.trace.results, run.produced)
    if not problems:
        return verification
    return Verification(False, tuple(problems), notice=(
        f"The local model's program does not pass the checks of the family it learned ({', '.join(problems)})."))


def borrowed_names(code: str) -> list[str]:
    """Names the program reads but never binds (assignment, import, def, class, argument, loop or with
    target, anywhere in it), beyond builtins and what a notebook gives: what it took from the session."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound |= set(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree)):
        return []  # a star import binds names no parse can see
    return sorted(read - bound - _GIVEN)
