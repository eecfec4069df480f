"""Landlock (Linux 5.13+), through ctypes: after `restrict(grants)` this thread, and every thread and process
it starts later, can read only the readable paths, write only the writable ones, execute nothing, make no
TCP connection or bind (ABI 4+), and send no signal to, nor reach the abstract UNIX sockets of, processes
outside the sandbox (ABI 6+). Must run while the process is single-threaded: Landlock binds the calling
thread, and threads started before it are not covered."""
from __future__ import annotations

import ctypes
import os
import stat

from . import libc
from .paths import Grants

CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = READ_FILE | READ_DIR
# Everything but executing and making devices, sockets, FIFOs or symlinks: a symlink or FIFO the program left
# in its folders could turn a later write or read by the kernel (its log, a file in outputs) against it.
WRITE = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | REFER | TRUNCATE | IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi() -> tuple[int, str | None]:
    """(the kernel's Landlock ABI version, why there is none)."""
    version = libc.syscall("landlock_create_ruleset", None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    if version < 0:
        return 0, libc.failure("landlock_create_ruleset") + " - this kernel has no Landlock, or it is disabled"
    return int(version), None


def _handled_fs(version: int) -> int:
    rights = (1 << 13) - 1  # ABI 1
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict(grants: Grants) -> dict:
    """Apply the rules to this process; a dict for `protections`, with "filesystem" "landlock" or "off: why"."""
    version, why = abi()
    if not version:
        return {"filesystem": f"off: {why}"}
    handled = _handled_fs(version)
    attr = _RulesetAttr(handled_access_fs=handled,
                        handled_access_net=(NET_BIND_TCP | NET_CONNECT_TCP) if version >= 4 else 0,
                        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if version >= 6 else 0)
    size = 24 if version >= 6 else 16 if version >= 4 else 8
    ruleset = libc.syscall("landlock_create_ruleset", ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return {"filesystem": f"off: {libc.failure('landlock_create_ruleset')}"}
    skipped = []
    try:
        for paths, rights in ((grants.readable, READ), (grants.writable, WRITE)):
            for path in paths:
                problem = _add(ruleset, path, rights & handled)
                if problem:
                    skipped.append(f"{path}: {problem}")
        if libc.syscall("landlock_restrict_self", ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            return {"filesystem": f"off: {libc.failure('landlock_restrict_self')}"}
    finally:
        os.close(ruleset)
    out = {"filesystem": "landlock", "landlock_abi": version,
           "tcp": "landlock: no TCP connect or bind" if version >= 4 else f"off: Landlock ABI {version} < 4",
           "signals": ("landlock: no signals to processes outside the sandbox" if version >= 6
                       else f"off: Landlock ABI {version} < 6 (the audit hook still refuses os.kill)")}
    if skipped:
        out["filesystem_skipped"] = skipped
    return out


def _add(ruleset: int, path: str, rights: int) -> str | None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError as exc:
        return exc.strerror
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_ONLY  # a rule on a file may carry only rights that apply to files
        beneath = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        if libc.syscall("landlock_add_rule", ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                        ctypes.byref(beneath), ctypes.c_uint32(0)) < 0:
            return libc.failure("landlock_add_rule")
        return None
    finally:
        os.close(fd)
