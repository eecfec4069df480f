"""The template's children (issue #23): every program runs in a process forked from the warm template, never in
the template itself. The child confines itself right after the fork (it is single-threaded then, as Landlock and
seccomp need): it closes every descriptor of the template's but its own two pipes (so it holds neither the
kernel's channel nor another child's), dies with the template, takes its own Landlock domain (its own /proc
entry, and no signals out of it), the seccomp filter, the thread cap and the audit hook, and then serves
requests from the template alone. What it changes in libraries, builtins or its own code ends with it.

The template's side of a child is `Child`: its pid, its two pipe ends, the session it serves, and one request at
a time, read with the framing's bounds and tied to the request's id."""
from __future__ import annotations

import os
import select
import signal
import time
from dataclasses import replace
from typing import Any, Callable

from . import framing

REPLY_SLACK = 5.0  # seconds past a request's own limit the template waits before it stops the child


class ChildFailed(Exception):
    """The child died, overran or broke the protocol: it has been killed; the message says which, in words."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class Child:
    """One forked child, seen from the template."""

    def __init__(self, pid: int, cmd_fd: int, reply_fd: int):
        self.pid, self.cmd_fd, self.reply_fd = pid, cmd_fd, reply_fd
        self.session: str | None = None
        self.fresh = False  # serves one clean run (a replay, a check) and whatever that run left callable
        self.hello: dict[str, Any] = {}
        self.release: list[list] = []  # handles the kernel dropped, sent with the next request
        self.exit_status: int | None = None

    @property
    def fds(self) -> tuple[int, int]:
        return self.cmd_fd, self.reply_fd

    def wait_hello(self, deadline: float) -> dict[str, Any]:
        message = self._read(deadline, "while it confined itself")
        if message.get("op") != "hello":
            self.kill()
            raise ChildFailed("WorkerCrashed", "a new program process sent something other than its greeting")
        self.hello = message
        return message

    def quiet(self) -> bool:
        """Nothing waits on the reply pipe between requests. Anything there was written by something the last
        program left running (a thread): a forged reply for a later request."""
        try:
            return not select.select([self.reply_fd], [], [], 0)[0]
        except (OSError, ValueError):
            return False

    def request(self, message: dict[str, Any], limit: float | None) -> dict[str, Any]:
        """Send `message` and read the one reply that answers it, within `limit` seconds (None: no bound)."""
        deadline = None if limit is None else time.monotonic() + limit
        try:
            framing.write_message(self.cmd_fd, message, None if deadline is None else deadline + REPLY_SLACK)
        except framing.SandboxError:
            self.kill()
            raise ChildFailed("WorkerCrashed", f"the program's process {self.ended()} before it took the request")
        reply = self._read(deadline, "while it ran the request")
        if reply.get("id") != message.get("id"):
            self.kill()
            raise ChildFailed("ProtocolError", "the program's process sent a reply to a request it was not asked "
                                               "(a program writing on its channel); the process was discarded")
        return reply

    def _read(self, deadline: float | None, when: str) -> dict[str, Any]:
        try:
            return framing.read_message(self.reply_fd, deadline)
        except framing.ChannelTimeout:
            self.kill()
            raise ChildFailed("Timeout", "ran past its limit") from None
        except framing.ChannelClosed:
            self.kill()
            raise ChildFailed("WorkerCrashed", f"the program's process {self.ended()} {when}") from None
        except framing.ProtocolError as exc:
            self.kill()
            raise ChildFailed("ProtocolError", f"the program's process sent something that is not a reply ({exc}); "
                                               "it was discarded") from None

    def ended(self) -> str:
        """How the child ended, in words, once it has (waited for briefly)."""
        status = self._reap(wait=2.0)
        if status is None:
            return "stopped answering"
        if os.WIFSIGNALED(status):
            try:
                name = signal.Signals(os.WTERMSIG(status)).name
            except ValueError:
                name = str(os.WTERMSIG(status))
            return f"was killed by signal {name}"
        return f"exited with status {os.WEXITSTATUS(status)}"

    def signal_name(self) -> str | None:
        status = self.exit_status
        if status is None or not os.WIFSIGNALED(status):
            return None
        try:
            return signal.Signals(os.WTERMSIG(status)).name
        except ValueError:
            return str(os.WTERMSIG(status))

    def _reap(self, wait: float = 0.0) -> int | None:
        end = time.monotonic() + wait
        while self.exit_status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                self.exit_status = status
                break
            if time.monotonic() >= end:
                return None
            time.sleep(0.005)
        return self.exit_status

    def interrupt(self) -> None:
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL (nothing in the child can catch it), reaped, pipes closed. Safe to call twice."""
        if self.exit_status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(wait=5.0)
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.cmd_fd = self.reply_fd = -1


def fork(foreign_fds: Callable[[], list[int]], become: Callable[[int, int], None]) -> Child:
    """A new child. In the child: every descriptor in `foreign_fds()` is closed, then `become(cmd_fd, reply_fd)`
    runs and never returns."""
    cmd_r, cmd_w = os.pipe()
    reply_r, reply_w = os.pipe()
    closing = foreign_fds()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            for fd in (*closing, cmd_w, reply_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            become(cmd_r, reply_w)
        finally:
            os._exit(70)  # become() returned or raised: nothing of the template's may run on here
    os.close(cmd_r)
    os.close(reply_w)
    return Child(pid, cmd_w, reply_r)


def confine(template_pid: int, grants, no_new_privs: bool) -> dict[str, Any]:
    """The child's own bounds, in the order they need: dies with the template, Ctrl-C reaches its program, then
    Landlock (with its own /proc entry) and seccomp, which need a single thread, as a fresh fork has."""
    from . import landlock, libc, oslimits, seccomp

    out: dict[str, Any] = {}
    if libc.prctl(oslimits.PR_SET_PDEATHSIG, 9) != 0 or os.getppid() != template_pid:
        os._exit(0)  # the template is gone already, or the child cannot be tied to it
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the template forwards Ctrl-C here
    out.update(landlock.restrict(replace(grants, readable=(*grants.readable, f"/proc/{os.getpid()}"))))
    out["syscalls"] = seccomp.install() if no_new_privs else "off: seccomp needs no_new_privs, which could not be set"
    return out
