"""Temporary workdirs of kernels that are gone. A worker dies at once with its kernel (PR_SET_PDEATHSIG), with
no time to empty the temporary folder it worked in; so each kernel holds a lock beside each folder it made (an
flock, which the OS drops when the kernel's process ends, however it ends), and the next sandbox made on this
machine removes every folder whose lock nobody holds. The lock sits outside the folder, where the worker cannot
write."""
from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

SUFFIX = ".lock"


def claim(workdir: Path) -> int:
    """Lock `workdir` as this kernel's; the descriptor is held until release()."""
    lock = workdir.with_name(workdir.name + SUFFIX)
    # Locked under a name of its own first, then renamed: a sweeper never sees the lock unheld.
    making = workdir.with_name(f".{workdir.name}.{os.getpid()}{SUFFIX}")
    fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(making, lock)
    return fd


def release(workdir: Path, fd: int) -> None:
    try:
        os.unlink(workdir.with_name(workdir.name + SUFFIX))
    except OSError:
        pass
    os.close(fd)


def sweep(parent: Path, prefix: str) -> list[Path]:
    """Remove the folders `parent/prefix*` whose kernel is gone (their lock is free); the ones removed."""
    removed = []
    for lock in parent.glob(f"{prefix}*{SUFFIX}"):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live kernel's
        folder = lock.with_name(lock.name[: -len(SUFFIX)])
        shutil.rmtree(folder, ignore_errors=True)
        try:
            os.unlink(lock)
        except OSError:
            pass
        os.close(fd)
        removed.append(folder)
    return removed
