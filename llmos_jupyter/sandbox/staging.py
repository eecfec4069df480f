"""The worker's side of saving files where the user works: Python-level writes into the working folder (the
kernel's cwd, which the worker may only read) land in a staging folder inside the workdir instead, at the
same relative path; reads of a path staged earlier see the staged copy, other reads see the real file. The
kernel then copies what it accepts into the working folder (saving.py), after each run.

A convenience, not a protection: a program that undoes it gets the OS's refusal, as before. It covers what
ordinary programs write through: builtins.open / io.open (pathlib's open, write_text and write_bytes, json,
csv, numpy.save, qiskit.qpy.dump, PIL and so matplotlib's savefig), os.open (pathlib's touch), os.mkdir
(os.makedirs, pathlib's mkdir), os.rename / os.replace (a file written then moved into place), shutil.copyfile
(shutil.copy, copy2), and os.stat / listdir / scandir / chmod / utime / remove / rmdir / truncate on what the
program made, so that a folder or file it made is there when it looks."""
from __future__ import annotations

import builtins
import io
import os
import shutil

FOLDER = "saving"  # inside the workdir
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def install(cwd: str, staging: str, writable: tuple[str, ...]) -> None:
    """Redirect writes under `cwd` (but not under `writable`, where the worker writes anyway) to `staging`.
    What it consults is bound here, so a program changing os.path does not change where files go."""
    abspath, join, normpath, dirname, exists = os.path.abspath, os.path.join, os.path.normpath, os.path.dirname, \
        os.path.exists
    fsdecode, fspath, makedirs, copyfile = os.fsdecode, os.fspath, os.makedirs, shutil.copyfile
    real_open, real_os_open, real_mkdir = io.open, os.open, os.mkdir
    real_stat, real_lstat, real_listdir, real_scandir = os.stat, os.lstat, os.listdir, os.scandir
    cwd, staging = normpath(cwd), normpath(staging)
    skip = tuple(normpath(w) for w in writable) + (staging,)

    def inside(path: str, root: str) -> bool:
        return path == root or path.startswith(root.rstrip("/") + "/")

    def staged(path, dir_fd=None) -> str | None:
        """Where `path` lands in the staging folder, or None when it is not in the working folder."""
        if dir_fd is not None or isinstance(path, int):
            return None
        try:
            text = fsdecode(fspath(path))
        except TypeError:
            return None
        if "\0" in text:
            return None  # Python's own ValueError says what is wrong
        full = normpath(join(cwd, text)) if not text.startswith("/") else normpath(text)
        if full == cwd or not inside(full, cwd) or any(inside(full, w) for w in skip):
            return None
        return join(staging, full[len(cwd):].lstrip("/"))

    def for_writing(path, keep_content: bool) -> str | None:
        target = staged(path)
        if target is None:
            return None
        makedirs(dirname(target), exist_ok=True)
        if keep_content and not exists(target) and exists(path):
            copyfile(path, target)  # appending to, or updating, a file that is there: start from its content
        return target

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(mode, str) and any(c in mode for c in "wxa+"):
            target = for_writing(file, keep_content="a" in mode or ("+" in mode and "w" not in mode))
        else:
            target = staged(file)
            target = target if target is not None and exists(target) else None
        return real_open(file if target is None else target, mode, *args, **kwargs)

    def os_open(path, flags, mode=0o777, *, dir_fd=None):
        target = None
        if dir_fd is None:
            if flags & _WRITE_FLAGS:
                target = for_writing(path, keep_content=not flags & os.O_TRUNC)
            else:
                target = staged(path)
                target = target if target is not None and exists(target) else None
        if target is None:
            return real_os_open(path, flags, mode, dir_fd=dir_fd)
        return real_os_open(target, flags, mode)

    def mkdir(path, mode=0o777, *, dir_fd=None):
        target = staged(path, dir_fd)
        if target is None:
            return real_mkdir(path, mode, dir_fd=dir_fd)
        if exists(path) and not exists(target):
            raise FileExistsError(17, "File exists", path)
        makedirs(dirname(target), exist_ok=True)
        return real_mkdir(target, mode)

    def looked_up(real):
        """`real` on the staged copy of a path when there is one (stat, listdir, chmod, remove...)."""
        def look(path=".", *args, **kwargs):
            target = staged(path, kwargs.get("dir_fd"))
            if target is not None and exists(target):
                return real(target, *args, **kwargs)
            return real(path, *args, **kwargs)
        look.__name__ = real.__name__
        return look

    def moved(real):
        """os.rename / os.replace: from the staged copy when there is one, to the staging folder."""
        def move(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
            source = staged(src, src_dir_fd)
            source = source if source is not None and exists(source) else None
            target = for_writing(dst, keep_content=False) if dst_dir_fd is None else None
            return real(src if source is None else source, dst if target is None else target,
                        src_dir_fd=None if source else src_dir_fd, dst_dir_fd=dst_dir_fd)
        move.__name__ = real.__name__
        return move

    def onto_staged(real):
        """shutil.copymode / copystat: onto the staged copy of `dst` when there is one."""
        def copy(src, dst, *, follow_symlinks=True):
            source, target = staged(src), staged(dst)
            source = source if source is not None and exists(source) else src
            return real(source, target if target is not None and exists(target) else dst,
                        follow_symlinks=follow_symlinks)
        copy.__name__ = real.__name__
        return copy

    real_copyfile = shutil.copyfile

    def copyfile(src, dst, *, follow_symlinks=True):  # shutil.copy, copy2 and copyfile
        source = staged(src)
        source = source if source is not None and exists(source) else src
        target = for_writing(dst, keep_content=False)
        real_copyfile(source, dst if target is None else target, follow_symlinks=follow_symlinks)
        return dst

    open_.__name__ = "open"
    builtins.open = io.open = open_
    os.open, os.mkdir = os_open, mkdir
    os.stat, os.lstat = looked_up(real_stat), looked_up(real_lstat)
    os.listdir, os.scandir = looked_up(real_listdir), looked_up(real_scandir)
    os.chmod, os.utime, os.remove, os.unlink, os.rmdir, os.truncate = (
        looked_up(f) for f in (os.chmod, os.utime, os.remove, os.unlink, os.rmdir, os.truncate))
    os.rename, os.replace = moved(os.rename), moved(os.replace)
    shutil.copyfile = copyfile
    shutil.copymode, shutil.copystat = onto_staged(shutil.copymode), onto_staged(shutil.copystat)
