"""AdaLoRA training of a causal LM on (request, program) examples, with the loss shown as it falls.

peft 0.21's AdaLoRA needs `total_step` up front, takes `init_r`/`target_r`, and reallocates ranks through
`model.base_model.update_and_allocate(step)` after every optimizer step. Only the top layers are adapted:
the backward pass then stops there, which is most of a CPU step's cost. The loss counts the answer's
tokens only; the prompt is given, not learned.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from ..settings import FINETUNE
from . import prompt
from .dataset import Example

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
Progress = Callable[[int, int, float], None]  # (step, total, loss)


@dataclass
class Options:
    steps: int = FINETUNE.steps
    batch_size: int = 1  # 300 steps of one example fit 10 minutes on 2 CPU cores (benchmarks/finetune.py)
    lr: float = 2e-3
    init_r: int = 12
    target_r: int = 8
    lora_alpha: int = 16
    layer_fraction: float = 1 / 3  # adapt the top third of the layers
    max_len: int = 768  # tokens per example (guide, request and edit); longer ones are cut and counted
    seed: int = 0


@dataclass
class Trained:
    model: object  # the peft model
    tokenizer: object
    base: str
    device: str
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    tokens: int = 0  # tokens the model trained on
    truncated: int = 0
    options: Options = field(default_factory=Options)


def encode(tokenizer, ex: Example, max_len: int) -> tuple[list[int], list[int], bool]:
    """(input ids, labels with the prompt masked, whether it was cut)."""
    head = tokenizer.apply_chat_template(prompt.chat(ex.request, guide=ex.guide), add_generation_prompt=True,
                                         tokenize=True)
    full = tokenizer.apply_chat_template(prompt.chat(ex.request, ex.program, ex.guide), tokenize=True)
    head, full = list(_ids(head)), list(_ids(full))
    if full[:len(head)] != head:  # a template that rewrites earlier turns: mask by length anyway
        head = full[:len(head)]
    labels = [-100] * len(head) + full[len(head):]
    return full[:max_len], labels[:max_len], len(full) > max_len


def _ids(encoded):
    return encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded


def train(examples: list[Example], *, base: str = "local", options: Options | None = None,
          progress: Progress | None = None) -> Trained:
    import torch
    from peft import AdaLoraConfig, get_peft_model

    o = options or Options()
    if not examples:
        raise ConfigError("There is nothing to train on: no verified traces. Run some %%llmos cells whose "
                          "programs verify (or keep the starter skills on), then fine-tune.")
    if o.steps < 1:
        raise ConfigError(f"--steps must be at least 1, not {o.steps}.")
    from ..localmodel.weights import device, load_base

    torch.manual_seed(o.seed)
    where = device()
    tokenizer, model, described = load_base(base, where)
    layers = _layer_count(model)
    first = layers - max(1, round(layers * o.layer_fraction))
    # tinit/tfinal: warm up before pruning ranks, then hold the final budget; both must fit in total_step.
    tinit, tfinal = max(1, o.steps // 10), max(1, o.steps // 5)
    if tinit + tfinal >= o.steps:
        tinit, tfinal = 0, 0
    config = AdaLoraConfig(task_type="CAUSAL_LM", init_r=o.init_r, target_r=o.target_r, lora_alpha=o.lora_alpha,
                           lora_dropout=0.0, target_modules=list(TARGETS), layers_to_transform=list(range(first, layers)),
                           total_step=o.steps, tinit=tinit, tfinal=tfinal, deltaT=max(1, o.steps // 20))
    model = get_peft_model(model, config)
    encoded = [encode(tokenizer, ex, o.max_len) for ex in examples]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=o.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, o.steps // 20)) * 0.5 * (1 + math.cos(math.pi * s / o.steps)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    order = random.Random(o.seed)
    queue: list[int] = []
    trained = Trained(model, tokenizer, described, where, options=o,
                      truncated=sum(1 for _, _, cut in encoded if cut))
    model.train()
    started = time.perf_counter()
    for step in range(o.steps):
        batch = []
        for _ in range(min(o.batch_size, len(encoded))):
            if not queue:
                queue = list(range(len(encoded)))
                order.shuffle(queue)
            batch.append(encoded[queue.pop()])
        width = max(len(ids) for ids, _, _ in batch)
        ids = torch.tensor([i + [pad] * (width - len(i)) for i, _, _ in batch], device=where)
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab, _ in batch], device=where)
        mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _, _ in batch], device=where)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        model.base_model.update_and_allocate(step)
        optimizer.zero_grad(set_to_none=True)
        trained.losses.append(round(loss.item(), 4))
        trained.tokens += int(mask.sum())
        if progress is not None:
            progress(step + 1, o.steps, trained.losses[-1])
    trained.seconds = time.perf_counter() - started
    model.eval()
    return trained


def _layer_count(model) -> int:
    n = getattr(model.config, "num_hidden_layers", None)
    if not n:
        raise ConfigError("The base model does not say how many layers it has (config.num_hidden_layers); "
                          "choose a causal LM such as --base local.")
    return int(n)


def write_adapter(trained: Trained, folder: Path) -> None:
    """peft's AdaLoRA files, and beside them under lora/ the same weights as a plain LoRA adapter."""
    trained.model.save_pretrained(str(folder))
    export_lora(trained.model, folder / "lora")


def export_lora(model, folder: Path) -> None:
    """AdaLoRA's update B·(A∘E)·α/rank as plain LoRA (B' = B·α/rank, A' = A∘E, lora_alpha = r so LoRA's own
    scaling is 1): servers that load LoRA adapters (vLLM --lora-modules, llama.cpp --lora after conversion)
    take this folder. Pruned ranks have E = 0 and contribute nothing."""
    import json

    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    name = model.active_adapter
    cfg = model.peft_config[name]
    tensors, r = {}, cfg.init_r
    for module_name, module in model.named_modules():
        if not hasattr(module, "lora_E") or name not in module.lora_E:
            continue
        a, b, e = module.lora_A[name], module.lora_B[name], module.lora_E[name]
        scale = module.scaling[name] / (module.ranknum[name] + 1e-5)
        key = module_name.removeprefix("base_model.model.")
        with torch.no_grad():
            tensors[f"base_model.model.{key}.lora_A.weight"] = (a * e).detach().float().cpu().contiguous()
            tensors[f"base_model.model.{key}.lora_B.weight"] = (b * scale).detach().float().cpu().contiguous()
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": r, "lora_dropout": 0.0,
        "bias": "none", "fan_in_fan_out": False, "target_modules": sorted(set(cfg.target_modules)),
        "layers_to_transform": cfg.layers_to_transform, "base_model_name_or_path": cfg.base_model_name_or_path,
        "modules_to_save": None, "use_rslora": False, "use_dora": False, "inference_mode": True,
    }, indent=2))
