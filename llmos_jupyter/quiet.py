"""Model loading without library chatter: no progress bars, info logs or warnings from transformers,
sentence-transformers or huggingface_hub reach the user's cell. LLMOS says what it is loading itself,
in one status line of its own (events.Status)."""
from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import warnings
from typing import Iterator

_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "accelerate", "peft")


@contextlib.contextmanager
def library_output_off() -> Iterator[None]:
    """Around a model load. Only the libraries' own output is held back: an error still raises."""
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    undo: list = []
    try:
        from transformers.utils import logging as hf_logging

        was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # "Loading weights 103/103"
        hf_logging_level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        undo.append(lambda: hf_logging.set_verbosity(hf_logging_level))
        if was_on:
            undo.append(hf_logging.enable_progress_bar)
        # The GGUF reader draws its de-quantizing bar with tqdm directly, past transformers' switch.
        gguf = importlib.import_module("transformers.modeling_gguf_pytorch_utils")
        if hasattr(gguf, "tqdm"):
            bar = gguf.tqdm
            gguf.tqdm = functools.partial(bar, disable=True)
            undo.append(lambda: setattr(gguf, "tqdm", bar))
    except ImportError:  # transformers is not installed: nothing of it to quiet
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for step in reversed(undo):
            step()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
