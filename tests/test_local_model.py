"""The embedded offline model: the shipped GGUF loads and generates, tokens counted with its tokenizer."""
import pytest

from llmos_jupyter.providers.base import Message
from llmos_jupyter.providers.local import LocalProvider, load


@pytest.mark.slow
def test_local_model_generates_and_counts_tokens():
    provider = LocalProvider()
    pieces = []
    completion = provider.complete("You are terse.", [Message("user", "Say hello.")], max_tokens=6,
                                   on_text=pieces.append)
    tokenizer, _ = load()
    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}],
        add_generation_prompt=True)
    assert completion.usage.input == len(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    assert 1 <= completion.usage.output <= 6
    assert completion.text.strip() and "".join(pieces).strip() == completion.text.strip()
    assert completion.provider == "local" and completion.model == "SmolLM2-135M-Instruct"
