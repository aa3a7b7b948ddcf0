"""The typed config of `alignrl bench`: which measured runs, how long, from which base run config."""

from __future__ import annotations

from pydantic import Field

from alignrl.typed import StrictModel


class BenchConfig(StrictModel):
    base: str = Field("quickstart.yaml", description="run config every measured run starts from (relative to this file)")
    steps: int = Field(20, ge=3, description="learner steps per measured run (the first step is start-up, not measured)")
    eval_prompts: int = Field(64, ge=1, description="held-out prompts scored before and after each run")
    eval_interval: int = Field(10, ge=1, description="learner steps between evaluations (the reward-vs-time curve)")
    dpo_beta: float = Field(0.1, gt=0, description="beta of the DPO loss every run trains with")
    samples_per_prompt: int = Field(4, ge=2, description="online samples per prompt (best-vs-worst pairs)")
    staleness: list[int] = Field([0, 1, 2], min_length=1, description="max_staleness values of the online sweep (0 = sync)")
