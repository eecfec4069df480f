"""A sandboxed worker process for model-written programs.

    box = Sandbox(workdir=None, outputs=Path("llmos-outputs"), protect=(home,), timeout=60.0,
                  memory_mb=8192, file_mb=1024)
    res = box.run(code, session="default")     # a WorkerResult; the session's names persist across runs
    box.call(session, "f", args, kwargs)        # a function an earlier run defined, run in the worker
    box.protections, box.notices                # what is in force; a sentence for anything that is not
    box.restart(); box.close()                  # also a context manager

What keeps a program in: another process (nothing of the kernel's reachable), an environment without the
kernel's secrets, its own network namespace, no capabilities, no_new_privs, rlimits (address space, file
size, core), Landlock (writes only in the workdir and outputs, reads only of what Python needs, never a
protected folder; no TCP; no signals out), a seccomp filter (no fork/exec, no sockets, no mount, ptrace,
modules...), then an audit hook that turns most attempts into a PermissionError naming what was refused.
What comes back does so only in forms whose loading cannot run code: JSON, QPY, .npy (never pickle); the
rest stays in the worker (`left_behind`). worker.py gives the order the protections go on in; each has its
own module (oslimits, landlock, seccomp, audit), and notices.py says which are off, and why."""
from __future__ import annotations

from .errors import RemoteError, SandboxError, UnsafePayload, WorkerCrashed, WorkerTimeout
from .remote import RemoteFunction
from .result import WorkerResult
from .sandbox import Sandbox

__all__ = ["Sandbox", "WorkerResult", "SandboxError", "RemoteFunction", "RemoteError", "UnsafePayload",
           "WorkerCrashed", "WorkerTimeout"]
