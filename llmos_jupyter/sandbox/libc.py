"""The C library, reached through ctypes, for the system calls Python's standard library lacks before 3.12
(unshare, prctl, Landlock, seccomp). Used only while the worker confines itself, before any model code runs."""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import sys

_libc = None


def libc():
    """The process's C library, or None where there is none to load (never on Linux)."""
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def failure(call: str) -> str:
    """`call` failed: name the errno the way a person can look it up (EPERM: Operation not permitted)."""
    code = ctypes.get_errno()
    return f"{call} failed ({errno.errorcode.get(code, code)}: {os.strerror(code)})"


# Syscall numbers the C library may not wrap, by machine.
SYSCALLS = {
    "x86_64": {"landlock_create_ruleset": 444, "landlock_add_rule": 445, "landlock_restrict_self": 446},
    "aarch64": {"landlock_create_ruleset": 444, "landlock_add_rule": 445, "landlock_restrict_self": 446},
}


def syscall_number(name: str) -> int | None:
    return SYSCALLS.get(platform.machine(), {}).get(name)


def syscall(name: str, *args) -> int:
    """A raw system call by name; -1 with errno set on failure (ENOSYS when this machine's number is unknown)."""
    number = syscall_number(name)
    lib = libc()
    if number is None or lib is None:
        ctypes.set_errno(errno.ENOSYS)
        return -1
    lib.syscall.restype = ctypes.c_long
    return lib.syscall(ctypes.c_long(number), *args)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    lib = libc()
    if lib is None:
        ctypes.set_errno(errno.ENOSYS)
        return -1
    return lib.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(arg4),
                     ctypes.c_ulong(arg5))
