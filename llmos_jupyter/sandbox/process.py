"""One worker process, seen from the kernel: started with a clean environment and two dedicated pipes
(requests in, replies out), its own stdout/stderr going to a log file in the workdir; asked one request at a
time with a deadline; and killed outright, with its whole process group, when it overruns or misbehaves."""
from __future__ import annotations

import itertools
import json
import os
import select
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import cgroup, framing, spawner

LOG_TAIL = 4000
WAIT_TICK = 1.0  # seconds between on_wait calls while a reply is awaited


def _fresh_log(path: Path):
    """A new, empty log file at `path`. Whatever the last worker left under that name is unlinked first (a link
    goes, not what it points to), and the file is created anew, never opened through a link."""
    try:
        os.unlink(path)  # removes a link itself, never what it points to
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_APPEND | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "ab")


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rpartition(b")")[2].split()[1])  # after the name, which may hold spaces
    except (OSError, ValueError, IndexError):
        return None


class WorkerProcess:
    def __init__(self, config: dict[str, Any], env: dict[str, str], cwd: Path, log_path: Path):
        self.log_path = log_path
        cmd_r, cmd_w = os.pipe()
        reply_r, reply_w = os.pipe()
        config = {**config, "cmd_fd": cmd_r, "reply_fd": reply_w, "log": str(log_path), "kernel_pid": os.getpid()}
        self._ids = itertools.count(1)
        try:
            with _fresh_log(log_path) as log:
                # Started from the kernel's lasting spawner thread: the worker dies with it (spawner.py).
                self.proc = spawner.spawn(lambda: subprocess.Popen(
                    [sys.executable, "-B", "-m", "llmos_jupyter.sandbox.worker", json.dumps(config)],
                    cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(cmd_r, reply_w), close_fds=True,
                    start_new_session=True))  # its own process group, so one kill reaches all of it
        except BaseException:
            for fd in (cmd_r, cmd_w, reply_r, reply_w):
                os.close(fd)
            raise
        os.close(cmd_r)
        os.close(reply_w)
        os.set_blocking(cmd_w, False)  # a worker that stops reading must not block the kernel past a deadline
        self.cmd_fd, self.reply_fd = cmd_w, reply_r
        self.ready: dict[str, Any] | None = None
        self.children: list[int] = []  # the pids of the template's children, as its last reply listed them
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, deadline: float) -> dict[str, Any]:
        if self.ready is None:
            message = framing.read_message(self.reply_fd, deadline)
            if message.get("op") == "failed":
                raise framing.ProtocolError(str(message.get("error"))[:2000])
            if message.get("op") != "ready" or not isinstance(message.get("protections"), dict):
                raise framing.ProtocolError("the worker's first message was not 'ready'")
            self.ready = message
        return self.ready

    def send(self, message: dict[str, Any], deadline: float) -> int:
        ident = next(self._ids)
        framing.write_message(self.cmd_fd, {**message, "id": ident}, deadline)
        return ident

    def receive(self, ident: int, deadline: float | None, on_wait=None) -> dict[str, Any]:
        """The reply to request `ident`; `deadline` None waits for ever. `on_wait()` is called about once a second
        while nothing has arrived (the wait is on the pipe becoming readable, so no message is cut in two)."""
        while True:
            if on_wait is not None:
                self._wait_readable(deadline, on_wait)
            reply = framing.read_message(self.reply_fd, deadline)
            pids = reply.get("children")
            if isinstance(pids, list):  # the template's children, killed with it (kill)
                self.children = [p for p in pids if isinstance(p, int) and not isinstance(p, bool) and p > 1]
            if reply.get("id") == ident:
                return reply
            # A reply to an earlier, abandoned request, or a message the program forged: not this answer.

    def _wait_readable(self, deadline: float | None, on_wait) -> None:
        poller = select.poll()
        poller.register(self.reply_fd, select.POLLIN)  # POLLHUP / POLLERR are always reported
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return  # read_message says it timed out
            try:
                if poller.poll(int(1000 * min(WAIT_TICK, left if left is not None else WAIT_TICK)) + 1):
                    return
            except InterruptedError:
                continue
            on_wait()

    def request(self, message: dict[str, Any], deadline: float) -> dict[str, Any]:
        return self.receive(self.send(message, deadline), deadline)

    def interrupt(self) -> None:
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        for pid in self.children:  # a program may have left the group (setsid); still the template's child
            if _parent(pid) == self.pid:  # never a pid some other process has since been given
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
        try:
            self.proc.wait(timeout=10)
            cgroup.remove(self.pid)
        except subprocess.TimeoutExpired:
            pass
        self.close_pipes()

    def close_pipes(self) -> None:
        for name in ("cmd_fd", "reply_fd"):
            fd = getattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)

    def exit_description(self, wait: float = 2.0) -> str:
        """How the process ended, in words ("was killed by signal SIGSEGV")."""
        try:
            code = self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"was killed by signal {name}"
        return f"exited with status {code}"

    def exit_signal(self) -> str | None:
        code = self.proc.returncode
        if code is None or code >= 0:
            return None
        try:
            return signal.Signals(-code).name
        except ValueError:
            return str(-code)

    def log_tail(self) -> str:
        """The end of what this worker wrote to its stdout/stderr."""
        try:  # the folder is the worker's: never follow a link, nor wait on a FIFO, it may have left there
            fd = os.open(self.log_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return ""
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(0, end - 4 * LOG_TAIL))
            text = f.read(4 * LOG_TAIL).decode("utf-8", "replace")
        # faulthandler ends with the list of loaded extension modules: noise next to the traceback above it.
        lines = [line for line in text.splitlines() if not line.startswith("Extension modules:")]
        return "\n".join(lines).strip()[-LOG_TAIL:]
