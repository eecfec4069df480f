"""Does a model's program for a request pass? It must run (through the pipeline's runner) and pass the
checks its trace recorded for verified runs, with the request's own values, as a replay must."""
from __future__ import annotations

from dataclasses import dataclass

from ..memory import results
from ..memory.checks import check_values, failures
from ..memory.traces import Trace
from . import prompt
from .dataset import Example


@dataclass(frozen=True)
class Verdict:
    passed: bool
    why: str  # "" when it passed
    tokens: int = 0  # generated
    seconds: float = 0.0


def reply(tokenizer, model, request: str, guide: tuple[str, str] | None,
          max_new_tokens: int = 384) -> tuple[str, int]:
    """(greedy reply, tokens generated) of `model` to the adapter prompt for `request` guided by `guide`."""
    import torch

    inputs = tokenizer.apply_chat_template(prompt.chat(request, guide=guide), add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True).to(model.device)
    n = int(inputs["input_ids"].shape[1])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
    new = out[0][n:]
    return tokenizer.decode(new, skip_special_tokens=True), int(new.shape[0])


def judge(trace: Trace, example: Example, text: str, runner) -> tuple[bool, str]:
    try:
        code = prompt.program_from(text, example.guide)
    except prompt.EditError as exc:
        return False, f"its edit does not fit the program ({exc})"
    if not code:
        return False, "no program"
    try:
        ran = runner.run(code, {}, session="finetune-eval")
    except TypeError:  # a runner without sessions (the kernel's)
        ran = runner.run(code, {})
    if ran.error:
        return False, "raised " + (ran.error.strip().splitlines() or ["an error"])[-1][:120]
    problems = failures(ran.counts, check_values(example.values), trace.checks)
    problems += results.failures(trace.results, ran.produced)
    return not problems, ", ".join(problems)


def evaluate(tokenizer, model, examples: list[Example], traces: dict[str, Trace], runner,
             max_new_tokens: int = 384) -> list[Verdict]:
    import time

    out = []
    for ex in examples:
        started = time.perf_counter()
        text, n = reply(tokenizer, model, ex.request, ex.guide, max_new_tokens)
        seconds = time.perf_counter() - started
        ok, why = judge(traces[ex.trace_id], ex, text, runner)
        out.append(Verdict(ok, why, n, seconds))
    return out
