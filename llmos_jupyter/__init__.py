"""llmos-jupyter: an LLM assistant for quantum programming in Jupyter.

`%load_ext llmos_jupyter` registers the %%llmos magic. Importing this package is
light: qiskit, torch and the model SDKs load on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .dispatch.modes import Mode
from .engine import LLMOS, Result, Tokens
from .errors import LLMOSError

__all__ = ["LLMOS", "Result", "Tokens", "Mode", "LLMOSError", "load_ipython_extension",
           "unload_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    from .magics import register

    register(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unregister

    unregister(ipython)
