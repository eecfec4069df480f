"""The guard stage (pipeline/guard.py): may a model's program run? In the kernel the guard decides; in the
sandboxed worker its findings are a warning; --trust runs it and keeps the findings. Each row is a program and
where it would run, and the verdict it gets."""
from __future__ import annotations

import pytest

from llmos_jupyter.events import EventBus, GuardBlocked
from llmos_jupyter.pipeline.guard import guard, guard_problem

from .build import BELL, answer

READS_KEYS = "import os\nprint(os.environ['OPENAI_API_KEY'])\n"
STARTS = "import subprocess\nsubprocess.run(['ls'])\n"
LISTS_FOLDER = "import os\nprint(os.listdir('.'))\n"  # fine, except under strict checks
WRITES = "with open('counts.json', 'w') as f:\n    f.write('{}')\n"  # in the working folder


@pytest.mark.parametrize("code,strict,trust,sandboxed,verdict,finding,notice", [
    (BELL, False, False, False, "allowed", None, None),
    (READS_KEYS, False, False, False, "blocked", "reads the environment", "Not run: "),
    (STARTS, False, False, False, "blocked", "starts other programs", "Not run: "),
    (READS_KEYS, False, False, True, "warned", "reads the environment", "Warning: "),
    (READS_KEYS, False, True, False, "trusted", "reads the environment", None),
    (READS_KEYS, False, True, True, "trusted", "reads the environment", None),
    (LISTS_FOLDER, False, False, False, "allowed", None, None),
    (LISTS_FOLDER, True, False, False, "blocked", "touches the operating system", "Not run: "),
    (WRITES, False, False, False, "allowed", None, None),
    (WRITES, True, False, True, "warned", "writes a file", "Warning: "),
    ("def broken(:\n", False, False, False, "allowed", None, None),
], ids=["a clean program runs", "reading the keys is blocked in the kernel", "starting programs is blocked",
        "in the worker it is a warning", "--trust runs it and keeps the findings", "--trust in the worker is trusted",
        "the os module alone is fine", "strict checks block the os module", "writing in the working folder is fine",
        "strict checks warn of any write in the worker", "a syntax error is left for execute to report"])
def test_the_verdict_depends_on_the_program_and_where_it_runs(code, strict, trust, sandboxed, verdict, finding,
                                                              notice):
    events, heard = EventBus(), []
    events.subscribe(heard.append, GuardBlocked)
    v = guard(answer(code=code), "r1", events, strict=strict, trust=trust, sandboxed=sandboxed)
    assert v.allowed is (verdict != "blocked")
    assert (v.trusted, v.warned) == (verdict == "trusted", verdict == "warned")
    assert any(finding in f for f in v.findings) if finding else v.findings == ()
    assert (v.notice or "").startswith(notice) if notice else v.notice is None
    # The displays hear of every finding, and whether the program ran anyway.
    assert heard == ([GuardBlocked("r1", v.findings, trusted=verdict in ("trusted", "warned"))] if finding else [])


def test_a_blocked_verdict_says_how_to_run_it_anyway():
    v = guard(answer(code=READS_KEYS), "r1", EventBus(), strict=False, trust=False, sandboxed=False)
    assert "line 2" in v.notice and "add --trust to this cell" in v.notice


@pytest.mark.parametrize("code,strict,problem", [
    (BELL, False, None),
    (READS_KEYS, False, "blocked by the guard: line 2: this program reads the environment"),
    (LISTS_FOLDER, True, "blocked by the guard: line 1: this program touches the operating system"),
], ids=["a clean program may be stored", "a blocked one may not", "strict checks apply to stored code too"])
def test_stored_code_is_refused_for_what_the_guard_finds(code, strict, problem):
    found = guard_problem(code, strict=strict)
    assert found is None if problem is None else found.startswith(problem)
