"""Adapters under `home/adapters/<name>/`: written atomically, read only when whole, one fine-tune at a time.

A folder holds peft's `adapter_config.json` and `adapter_model.safetensors`, a plain-LoRA copy under
`lora/` for servers that take LoRA adapters (vLLM, llama.cpp), and `card.json`, written last, with the
sha256 of every file. A folder is built under a hidden temporary name and renamed into place, so a crash
leaves no half-written adapter under a real name; one whose files do not match its card is refused.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from ..errors import ConfigError

CARD = "card.json"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LOCK = ".finetune.lock"


class AdapterError(ConfigError):
    """An adapter folder that cannot be used; the message says what to do."""


def adapters_dir(home: Path) -> Path:
    return Path(home) / "adapters"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(f"Adapter name {name!r} is not usable: use letters, digits, '.', '_' or '-' "
                          "(at most 64, starting with a letter or digit), e.g. --name qiskit-t0.")
    return name


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _digest(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != CARD}


def save(home: Path, name: str, write, card: dict) -> Path:
    """Build the adapter with `write(folder)` in a temporary folder, add its card, rename it into place."""
    root = adapters_dir(home)
    root.mkdir(parents=True, exist_ok=True)
    final = root / check_name(name)
    tmp = root / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
        card = {**card, "name": name, "files": _files(tmp)}
        card["size_bytes"] = sum((tmp / f).stat().st_size for f in card["files"])
        (tmp / CARD).write_text(json.dumps(card, indent=2))
        old = None
        if final.exists():
            old = root / f".old-{name}-{uuid.uuid4().hex[:8]}"
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_card(home: Path, name: str) -> dict:
    """The card of a whole adapter; AdapterError for a missing, half-written or changed one."""
    folder = adapters_dir(home) / check_name(name)
    again = f"Train it again with `%llmos finetune --name {name}` (or delete {folder})."
    if not folder.is_dir():
        known = names(home)
        raise AdapterError(f"There is no adapter {name!r} in {adapters_dir(home)}"
                           f"{' (adapters: ' + ', '.join(known) + ')' if known else ''}. "
                           f"Make one with `%llmos finetune --name {name}`.")
    try:
        card = json.loads((folder / CARD).read_text())
        files = card["files"]
    except FileNotFoundError:
        raise AdapterError(f"Adapter {name!r} has no {CARD}: it was not written completely. {again}") from None
    except (ValueError, KeyError, TypeError):
        raise AdapterError(f"Adapter {name!r}: {CARD} is corrupted. {again}") from None
    for rel, digest in files.items():
        path = folder / rel
        if not path.is_file():
            raise AdapterError(f"Adapter {name!r} is incomplete: {rel} is missing. {again}")
        if _digest(path) != digest:
            raise AdapterError(f"Adapter {name!r} is corrupted: {rel} does not match its card. {again}")
    return {**card, "path": str(folder)}


def names(home: Path) -> list[str]:
    root = adapters_dir(home)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []


@contextlib.contextmanager
def training_lock(home: Path):
    """One fine-tune per home at a time: a second is refused at once, with who holds the lock."""
    import fcntl

    root = adapters_dir(home)
    root.mkdir(parents=True, exist_ok=True)
    f = open(root / LOCK, "a+")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise ConfigError(f"A fine-tune is already running in {home} ({holder}). Wait for it to finish; "
                              "nothing was changed.") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}, started {time.strftime('%H:%M:%S')}")
        f.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            f.truncate(0)
        f.close()  # closing releases the lock
