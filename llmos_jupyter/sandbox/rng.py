"""The global random streams (numpy's and the `random` module's) handed across a call and back, so a function
that runs in the worker draws what it would have drawn in the kernel: `np.random.seed(1)` in a notebook makes
the next call reproducible, and the kernel's stream moves on as far as the call took it.

Only modules the caller has already imported are captured (the kernel stays light); states travel as plain
JSON numbers and are checked before use."""
from __future__ import annotations

import sys
from typing import Any


def capture() -> dict[str, Any]:
    state: dict[str, Any] = {}
    if "random" in sys.modules:
        import random

        version, internal, gauss = random.getstate()
        state["random"] = [version, list(internal), gauss]
    if "numpy" in sys.modules:
        import numpy as np

        name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
        state["numpy"] = [name, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)]
    return state


def restore(state: Any) -> None:
    """Set the streams `state` describes; anything malformed is ignored (the stream keeps its own state)."""
    if not isinstance(state, dict):
        return
    python = state.get("random")
    if isinstance(python, list) and len(python) == 3 and isinstance(python[1], list) \
            and all(isinstance(x, int) for x in python[1]):
        import random

        try:
            random.setstate((python[0], tuple(python[1]), python[2]))
        except (TypeError, ValueError):
            pass
    legacy = state.get("numpy")
    if isinstance(legacy, list) and len(legacy) == 5 and legacy[0] == "MT19937" and isinstance(legacy[1], list) \
            and len(legacy[1]) == 624 and all(isinstance(x, int) for x in legacy[1]):
        import numpy as np

        try:
            np.random.set_state((legacy[0], np.array(legacy[1], dtype=np.uint32), int(legacy[2]), int(legacy[3]),
                                 float(legacy[4])))
        except (TypeError, ValueError, OverflowError):
            pass
