"""The global random streams (numpy's legacy one and the `random` module's) across a call: a function that runs
in the worker draws what it would have drawn in the kernel (`np.random.seed(1)` in a notebook makes the next
call reproducible), and the kernel's stream then moves on as far as the call took it.

The kernel never takes a state back from the worker, only how far along its own stream the worker got: the
number of MT19937 twists (each 624 words) and the position in the last block. It rebuilds that state from its
own copy of what it sent, so whatever a program does (`random.seed(0)`, `set_state` of anything) the kernel
only ever lands on a continuation of its own stream. A program that reseeded, or drew more than LIMIT blocks,
reports nothing and the kernel's stream stays where it was.

Only modules the caller has already imported are captured (the kernel stays light); everything travels as
plain JSON numbers and is checked before use."""
from __future__ import annotations

import array
import random
import sys
from typing import Any

N = 624  # words in an MT19937 key
LIMIT = 4096  # twists followed (2.5 M words); beyond that a call's draws are not carried back
CHUNK = 256  # most twists generated at once while searching (640 KB of words)
_SEED_MARK = 0x80000000  # init_by_array (what seed() of a number or a sequence uses) always sets key[0] to this


def capture() -> dict[str, Any]:
    state: dict[str, Any] = {}
    if "random" in sys.modules:
        version, internal, gauss = random.getstate()
        state["random"] = [version, list(internal), gauss]
    if "numpy" in sys.modules:
        import numpy as np

        name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
        state["numpy"] = [name, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)]
    return state


def restore(state: Any) -> None:
    """In the worker, before a call: set the streams the kernel sent; anything malformed is ignored."""
    if not isinstance(state, dict):
        return
    python = _python(state.get("random"))
    if python is not None:
        try:
            random.setstate((python[0], tuple(python[1]) + (python[2],), python[3]))
        except (TypeError, ValueError):
            pass
    legacy = _numpy(state.get("numpy"))
    if legacy is not None:
        import numpy as np

        try:
            np.random.set_state(("MT19937", np.array(legacy[1], dtype=np.uint32), legacy[2], legacy[3], legacy[4]))
        except (TypeError, ValueError, OverflowError):
            pass


def progress(sent: Any) -> dict[str, Any]:
    """In the worker, after a call: how far along the stream it was sent each stream now is, where it still is
    on it ({"twists", "pos", "gauss": whether the cached Gaussian is untouched})."""
    out: dict[str, Any] = {}
    try:
        _progress(sent, out)
    except Exception:  # noqa: BLE001 - a program that broke the streams' own functions: nothing to report
        out.clear()
    return out


def _progress(sent: Any, out: dict[str, Any]) -> None:
    if not isinstance(sent, dict):
        return
    before = _python(sent.get("random"))
    if before is not None:
        _, internal, gauss = random.getstate()
        step = _twists(before[1], before[2], list(internal[:N]), internal[N])
        if step is not None:
            out["random"] = {"twists": step, "pos": internal[N], "gauss": gauss == before[3]}
    before = _numpy(sent.get("numpy"))
    if before is not None and "numpy" in sys.modules:
        import numpy as np

        _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
        step = _twists(before[1], before[2], [int(k) for k in keys], int(pos))
        if step is not None:
            out["numpy"] = {"twists": step, "pos": int(pos),
                            "gauss": (int(has_gauss), float(cached)) == (before[3], before[4])}


def advance(sent: dict[str, Any], moved: Any) -> None:
    """In the kernel, after a call: move each stream along its own continuation as far as `moved` (the worker's
    progress(), untrusted) says, rebuilt from `sent` (the kernel's own capture()). Out of range: left as it was."""
    if not isinstance(moved, dict):
        return
    python, step = _python(sent.get("random")), _step(moved.get("random"))
    if python is not None and step is not None and (step[0] > 0 or step[1] >= python[2]):
        key = _twisted(python[1], step[0])
        random.setstate((python[0], tuple(key) + (step[1],), python[3] if step[2] else None))
    legacy, step = _numpy(sent.get("numpy")), _step(moved.get("numpy"))
    if legacy is not None and step is not None and (step[0] > 0 or step[1] >= legacy[2]) and "numpy" in sys.modules:
        import numpy as np

        key = _twisted(legacy[1], step[0])
        has_gauss, cached = (legacy[3], legacy[4]) if step[2] else (0, 0.0)
        np.random.set_state(("MT19937", np.array(key, dtype=np.uint32), step[1], has_gauss, cached))


# ------------------------------------------------------------------------------------------ checks
def _words(key: Any) -> list[int] | None:
    if isinstance(key, (list, tuple)) and len(key) == N and all(type(k) is int and 0 <= k < 2**32 for k in key):
        return list(key)
    return None


def _python(value: Any) -> tuple[int, list[int], int, float | None] | None:
    """(version, key, pos, gauss) of a captured `random` state, or None."""
    if not (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[1], (list, tuple))
            and len(value[1]) == N + 1 and type(value[0]) is int):
        return None
    key, pos, gauss = _words(value[1][:N]), value[1][N], value[2]
    if key is None or type(pos) is not int or not 0 <= pos <= N or not (gauss is None or type(gauss) is float):
        return None
    return value[0], key, pos, gauss


def _numpy(value: Any) -> tuple[str, list[int], int, int, float] | None:
    """(name, key, pos, has_gauss, cached) of a captured legacy numpy state, or None."""
    if not (isinstance(value, (list, tuple)) and len(value) == 5 and value[0] == "MT19937"):
        return None
    key, pos, has_gauss, cached = _words(value[1]), value[2], value[3], value[4]
    if key is None or type(pos) is not int or not 0 <= pos <= N or has_gauss not in (0, 1) \
            or type(cached) not in (int, float):
        return None
    return "MT19937", key, pos, int(has_gauss), float(cached)


def _step(value: Any) -> tuple[int, int, bool] | None:
    if not isinstance(value, dict):
        return None
    twists, pos, gauss = value.get("twists"), value.get("pos"), value.get("gauss")
    if type(twists) is not int or not 0 <= twists <= LIMIT or type(pos) is not int or not 0 <= pos <= N:
        return None
    return twists, pos, gauss is True


# ------------------------------------------------------------------------------------------ MT19937
def _generator(key: list[int]) -> random.Random:
    """A generator at the end of block `key`: its next word twists it. Python's `random` and numpy's legacy
    stream are the same MT19937, so one generator serves both."""
    generator = random.Random()
    generator.setstate((3, tuple(key) + (N,), None))
    return generator


def _twisted(key: list[int], twists: int) -> list[int]:
    """`key` after `twists` twists (drawing whole blocks of words)."""
    generator = _generator(key)
    left = twists
    while left:
        n = min(CHUNK, left)
        generator.getrandbits(32 * N * n)
        left -= n
    return list(generator.getstate()[1][:N])


def _temper(y: int) -> int:
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    return y ^ (y >> 18)


def _twists(key: list[int], pos: int, now: list[int], now_pos: int) -> int | None:
    """How many twists take `key` to `now` (at most LIMIT), or None when `now` is not on that stream. A block's
    words come out tempered, so the search looks for `now`, tempered, among the blocks the stream yields."""
    if now == key:
        return 0 if now_pos >= pos else None  # an earlier position would replay words the kernel already drew
    if now_pos == N and now[0] == _SEED_MARK:
        return None  # freshly seeded: no need to search
    target = array.array("I", (_temper(w) for w in now)).tobytes()
    block = len(target)
    generator, done, n = _generator(key), 0, 8
    while done < LIMIT:
        n = min(2 * n, CHUNK, LIMIT - done)  # small first: most calls draw little
        data = generator.getrandbits(32 * N * n).to_bytes(block * n, sys.byteorder)  # word i at bytes 4i..4i+3
        at = data.find(target)
        while at != -1 and at % block:
            at = data.find(target, at + 1)
        if at != -1:
            return done + at // block + 1
        done += n
    return None
