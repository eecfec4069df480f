"""One thread that starts every worker, and lives as long as the kernel. The worker asks the OS to kill it when
its parent goes (PR_SET_PDEATHSIG), and Linux means by "parent" the thread that forked it: were a worker started
from a short-lived thread (the first request's background start), it would be killed when that thread ended."""
from __future__ import annotations

import os
import queue
import threading
from typing import Any, Callable

_lock = threading.Lock()
_state: dict[str, Any] = {"pid": None, "jobs": None}


def _serve(jobs: queue.SimpleQueue) -> None:
    while True:
        make, done = jobs.get()
        try:
            done.append((True, make()))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller, raised there
            done.append((False, exc))
        finally:
            done.event.set()


class _Done(list):
    def __init__(self):
        super().__init__()
        self.event = threading.Event()


def spawn(make: Callable[[], Any]) -> Any:
    """`make()` run on the spawning thread; its value, or its exception raised here."""
    with _lock:
        if _state["pid"] != os.getpid():  # first use, or a forked child (which has no copy of the thread)
            jobs: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(jobs,), name="llmos-worker-spawner", daemon=True).start()
            _state.update(pid=os.getpid(), jobs=jobs)
        jobs = _state["jobs"]
    done = _Done()
    jobs.put((make, done))
    done.event.wait()
    ok, value = done[0]
    if not ok:
        raise value
    return value
