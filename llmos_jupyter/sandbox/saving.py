"""The kernel's side of saving files where the user works: after each run it looks in the staging folder
(staging.py put the program's writes to the working folder there) and copies into the working folder what is
safe to have beside the user's notebooks. The worker's word is never asked: the kernel walks the staging
folder itself, through directory descriptors that never follow a link, so a forged report or a link swapped
in by a leftover thread can point it nowhere else.

A file is copied (its bytes, never renamed into place) only when it is a plain file; its name and every
folder on its path are printable, not hidden (no dotfile, no '..'), not something Python, pip or Jupyter
would load or run (REFUSED_SUFFIXES, REFUSED_NAMES); it and the run's files stay within the size bounds; and
its target in the working folder is either absent or a file LLMOS wrote there and nobody changed since (the
manifest, kept where the worker cannot write). Everything else stays in the workdir, and the cell says why
and where."""
from __future__ import annotations

import errno
import hashlib
import itertools
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .staging import FOLDER

# What the kernel imports from its cwd (on sys.path in a notebook), what pip, pytest and site load, what
# Jupyter opens as a notebook or workspace, and what a shell or browser runs.
REFUSED_SUFFIXES = frozenset({
    ".py", ".pyc", ".pyo", ".pyw", ".pyd", ".pyi", ".pyx", ".pxd", ".pyz", ".pth", ".so", ".dylib", ".dll",
    ".egg", ".egg-info", ".egg-link", ".dist-info", ".whl", ".ipynb", ".jupyterlab-workspace", ".sh", ".bash",
    ".zsh", ".fish", ".csh", ".ksh", ".command", ".desktop", ".bat", ".cmd", ".ps1", ".exe", ".com", ".jar",
    ".js", ".mjs", ".cjs", ".html", ".htm", ".xhtml", ".hta", ".svgz"})
REFUSED_NAMES = frozenset({"__pycache__", "pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini", "pyvenv.cfg",
                           "makefile", "gnumakefile", "dockerfile", "requirements.txt", "environment.yml"})
MAX_FILE_BYTES = 100 * 2 ** 20
MAX_RUN_BYTES = 500 * 2 ** 20
MAX_FILES = 1000
MAX_FOLDERS = 200  # folders walked per run, and how deep: a staging tree the worker made cannot wear out the kernel
MAX_DEPTH = 32
MAX_ENTRIES = 5000  # entries looked at per run, so a folder of a million names costs the kernel nothing much
MAX_SAID = 20  # files kept back that the cell names one by one; the rest are counted
_KEPT = "\0kept\0"  # where a refused file went, filled in once it is there (no name holds a NUL)
_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Saving:
    """What one run saved in the working folder (paths relative to it) and what it did not, one sentence each."""
    saved: tuple[str, ...] = ()
    not_saved: tuple[str, ...] = ()


def name_problem(part: str) -> str | None:
    """Why one part of a staged path may not be a name in the user's folder, or None."""
    if not part.isprintable() or "\\" in part:
        return "its name holds a control character or a backslash"
    try:
        part.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8"
    if part.startswith(".") or part.startswith("~"):
        return "hidden names (dotfiles and dot-folders) are where tools look for settings"
    lower = part.lower()
    if lower in REFUSED_NAMES:
        return "Python, pip, pytest or a build tool would read it"
    if (lower.startswith("jupyter") or lower.startswith("ipython")) and "config" in lower:
        return "Jupyter or IPython would load it as settings"
    suffixes = {lower[i:] for i in range(len(lower)) if lower[i] == "."} | {os.path.splitext(lower)[1]}
    hit = sorted(suffixes & REFUSED_SUFFIXES)
    if hit:
        return f"{hit[0]} files are code the kernel, Jupyter or a shell could import, open or run"
    return None


class Manifest:
    """What LLMOS wrote in working folders: absolute path -> sha256 of the bytes it wrote. Kept in `path` (a
    place the worker cannot write: the LLMOS home), read afresh each time so that kernels sharing a home see
    each other's files; without a path, in memory for this kernel's life."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self._entries: dict[str, str] = {}

    def _load(self) -> dict[str, str]:
        if self.path is None:
            return self._entries
        try:
            loaded = json.loads(Path(self.path).read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    def wrote(self, target: str) -> str | None:
        return self._load().get(target)

    def record(self, target: str, digest: str) -> None:
        entries = self._load()
        entries[target] = digest
        if self.path is None:
            self._entries = entries
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(f"{self.path}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entries, indent=1, sort_keys=True))
        os.replace(temporary, self.path)


@dataclass
class _Walk:
    files: list[tuple[str, int]] = field(default_factory=list)  # (relative path, directory descriptor)
    not_saved: list[str] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    seen: int = 0


def _walk(fd: int, prefix: str, walk: _Walk) -> None:
    if walk.seen > MAX_ENTRIES:
        return
    if prefix.count("/") > MAX_DEPTH or len(walk.fds) > MAX_FOLDERS:
        walk.not_saved.append(f"{prefix!r} was not saved: a run may save files at most {MAX_DEPTH} folders deep "
                              f"and in at most {MAX_FOLDERS} folders.")
        return
    with os.scandir(fd) as listing:
        entries = sorted(itertools.islice(listing, MAX_ENTRIES - walk.seen + 1), key=lambda e: e.name)
    for entry in entries:
        relative = f"{prefix}{entry.name}"
        walk.seen += 1
        if len(walk.files) >= MAX_FILES or walk.seen > MAX_ENTRIES:
            walk.not_saved.append(f"{relative!r} and what follows it were not saved: a run may save at most "
                                  f"{MAX_FILES} files, among at most {MAX_ENTRIES} names.")
            walk.seen = MAX_ENTRIES + 1  # the outer folders stop too
            return
        if entry.is_symlink():
            walk.not_saved.append(f"{relative!r} was not saved: it is a symbolic link, and links in your folder "
                                  "could turn later reads and writes elsewhere; write the file itself.")
        elif entry.is_dir(follow_symlinks=False):
            try:
                inner = os.open(entry.name, _NOFOLLOW_DIR, dir_fd=fd)
            except OSError as exc:
                walk.not_saved.append(f"{relative!r} was not saved: {exc.strerror}.")
                continue
            walk.fds.append(inner)
            _walk(inner, f"{relative}/", walk)
        elif entry.is_file(follow_symlinks=False):
            walk.files.append((relative, fd))
        else:
            walk.not_saved.append(f"{relative!r} was not saved: it is not a plain file.")


def _read(name: str, fd: int, budget: list[int]) -> tuple[bytes | None, str | None]:
    try:
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
    except OSError as exc:
        return None, f"it could not be read ({exc.strerror})"
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            return None, "it is not a plain file"
        if info.st_size > MAX_FILE_BYTES:
            return None, f"it is {info.st_size:,} bytes, over the {MAX_FILE_BYTES // 2 ** 20} MiB a saved file may be"
        if info.st_size > budget[0]:
            return None, f"the run's files together would pass the {MAX_RUN_BYTES // 2 ** 20} MiB a run may save"
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(handle, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES or size > budget[0]:
            return None, "it grew past the size a saved file may be while it was read"
        budget[0] -= size
        return b"".join(chunks), None
    finally:
        os.close(handle)


def _sha256_of(path: str) -> str | None:
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        digest = hashlib.sha256()
        while chunk := os.read(handle, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(handle)


def _place(cwd: Path, relative: str, data: bytes, manifest: Manifest) -> str | None:
    """Write `data` at cwd/relative; why not, or None."""
    parts = relative.split("/")
    folder = str(cwd)
    for part in parts[:-1]:
        folder = f"{folder}/{part}"
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            os.mkdir(folder, 0o755)
            info = os.lstat(folder)
        if not stat.S_ISDIR(info.st_mode):  # a link (lstat does not follow it) or a file
            return f"{folder} is not a plain folder (a link or a file is there)"
    target = f"{folder}/{parts[-1]}"
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            return f"{target} is already there and is not a plain file"
        if info.st_nlink != 1:
            return f"{target} is already there with other names (hard links) that a write would change too"
        ours = manifest.wrote(target)
        if ours is None:
            return (f"{target} is already there and LLMOS did not write it; move it away, or ask for another "
                    "file name")
        if _sha256_of(target) != ours:
            return f"{target} changed since LLMOS wrote it; move it away, or ask for another file name"
    handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view):]
    finally:
        os.close(handle)
    manifest.record(target, hashlib.sha256(data).hexdigest())
    return None


def collect(workdir: Path, cwd: Path, manifest: Manifest, run: int) -> Saving:
    """Copy what the last run staged into `cwd`; what is refused moves to workdir/not-saved/<run>/."""
    try:
        root = os.open(str(workdir), _NOFOLLOW_DIR)
    except OSError:
        return Saving()
    walk = _Walk(fds=[root])
    try:
        try:
            staged = os.open(FOLDER, _NOFOLLOW_DIR, dir_fd=root)
        except FileNotFoundError:
            return Saving()
        except OSError:
            return Saving(not_saved=(f"The staging folder {workdir / FOLDER} is not a plain folder; nothing in it "
                                     "was saved.",))
        walk.fds.append(staged)
        _walk(staged, "", walk)
        saved: list[str] = []
        budget = [MAX_RUN_BYTES]
        for relative, fd in walk.files:
            why = next((p for p in map(name_problem, relative.split("/")) if p), None)
            data = None
            if why is None:
                data, why = _read(relative.rsplit("/", 1)[-1], fd, budget)
            if why is None:
                try:
                    why = _place(cwd, relative, data, manifest)
                except OSError as exc:
                    why = f"writing it failed ({exc.strerror})"
            if why is None:
                saved.append(relative)
                os.unlink(relative.rsplit("/", 1)[-1], dir_fd=fd)
            else:
                walk.not_saved.append(f"{relative!r} was not saved: {why}. It is kept at {_KEPT}.")
        if not walk.not_saved:
            _remove_empty(staged)
            return Saving(tuple(saved))
        try:
            kept_at = str(workdir / "not-saved" / _set_aside(root, run))
        except OSError as exc:
            kept_at = f"{workdir / FOLDER} (it could not be set aside: {exc.strerror})"
        said = [line.replace(_KEPT, kept_at) for line in walk.not_saved[:MAX_SAID]]
        if len(walk.not_saved) > MAX_SAID:
            said.append(f"{len(walk.not_saved) - MAX_SAID} more files were not saved; all are kept at {kept_at}.")
        return Saving(tuple(saved), tuple(said))
    finally:
        for fd in walk.fds:
            os.close(fd)


def _set_aside(root: int, run: int) -> str:
    """Move what stayed in the staging folder to not-saved/<run>, so the next run starts empty and nothing is
    lost. Through a descriptor of not-saved opened without following links: were it a link the worker made,
    the rename could carry a refused file into the user's folder."""
    try:
        os.mkdir("not-saved", 0o700, dir_fd=root)
    except FileExistsError:
        pass
    kept = os.open("not-saved", _NOFOLLOW_DIR, dir_fd=root)
    try:
        name = str(run)
        while True:
            try:
                os.rename(FOLDER, name, src_dir_fd=root, dst_dir_fd=kept)
                return name
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                name += "+"  # a folder of that name is there already (a workdir reused by another Sandbox)
    finally:
        os.close(kept)


def _remove_empty(fd: int) -> None:
    """Remove the folders left empty once their files were saved (a leftover thread's new file stays)."""
    for entry in list(os.scandir(fd)):
        if entry.is_dir(follow_symlinks=False):
            try:
                inner = os.open(entry.name, _NOFOLLOW_DIR, dir_fd=fd)
            except OSError:
                continue
            try:
                _remove_empty(inner)
            finally:
                os.close(inner)
            try:
                os.rmdir(entry.name, dir_fd=fd)
            except OSError:
                pass
