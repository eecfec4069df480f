"""llmos-jupyter: an LLM assistant for quantum programming in Jupyter.

`%load_ext llmos_jupyter` registers the %%llmos magic. Importing this package is
light: the engine, numpy, qiskit, torch and the model SDKs load on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["LLMOS", "Result", "Tokens", "Mode", "LLMOSError", "load_ipython_extension",
           "unload_ipython_extension"]


def __getattr__(name: str):
    if name in ("LLMOS", "Result", "Tokens"):
        from . import engine

        return getattr(engine, name)
    if name == "Mode":
        from .modes import Mode

        return Mode
    if name == "LLMOSError":
        from .errors import LLMOSError

        return LLMOSError
    raise AttributeError(f"module 'llmos_jupyter' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    from .magics import register

    register(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unregister

    unregister(ipython)
