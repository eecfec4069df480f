"""The bytes the worker's writable folders (its workdir and the outputs folder) take on disk, all together. Used
on both sides: the worker's audit hook refuses to open a file for writing once the total is at the quota, and
lowers the file-size limit so a file opened under it stops where the quota does; the kernel measures again
after each run, since nothing the worker says about it is taken on trust."""
from __future__ import annotations

import os
from collections.abc import Iterable


def usage(folders: Iterable[str | os.PathLike]) -> int:
    """Allocated bytes under `folders`, each file once (hard links), never following a link."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [os.fspath(f) for f in folders]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return total


def over_message(used: int, quota_mb: int, folders: Iterable[str]) -> str:
    return (f"The sandbox's files take {used >> 20} MiB in {' and '.join(map(str, folders))}, over its disk quota "
            f"of {quota_mb} MiB: programs cannot write more there. Delete files you no longer need there, or raise "
            f"the quota: Sandbox(disk_mb={2 * quota_mb}) or %config LLMOS.disk_mb = {2 * quota_mb}.")
