"""Sentences for the user about every protection that is not in force, from the worker's `protections`:
a weaker sandbox is said out loud, never silently."""
from __future__ import annotations

from typing import Any

WHAT = {
    "network": ("Network isolation is off", "programs could reach the network if they got past the audit hook"),
    "capabilities": ("Dropping capabilities is off", "a root worker keeps its privileges"),
    "filesystem": ("Filesystem confinement (Landlock) is off",
                   "only the audit hook keeps programs to the workdir and outputs and away from protected folders"),
    "syscalls": ("The seccomp filter is off",
                 "new processes and sockets are refused only by the audit hook (and the network namespace)"),
    "ipc": ("IPC isolation is off", "programs could reach other processes' SysV shared memory, semaphores and "
            "message queues"),
    "dies_with_kernel": ("Ending the worker with the kernel by signal is off",
                         "only the worker's own watching thread ends it when the kernel exits, and a program can "
                         "block that thread"),
    "tasks": ("The OS bound on the worker's threads (a pids cgroup) is off",
              "only the worker's own count refuses a program's 257th thread, and a program can undo it"),
    "disk_mb": ("The disk quota is not kept inside the worker",
                "the kernel measures the worker's files after each run and says when they are over it"),
    "tcp": ("Landlock's TCP rules are off", "the network namespace still leaves no network to reach"),
    "signals": ("Landlock's signal scoping is off", "the audit hook still refuses signals to other processes"),
}


def _off(value: Any) -> str | None:
    if value is False:
        return "it could not be set"
    if isinstance(value, str) and value.startswith("off"):
        return value.removeprefix("off").lstrip(": ")
    return None


def notices(protections: dict[str, Any]) -> list[str]:
    out = []
    for key, (title, consequence) in WHAT.items():
        why = _off(protections.get(key))
        if why:
            out.append(f"{title}: {why}. Meanwhile {consequence}.")
    if protections.get("no_new_privs") is False:
        out.append("no_new_privs could not be set: Landlock and seccomp need it, so they are off too.")
    for name, value in (protections.get("rlimits") or {}).items():
        why = _off(value)
        if why:
            out.append(f"The {name} resource limit is off: {why}.")
        elif isinstance(value, str) and value.startswith("exempt") and _off(protections.get("syscalls")):
            # Said only when it matters: with seccomp on, no process can be made whatever RLIMIT_NPROC says.
            out.append(f"RLIMIT_NPROC does not bind this worker: {value}. Run Jupyter as an ordinary user "
                       "to bound the processes a program may start.")
    for folder, why in ((protections.get("paths") or {}).get("unhidden") or {}).items():
        out.append(f"The protected folder {folder} cannot be hidden from the worker: {why}.")
    if protections.get("audit_hook") is not True:
        why = _off(protections.get("audit_hook")) or "it was not installed"
        out.append(f"The audit hook is off: {why}. Only the OS layers confine programs.")
    return out
