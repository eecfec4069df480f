"""What can go wrong between the kernel and the sandbox worker, as exceptions that say what to do next."""
from __future__ import annotations


class SandboxError(RuntimeError):
    """The sandbox could not do what was asked (the worker would not start, a value could not travel, ...)."""


class UnsafePayload(SandboxError):
    """A message carried something that is not one of the safe kinds (JSON, QPY, .npy): refused, never loaded."""


class WorkerTimeout(SandboxError):
    """A call ran past the sandbox's timeout; the worker was stopped and restarted."""


class WorkerCrashed(SandboxError):
    """The worker died while doing what was asked; it was restarted."""


class RemoteError(SandboxError):
    """A function called in the worker raised an exception the kernel does not raise as its own type (a class
    the program defined, a library the kernel must not import: remote.remote_exception); its traceback is the
    worker's, as text, and `remote_type` the exception's module-qualified name there."""

    def __init__(self, message: str, remote_type: str | None = None, remote_traceback: str | None = None):
        super().__init__(message)
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback


class Unconvertible(SandboxError):
    """This value has no safe form to travel in; it stays on its side."""
