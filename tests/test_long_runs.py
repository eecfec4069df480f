"""Long runs behave like a notebook: the cell's own program runs until it finishes or the user interrupts it,
while replays, tool checks and compared answers keep the runner's bound; a run that goes on says it is still
running (through a callback, which the engine turns into a Status line). Real worker processes throughout;
nothing asserts on wall-clock time, only on which bound applied and whether the callback fired."""
from __future__ import annotations

import pytest

from llmos_jupyter.events import EventBus, Status
from llmos_jupyter.dispatch.modes import Mode
from llmos_jupyter.pipeline.execute import execute
from llmos_jupyter.pipeline.records import Answer
from llmos_jupyter.pipeline.runners import WorkerRunner
from llmos_jupyter.sandbox import Sandbox

BOUND = 1.0  # the replay bound these tests configure; the programs below sleep well past it
SLEEPS = "import time\ntime.sleep(3 * {bound})\nfinished = 'done'\nfinished".format(bound=BOUND)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("long")
    (root / "home").mkdir()
    return root


@pytest.fixture(scope="module")
def box(folders):
    with Sandbox(outputs=folders / "llmos-outputs", protect=[folders / "home"], timeout=BOUND,
                 still_running_after=0.2) as sandbox:
        yield sandbox


def test_an_unbounded_run_finishes_past_the_bound_and_says_it_is_still_running(box):
    seen: list[float] = []
    r = box.run(SLEEPS, session="long", timeout=None, on_still_running=seen.append)
    assert r.error is None, r.error
    assert r.value == "done"
    assert seen and all(s >= box.still_running_after for s in seen)
    assert seen == sorted(seen)


def test_a_bounded_run_past_the_bound_is_stopped_with_the_clear_message(box):
    seen: list[float] = []
    r = box.run(SLEEPS, session="long", on_still_running=seen.append)
    assert r.error_type == "Timeout"
    assert f"ran past {BOUND:g} s and was stopped." in r.error
    assert "LLMOS.run_timeout" in r.error
    r = box.run("2 + 2")  # the fresh worker serves
    assert r.error is None and r.value == 4


def test_a_quick_run_never_calls_the_callback(box):
    seen: list[float] = []
    r = box.run("1 + 1", timeout=None, on_still_running=seen.append)
    assert r.value == 2 and seen == []


def test_the_runner_bounds_replays_but_not_the_cells_own_program(folders):
    runner = WorkerRunner(protect=(folders / "home",), outputs=folders / "llmos-outputs", timeout=BOUND)
    try:
        namespace: dict = {}
        own = runner.run(SLEEPS, namespace, bounded=False)
        assert own.error is None, own.error
        assert namespace["finished"] == "done"
        replay = runner.run(SLEEPS, {})  # bounded by default: replays, tool checks, consensus candidates
        assert replay.error is not None and f"ran past {BOUND:g} s" in replay.error
    finally:
        runner.close()


def test_the_cells_program_shows_a_still_running_status_line_then_clears_it(folders):
    runner = WorkerRunner(protect=(folders / "home",), outputs=folders / "llmos-outputs", timeout=BOUND)
    runner._sandbox().still_running_after = 0.2
    events = EventBus()
    lines: list[str] = []
    events.subscribe(lambda e: lines.append(e.text), Status)
    try:
        run = execute(Answer(Mode.LEARNER, SLEEPS), {}, "r1", events, runner, bounded=False)
        assert run.error is None, run.error
        assert lines and lines[-1] == ""
        shown = lines[:-1]
        assert shown and all(line.startswith("Still running (") and "interrupt the kernel" in line for line in shown)
        replay = execute(Answer(Mode.FOLLOWER, SLEEPS), {}, "r2", events, runner)
        assert replay.error is not None and f"ran past {BOUND:g} s" in replay.error
    finally:
        runner.close()


def test_ctrl_c_in_the_kernel_stops_an_unbounded_run_and_the_worker_lives_on(box, folders):
    """The only way to stop a cell's own program is the user's interrupt: SIGINT to the kernel's main thread
    while it waits reaches the program as KeyboardInterrupt, and the same worker serves the next run."""
    import signal
    import threading
    import time

    started = folders / "llmos-outputs" / "unbounded-started"
    box.run("kept = 'still here'", session="interrupted")
    first = box.pid

    def interrupt_once_running():
        while not started.exists():
            time.sleep(0.02)
        time.sleep(0.2)  # the kernel is waiting on the reply by now
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    # A kernel turns SIGINT into KeyboardInterrupt; a test run started in the background has SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt_once_running, daemon=True).start()
        r = box.run(f"import time\nopen({str(started)!r}, 'w').close()\nwhile True:\n    time.sleep(0.01)",
                    session="interrupted", timeout=None)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert r.error_type == "KeyboardInterrupt"
    assert box.pid == first
    assert box.run("kept", session="interrupted").value == "still here"
