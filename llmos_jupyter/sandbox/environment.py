"""The worker's environment: built from an allow-list, never copied, so the kernel's secrets (provider keys,
tokens, cookies) are not in it. Anything whose name looks like a secret is dropped even when allowed."""
from __future__ import annotations

import os
import re
from pathlib import Path

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE", "SESSION")
SECRET_PREFIXES = ("ANTHROPIC_", "OPENAI_")
KEPT = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM")
KEPT_PATTERN = re.compile(r"^(LC_[A-Z]+|QISKIT_[A-Z0-9_]+|OMP_[A-Z_]+|(OPENBLAS|MKL|NUMEXPR|VECLIB_MAXIMUM|RAYON)_NUM_THREADS)$")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "RAYON_NUM_THREADS")


def is_secret(name: str) -> bool:
    upper = name.upper()
    return upper.startswith(SECRET_PREFIXES) or any(word in upper for word in SECRET_WORDS)


def threads() -> int:
    """The cores this process may use, capped: the simulator and BLAS share them, and the machine is shared."""
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = os.cpu_count() or 1
    return max(1, min(available, 8))


def worker_environment(workdir: Path, outputs: Path, python_path: list[str],
                       parent: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """(the worker's environment, the names of the kernel's variables left out that looked like secrets)."""
    parent = dict(os.environ if parent is None else parent)
    env = {name: value for name, value in parent.items()
           if (name in KEPT or KEPT_PATTERN.match(name)) and not is_secret(name)}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    count = str(threads())
    for name in THREAD_VARIABLES:
        env.setdefault(name, count)
    # Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine Aer's spinning threads made a
    # 4-qubit, 1,024-shot run take 12-16 ms instead of 4 (benchmarks/mode_latency.py). Results are unchanged.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.update({
        "HOME": str(workdir),
        "TMPDIR": str(workdir / "tmp"),
        "XDG_CACHE_HOME": str(workdir / "cache"),
        "XDG_CONFIG_HOME": str(workdir / "config"),
        "MPLCONFIGDIR": str(workdir / "matplotlib"),
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONSAFEPATH": "1",  # the worker's cwd is not on its sys.path (3.11+; the worker also drops it itself)
        "PYTHONIOENCODING": "utf-8",
        "PYTHONPATH": os.pathsep.join(python_path),
        "LLMOS_OUTPUTS": str(outputs),  # where a program may save what the user should see
        # Programs run in children forked from the warm template (supervisor.py); Qiskit's Rust thread pool does
        # not survive a fork (a child of a template that transpiled hangs), so its passes stay on one thread.
        "QISKIT_IN_PARALLEL": "TRUE",
    })
    dropped = sorted(name for name in parent if is_secret(name))
    return env, dropped
