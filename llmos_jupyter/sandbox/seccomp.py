"""A seccomp filter: the system calls a quantum program never needs, refused by the kernel itself. It closes
what the other layers leave open to a root worker: RLIMIT_NPROC does not bind uid 0, and
`_posixsubprocess.fork_exec` starts processes without any audit event. Refused with EPERM: fork, vfork,
clone without CLONE_THREAD (threads stay allowed), execve, execveat, socket (no new socket of any family;
socketpair still works), and the calls that could reach beyond the sandbox: ptrace, process_vm_*,
(u)mount, pivot_root, unshare, setns, kernel modules, kexec, reboot, swap, bpf, perf_event_open,
userfaultfd, keyrings, io_uring. clone3 answers ENOSYS, so the C library falls back to clone, whose flags a
filter can read. Needs no_new_privs (or CAP_SYS_ADMIN) and a single thread, like Landlock."""
from __future__ import annotations

import ctypes
import errno
import platform
import sys

from . import libc

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
CLONE_THREAD = 0x00010000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data; arg0's low word on little-endian

ARCHES = {
    "x86_64": {
        "audit_arch": 0xC000003E, "x32_bit": 0x40000000, "clone": 56, "clone3": 435,
        "refused": {"fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "socket": 41, "ptrace": 101,
                    "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165, "umount2": 166,
                    "pivot_root": 155, "unshare": 272, "setns": 308, "init_module": 175, "finit_module": 313,
                    "delete_module": 176, "kexec_load": 246, "kexec_file_load": 320, "reboot": 169,
                    "swapon": 167, "swapoff": 168, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
                    "add_key": 248, "request_key": 249, "keyctl": 250, "io_uring_setup": 425,
                    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsmount": 432, "fspick": 433,
                    "mount_setattr": 442},
    },
    "aarch64": {  # the generic table (asm-generic/unistd.h): no fork or vfork, only clone
        "audit_arch": 0xC00000B7, "x32_bit": None, "clone": 220, "clone3": 435,
        "refused": {"execve": 221, "execveat": 281, "socket": 198, "ptrace": 117, "process_vm_readv": 270,
                    "process_vm_writev": 271, "mount": 40, "umount2": 39, "pivot_root": 41, "unshare": 97,
                    "setns": 268, "init_module": 105, "finit_module": 273, "delete_module": 106,
                    "kexec_load": 104, "kexec_file_load": 294, "reboot": 142, "swapon": 224, "swapoff": 225,
                    "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "add_key": 217,
                    "request_key": 218, "keyctl": 219, "io_uring_setup": 425, "open_tree": 428,
                    "move_mount": 429, "fsopen": 430, "fsmount": 432, "fspick": 433, "mount_setattr": 442},
    },
}


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


def program(arch: dict) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k). Jumps are relative, so the refusals come last and are reached by
    counting instructions between each test and its outcome."""
    refused = sorted(arch["refused"].values())
    allow, eperm, enosys, check_clone = "allow", "eperm", "enosys", "clone"
    ops: list[tuple] = [(LD_W_ABS, 0, 0, OFFSET_ARCH), (JEQ_K, 0, eperm, arch["audit_arch"]),
                        (LD_W_ABS, 0, 0, OFFSET_NR)]
    if arch["x32_bit"]:
        ops.append((JGE_K, eperm, 0, arch["x32_bit"]))  # the x32 ABI's numbers: another table, refused whole
    ops += [(JEQ_K, eperm, 0, nr) for nr in refused]
    ops += [(JEQ_K, enosys, 0, arch["clone3"]), (JEQ_K, check_clone, 0, arch["clone"]), (RET_K, 0, 0, RET_ALLOW)]
    labels = {check_clone: len(ops)}
    ops += [(LD_W_ABS, 0, 0, OFFSET_ARG0), (JSET_K, allow, eperm, CLONE_THREAD)]
    labels[allow] = len(ops)
    ops.append((RET_K, 0, 0, RET_ALLOW))
    labels[eperm] = len(ops)
    ops.append((RET_K, 0, 0, RET_ERRNO | errno.EPERM))
    labels[enosys] = len(ops)
    ops.append((RET_K, 0, 0, RET_ERRNO | errno.ENOSYS))
    out = []
    for index, (code, jt, jf, k) in enumerate(ops):
        def offset(target):
            return labels[target] - index - 1 if isinstance(target, str) else target
        jt_off, jf_off = offset(jt), offset(jf)
        if not (0 <= jt_off <= 255 and 0 <= jf_off <= 255):
            raise ValueError("a seccomp jump out of range")
        out.append((code, jt_off, jf_off, k))
    return out


def install() -> str:
    """Load the filter into this process: "seccomp", or "off: why"."""
    machine = platform.machine()
    arch = ARCHES.get(machine)
    if not sys.platform.startswith("linux") or arch is None:
        return f"off: no seccomp filter for {sys.platform}/{machine}"
    ops = program(arch)
    filters = (_Filter * len(ops))(*[_Filter(*op) for op in ops])
    prog = _Program(len(ops), ctypes.cast(filters, ctypes.POINTER(_Filter)))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog)) != 0:
        return f"off: {libc.failure('prctl(PR_SET_SECCOMP)')}"
    return "seccomp"


REFUSED = sorted({"clone (new processes)", "clone3 (ENOSYS)", *ARCHES["x86_64"]["refused"]})
