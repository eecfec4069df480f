"""The worker's first acts, before numpy or Qiskit start any thread: its own network namespace (no interface
but a loopback that is down, so not even the host's 127.0.0.1), no capabilities, no_new_privs, and
resource limits. Each returns what it achieved, or "off: why", for `protections`."""
from __future__ import annotations

import ctypes
import os
import resource
import sys

from . import libc

CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
PR_SET_PDEATHSIG = 1
CLONE_NEWUSER = 0x10000000
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522


def isolate_network() -> str:
    lib = libc.libc()
    if lib is None:
        return f"off: {sys.platform} has no network namespaces"
    if lib.unshare(ctypes.c_int(CLONE_NEWNET)) == 0:
        return "namespace"
    first = libc.failure("unshare(CLONE_NEWNET)")
    uid, gid = os.getuid(), os.getgid()
    if lib.unshare(ctypes.c_int(CLONE_NEWUSER | CLONE_NEWNET)) == 0:
        _map_self(uid, gid)
        return "user+network namespace"
    return f"off: {first}; {libc.failure('unshare(CLONE_NEWUSER|CLONE_NEWNET)')}"


def isolate_ipc() -> str:
    """A fresh IPC namespace: SysV shared memory, semaphores and message queues (and POSIX message queues) of
    other processes cannot be reached. Called after isolate_network, so a worker that had to make a user
    namespace for the network is privileged enough in it to do this too."""
    lib = libc.libc()
    if lib is None:
        return f"off: {sys.platform} has no IPC namespaces"
    if lib.unshare(ctypes.c_int(CLONE_NEWIPC)) == 0:
        return "namespace"
    return f"off: {libc.failure('unshare(CLONE_NEWIPC)')}"


def die_with_parent(parent: int) -> str:
    """SIGKILL from the OS when the kernel's spawning thread (process.py keeps one for the kernel's whole life)
    ends, whatever a program does to the worker's own exit-with-kernel thread. Exits at once when the kernel is
    already gone (it may have died before this line ran)."""
    if libc.libc() is None:
        return f"off: {sys.platform} has no PR_SET_PDEATHSIG"
    if libc.prctl(PR_SET_PDEATHSIG, 9) != 0:  # 9: SIGKILL, which nothing in the worker can catch or block
        return f"off: {libc.failure('prctl(PR_SET_PDEATHSIG)')}"
    if os.getppid() != parent:
        os._exit(0)
    return "SIGKILL"


def _map_self(uid: int, gid: int) -> None:
    """Keep the worker's own ids inside its new user namespace, so the files it writes stay the user's."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        try:
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        except OSError:
            pass


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _effective_caps() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return None


def drop_capabilities() -> str:
    """Give up every capability, for good: a root worker must not load kernel modules, reboot, trace or mount."""
    lib = libc.libc()
    if lib is None:
        return f"off: {sys.platform} has no Linux capabilities"
    if _effective_caps() == 0:
        return "none held"
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap)  # out of the bounding set: no exec can give them back
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header, data = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if lib.capset(ctypes.byref(header), data) != 0:
        return f"off: {libc.failure('capset')}"
    left = _effective_caps()
    return "dropped" if left == 0 else f"off: {left:#x} still effective after capset"


def no_new_privs() -> bool:
    if libc.libc() is None:
        return False
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1)
    return libc.prctl(PR_GET_NO_NEW_PRIVS) == 1


def _set(limit: int, value: int) -> str | None:
    try:
        resource.setrlimit(limit, (value, value))
        return None
    except (ValueError, OSError) as exc:
        return f"off: setrlimit failed ({exc})"


def apply_rlimits(memory_mb: int, file_mb: int, spare_tasks: int = 256) -> dict:
    out: dict = {}
    # RLIMIT_AS counts every mapping, so it also bounds what C++ (Aer) allocates, not only the heap.
    out["address_space_mb"] = _set(resource.RLIMIT_AS, memory_mb << 20) or memory_mb
    out["file_mb"] = _set(resource.RLIMIT_FSIZE, file_mb << 20) or file_mb
    out["core"] = _set(resource.RLIMIT_CORE, 0) or 0
    if not hasattr(resource, "RLIMIT_NPROC"):
        out["nproc"] = f"off: {sys.platform} has no RLIMIT_NPROC"
    elif os.getuid() == 0:
        # The kernel exempts uid 0 from RLIMIT_NPROC; seccomp and the audit hook refuse process creation.
        out["nproc"] = "exempt (root): process creation is refused by seccomp and the audit hook instead"
    else:
        # The limit counts all of this user's tasks, threads included, so it sits a margin above today's count.
        cap = _user_tasks() + spare_tasks
        out["nproc"] = _set(resource.RLIMIT_NPROC, cap) or cap
    return out


def _user_tasks() -> int:
    uid, count = str(os.getuid()), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count
