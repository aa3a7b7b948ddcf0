"""SFT warm-up: teach the tiny policy the task format and partial competence from oracle answers."""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from alignrl.algorithms.logprobs import masked_sum, shifted_mask, token_logps
from alignrl.config.schema import RunConfig
from alignrl.data.prompts import task_splits
from alignrl.data.encoding import encode_prompt, encode_response, fit_prompt, pack_sequences
from alignrl.metrics import MetricsSink
from alignrl.models.evaluate import evaluate_reward
from alignrl.models.policy import policy_from_config
from alignrl.models.tiny import save_model_dir
from alignrl.schedule import lr_multiplier
from alignrl.tasks import make_task
from alignrl.tasks.oracles import ScriptedOracle


@dataclass
class SFTResult:
    model_dir: str
    reward_before: float
    reward_after: float
    exact_match_after: float
    final_loss: float
    seconds: float
    steps: int


def sft_loss(model, input_ids, attention_mask, loss_mask) -> torch.Tensor:
    """Token-mean cross-entropy over response tokens only."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    mask = shifted_mask(loss_mask)
    return -masked_sum(token_logps(logits, input_ids), mask) / mask.sum().clamp(min=1)


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TextColumn("loss {task.fields[loss]:.3f}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    disable=not enabled)


def run_sft(cfg: RunConfig, out_dir: str | Path) -> SFTResult:
    """Train, evaluate held-out reward before and after, and save `OUT/policy` as an HF model dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.runtime.seed)
    rng = random.Random(cfg.runtime.seed)
    model, tokenizer = policy_from_config(cfg.model)
    splits = task_splits(cfg)  # SFT targets come from the task oracles
    heldout = splits.heldout[: cfg.eval.num_prompts]
    tasks = {name: make_task(name) for name in cfg.data.tasks}
    oracle = ScriptedOracle("sft-target", cfg.sft.target_error_rate)
    encoded = [
        fit_prompt(encode_prompt(tokenizer, p.text), cfg.data.max_prompt_tokens, cfg.data.overlong_prompts,
                   f"train prompt {p.prompt_id}")
        for p in splits.train
    ]
    started = time.perf_counter()
    sink = MetricsSink(out, cfg.logging.wandb_mode, cfg.logging.project, cfg.logging.run_name,
                       cfg.model_dump(mode="json", by_alias=True))
    before = evaluate_reward(model, tokenizer, heldout, cfg.eval.max_new_tokens, cfg.eval.greedy)
    sink.log(0, before.metrics())
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.sft.lr, weight_decay=cfg.optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_multiplier(s, cfg.sft.steps, cfg.sft.warmup_ratio, "cosine"))
    model.train()
    loss_value = float("nan")
    with _progress(cfg.logging.progress) as progress:
        bar = progress.add_task("SFT warm-up", total=cfg.sft.steps, loss=float("nan"))
        for step in range(1, cfg.sft.steps + 1):
            picks = rng.sample(range(len(splits.train)), min(cfg.sft.batch_size, len(splits.train)))
            responses = [encode_response(tokenizer, oracle.respond(tasks[splits.train[i].task], splits.train[i], rng))
                         for i in picks]
            batch = pack_sequences([encoded[i] for i in picks], responses, tokenizer.pad_token_id)
            loss = sft_loss(model, batch.input_ids, batch.attention_mask, batch.loss_mask)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"SFT loss is {loss.item()} at step {step}; lower sft.lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            optimizer.step()
            scheduler.step()
            loss_value = loss.item()
            progress.update(bar, advance=1, loss=loss_value)
            if step % 25 == 0 or step == cfg.sft.steps:
                sink.log(step, {"sft/loss": loss_value, "sft/lr": scheduler.get_last_lr()[0]})
    after = evaluate_reward(model, tokenizer, heldout, cfg.eval.max_new_tokens, cfg.eval.greedy)
    sink.log(cfg.sft.steps, after.metrics())
    sink.close()
    model_dir = save_model_dir(model, tokenizer, out / "policy")
    result = SFTResult(str(model_dir), before.reward_mean, after.reward_mean, after.exact_match, loss_value,
                       time.perf_counter() - started, cfg.sft.steps)
    (out / "sft_result.json").write_text(json.dumps({**asdict(result), "samples": after.samples}, indent=2))
    return result
