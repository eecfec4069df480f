"""A sandboxed worker process for model-written programs: another process with a scrubbed environment, no
network, a confined filesystem, no process creation, resource limits and an audit hook, kept warm and
replaced when a program overruns or crashes it. Values come back only in forms whose loading cannot run
code (no pickle, ever). See sandbox.py for the API, worker.py for the order the protections go on in."""
from __future__ import annotations

from .errors import RemoteError, SandboxError, UnsafePayload, WorkerCrashed, WorkerTimeout
from .remote import RemoteFunction
from .result import WorkerResult
from .sandbox import Sandbox

__all__ = ["Sandbox", "WorkerResult", "SandboxError", "RemoteFunction", "RemoteError", "UnsafePayload",
           "WorkerCrashed", "WorkerTimeout"]
