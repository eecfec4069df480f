"""The embedded offline model: the shipped GGUF loads and generates, tokens counted with its tokenizer."""
import pytest

from llmos_jupyter.providers.base import Message
from llmos_jupyter.localmodel.weights import load
from llmos_jupyter.providers.local import LocalProvider


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


@pytest.mark.slow
def test_a_cell_answered_by_the_local_model_counts_its_tokens_and_says_what_it_got(make_engine):
    """What `%%llmos --provider local` does (the quickstart's cell, which nbval skips for its minute of CPU):
    the request goes to the embedded model, tokens come from its own tokenizer, and a reply that holds no
    runnable program is an error that says so, never a success."""
    from llmos_jupyter import Mode

    engine = make_engine("openai", max_tokens=24)
    r = engine.run("Write a Qiskit circuit that applies a T gate and a Hadamard to one qubit", provider="local")
    assert r.mode == Mode.LEARNER and (r.provider, r.model) == ("local", "SmolLM2-135M-Instruct")
    assert r.tokens.input > 0 and 1 <= r.tokens.output <= 24
    assert r.error is None or "no program" in r.error or "Error" in r.error  # 24 tokens rarely hold a program
