"""The typed config of `alignrl bench`: which measured runs, how long, from which base run config."""

from __future__ import annotations

from pydantic import Field

from alignrl.typed import StrictModel


class BenchConfig(StrictModel):
    base: str = Field("quickstart.yaml", description="run config every measured run starts from (relative to this file)")
    base_overrides: dict = Field({}, description="sections merged over the base run config (e.g. GPU resources, vLLM)")
    steps: int = Field(20, ge=3, description="learner steps per measured run (the first step is start-up, not measured)")
    eval_prompts: int = Field(64, ge=1, description="held-out prompts scored before and after each run")
    eval_interval: int = Field(10, ge=1, description="learner steps between evaluations (the reward-vs-time curve)")
    dpo_beta: float = Field(0.1, gt=0, description="beta of the DPO loss every run trains with")
    samples_per_prompt: int = Field(4, ge=2, description="online samples per prompt (best-vs-worst pairs)")
    staleness: list[int] = Field([0, 1, 2], min_length=1, description="max_staleness values of the online sweep (0 = sync)")
    floor: bool = Field(True, description="also time the bare DeepSpeed loop over the offline run's batches (no Ray)")
    trl: bool = Field(True, description="also run TRL's GRPOTrainer and OnlineDPOTrainer on the same setup (bench extra)")
    trl_steps: int = Field(8, ge=2, description="learner steps per alignrl or TRL run of the comparison")
    trl_repeats: int = Field(3, ge=1, description="alternating alignrl/TRL repeats per algorithm; medians are reported")
    trl_prompts: int = Field(8, ge=2, description="prompts per step in the comparison (even: 2 learner ranks)")
    group_size: int = Field(4, ge=2, description="GRPO completions per prompt, both systems")
    compare_overrides: dict = Field({}, description="sections merged over the base for alignrl's side of the TRL "
                                    "comparison only (its best layout, e.g. resources.layout: colocated)")
    trl_bf16: bool = Field(False, description="TRL trains under bf16 mixed precision (TrainingArguments.bf16; on CPU, "
                           "autocast), where that is its faster setting")
    sync_hidden_sizes: list[int] = Field([128, 256, 512, 1024], description="hidden sizes of the weight-sync sweep ([] skips it)")
    sync_repeats: int = Field(3, ge=1, description="weight syncs timed per model size (median reported)")
