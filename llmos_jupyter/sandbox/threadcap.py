"""A bound on the threads a program starts. Linux exempts a root worker from RLIMIT_NPROC and Python 3.11 raises
no audit event when a thread starts, so the worker wraps the one function every Python thread goes through
(_thread.start_new_thread, which threading holds as _start_new_thread) with a count of the process's live
tasks. Like the audit hook this is a clear message, not a boundary: a program that reaches native code or
restores the original can go past it; RLIMIT_NPROC (an ordinary user) and RLIMIT_AS (each stack is mapped)
still hold then."""
from __future__ import annotations

import os

SPARE_THREADS = 256  # threads a program may start above what the worker runs at its start


def install(spare: int = SPARE_THREADS) -> int:
    """Wrap thread creation; the most tasks (threads, the worker's own and native ones included) allowed."""
    import _thread
    import threading

    listdir, original = os.listdir, _thread.start_new_thread
    most = len(listdir("/proc/self/task")) + spare

    def start_new_thread(function, args, kwargs=None):
        running = len(listdir("/proc/self/task"))
        if running >= most:
            raise RuntimeError(f"can't start new thread: the sandbox allows {spare} threads besides its own "
                               f"({running} running). Use a pool (concurrent.futures.ThreadPoolExecutor) of a "
                               "few threads instead of one thread per task.")
        return original(function, args, *(() if kwargs is None else (kwargs,)))

    _thread.start_new_thread = _thread.start_new = start_new_thread
    threading._start_new_thread = start_new_thread
    return most
