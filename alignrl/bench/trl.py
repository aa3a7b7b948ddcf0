"""alignrl against TRL on one setup: GRPO (GRPOTrainer) and online DPO (TRL's experimental OnlineDPOTrainer).

Both systems start from the same policy directory (model and tokenizer), train on the same task
prompts through the same chat template, score with the same reward function, and use the same
batch, group size, max new tokens, learning rate and beta. Each repeat runs alignrl and then TRL
(alternating, so drift in the machine's load hits both), and medians over repeats are reported.
The figure compared is trained completions per second over the measured steps (step 1 is start-up).
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path

import torch

from alignrl.config import load_config_dict
from alignrl.config.loader import merge_sections
from alignrl.metrics import read_metrics
from alignrl.data.prompts import prompt_splits
from alignrl.runtime.train import run_training


class TrlMissing(RuntimeError):
    """TRL (the `bench` extra) is not installed."""


def require_trl():
    try:
        import trl  # noqa: F401
    except ImportError:
        raise TrlMissing("the TRL comparison needs the bench extra: pip install 'alignrl[bench]'") from None


def alignrl_sections(kind: str, steps: int, prompts: int, group_size: int, name: str, ranks: int = 2) -> dict:
    """The alignrl run of one comparison; TRL is configured from the resolved config below."""
    if kind == "grpo":
        algorithm = {"name": "grpo", "group_size": group_size}
    else:  # online DPO: 2 samples per prompt, chosen/rejected by reward, reference fixed (as TRL's)
        algorithm = {"name": "dpo", "samples_per_prompt": 2}
    # One group or pair per prompt; each learner rank takes its share in one micro-batch.
    runtime = {"prompts_per_step": prompts, "train_batch_size": prompts, "micro_batch_size": max(1, prompts // ranks)}
    return {"algorithm": algorithm, "data": {"source": "online"}, "runtime": {**runtime, "total_steps": steps},
            "eval": {"interval": 10**6, "num_prompts": 1}, "checkpoint": {"interval": 0, "keep_last": 1},
            "logging": {"run_name": name, "progress": False, "wandb_mode": "disabled"}}  # TRL reports to none


def completions_per_step(cfg) -> int:
    if cfg.algorithm.name == "grpo":
        return cfg.runtime.train_batch_size * cfg.algorithm.group_size
    return 2 * cfg.runtime.train_batch_size  # chosen + rejected of every trained pair


def run_alignrl_side(cfg, out: Path) -> float:
    """Trained completions per second of one alignrl run (its own metrics, start-up step skipped)."""
    run_training(cfg, out)
    steps = [r for r in read_metrics(out / "metrics.jsonl") if r.get("loss") is not None][1:]
    step_s = statistics.fmean(r["perf/step_seconds"] for r in steps)
    return completions_per_step(cfg) / step_s


def _trl_dataset(cfg, n: int):
    from datasets import Dataset

    prompts = prompt_splits(cfg).train[:n]
    # Conversational rows: TRL renders them with the policy's chat template, as alignrl's encode_prompt does
    # (a dataset's own message lists as they are, text as one user turn).
    return Dataset.from_list([{"prompt": p.chat if isinstance(getattr(p, "chat", None), list)
                               else [{"role": "user", "content": p.text}]} for p in prompts])


def _last_text(value) -> str:
    return value[-1]["content"] if isinstance(value, list) else value


def trl_reward(cfg):
    """The run's own reward (any reward kind), as a TRL reward function of conversational rows."""
    from alignrl.rewards import make_reward

    r = cfg.reward
    reward = make_reward(r.kind, r.function, r.model, r.url, r.timeout_s)

    def alignrl_reward(prompts, completions, **_):
        texts = [_last_text(c) for c in completions]
        return reward.score([_last_text(p) for p in prompts], texts, [f"trl-{i}" for i in range(len(texts))])

    return alignrl_reward


def run_trl_side(cfg, policy_dir: str, out: Path, bf16: bool = False) -> tuple[float, bool]:
    """Trained completions per second of TRL on the same setup (step times from a callback), and
    whether its trainer ran under bf16 mixed precision."""
    require_trl()
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds.append(time.perf_counter() - self.started)

    rt, algo = cfg.runtime, cfg.algorithm
    common = {"output_dir": str(out), "max_steps": rt.total_steps, "learning_rate": cfg.optim.lr,
              "lr_scheduler_type": "constant", "warmup_steps": 0, "report_to": "none", "save_strategy": "no",
              "logging_steps": 10**6, "use_cpu": not torch.cuda.is_available(), "seed": rt.seed, "disable_tqdm": True,
              "dataloader_num_workers": 0, "temperature": cfg.generation.temperature, "bf16": bf16}
    model = AutoModelForCausalLM.from_pretrained(policy_dir, use_safetensors=True, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(policy_dir)
    dataset = _trl_dataset(cfg, rt.total_steps * rt.prompts_per_step * 2)
    timer = StepTimer()
    if algo.name == "grpo":
        from trl import GRPOConfig, GRPOTrainer

        args = GRPOConfig(**common, per_device_train_batch_size=completions_per_step(cfg),
                          num_generations=algo.group_size, max_completion_length=cfg.generation.max_new_tokens,
                          beta=algo.beta, epsilon=algo.clip_eps, loss_type="grpo", gradient_accumulation_steps=1)
        trainer = GRPOTrainer(model=model, reward_funcs=trl_reward(cfg), args=args, train_dataset=dataset,
                              processing_class=tokenizer, callbacks=[timer])
    else:
        from trl.experimental.online_dpo import OnlineDPOConfig, OnlineDPOTrainer

        args = OnlineDPOConfig(**common, per_device_train_batch_size=rt.prompts_per_step,
                               max_new_tokens=cfg.generation.max_new_tokens, beta=[algo.beta],
                               gradient_accumulation_steps=1)
        trainer = OnlineDPOTrainer(model=model, reward_funcs=trl_reward(cfg), args=args, train_dataset=dataset,
                                   processing_class=tokenizer, callbacks=[timer])
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)  # one process: TRL gets the whole machine
    try:
        trainer.train()
    finally:
        torch.set_num_threads(threads)
    measured = timer.seconds[1:]
    return completions_per_step(cfg) / statistics.fmean(measured), bool(trainer.args.bf16)


def compare(base: dict, policy_dir: str, kind: str, bench, out: Path) -> dict:
    """Alternate alignrl and TRL `bench.trl_repeats` times; medians and the alignrl/TRL ratio.

    alignrl's side runs the base with `bench.compare_overrides` (its best layout); TRL's side reads the
    same resolved config for prompts, reward, batch, lengths and lr.
    """
    require_trl()
    ours, theirs, trl_bf16 = [], [], set()
    alignrl_base = merge_sections(base, bench.compare_overrides)
    ranks = load_config_dict(alignrl_base, "bench base").resources.num_learners
    for i in range(bench.trl_repeats):
        name = f"{kind}_alignrl_{i}"
        sections = alignrl_sections(kind, bench.trl_steps, bench.trl_prompts, bench.group_size, name, ranks)
        cfg = load_config_dict(merge_sections(alignrl_base, sections), f"bench run {name}")
        ours.append(run_alignrl_side(cfg, out / name))
        speed, bf16 = run_trl_side(cfg, policy_dir, out / f"{kind}_trl_{i}", bench.trl_bf16)
        theirs.append(speed)
        trl_bf16.add(bf16)
    mine, trl = statistics.median(ours), statistics.median(theirs)
    return {"alignrl_completions_per_s": ours, "trl_completions_per_s": theirs,
            "alignrl_median": mine, "trl_median": trl,
            "ratio": mine / trl if trl > 0 else math.nan, "trl_bf16": all(trl_bf16),
            "alignrl_layout": cfg.resources.layout,
            "completions_per_step": completions_per_step(cfg), "steps": bench.trl_steps, "repeats": bench.trl_repeats}
