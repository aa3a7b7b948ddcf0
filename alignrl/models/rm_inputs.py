"""How a reward model reads (prompt, answer).

An encoder (MiniLM, BERT) reads them as a text pair. A decoder (SmolLM2, Llama, Qwen) reads the
chat transcript through its own chat template, and its sequence-classification head scores the last
real token, which is standard RLHF reward-model practice. Training, evaluation and serving all
encode through here, so a model is scored exactly as it was trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from alignrl.data.readers import DataError

INPUT_FORMATS = ("text_pair", "chat")


def length_term(response: str, unit: str = "words") -> float:
    """log(1 + length in words or characters): the length feature a reward model may add to its logit,
    seen whatever the truncation."""
    return math.log1p(len(response) if unit == "chars" else len(response.split()))


@dataclass(frozen=True)
class LengthFeature:
    """weight * length_term(response, unit): the term a trained reward model adds to its logit."""

    weight: float = 0.0
    unit: str = "words"  # models saved before `length_unit` existed counted words

    def __call__(self, response: str) -> float:
        return self.weight * length_term(response, self.unit) if self.weight else 0.0

    @classmethod
    def from_meta(cls, meta: dict) -> "LengthFeature":
        """From `alignrl_rm.json`, which `alignrl train-rm` writes beside the weights."""
        return cls(float(meta.get("length_weight", 0.0)), str(meta.get("length_unit", "words")))


@dataclass(frozen=True)
class RMSpec:
    """How a saved reward model reads and scores, from the `alignrl_rm.json` that `train-rm` writes."""

    max_length: int = 512  # tokens per input; longer inputs are cut
    length: LengthFeature = field(default_factory=LengthFeature)
    input_format: str = "text_pair"

    @classmethod
    def from_meta(cls, meta: dict, max_length: int = 512) -> "RMSpec":
        return cls(int(meta.get("max_length", max_length)), LengthFeature.from_meta(meta),
                   str(meta.get("input_format", "text_pair")))

    def to_meta(self) -> dict:
        return {"max_length": self.max_length, "length_weight": self.length.weight,
                "length_unit": self.length.unit, "input_format": self.input_format}


def resolve_input_format(requested: str, tokenizer) -> str:
    """`auto` picks `chat` for tokenizers with a chat template (decoders), else `text_pair`."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if requested == "auto":
        return "chat" if has_template else "text_pair"
    if requested not in INPUT_FORMATS:
        raise DataError(f"unknown reward-model input format {requested!r}; use auto, {', '.join(INPUT_FORMATS)}")
    if requested == "chat" and not has_template:
        raise DataError("input_format: chat needs a tokenizer with a chat template; this one has none "
                        "(use text_pair for encoders)")
    return requested


def prepare_padding(model, tokenizer) -> None:
    """Decoders often ship no pad token; the classification head finds the last real token by it."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id


def encode_inputs(tokenizer, prompts: list[str], responses: list[str], max_length: int, input_format: str):
    """Token ids (unpadded lists) of each (prompt, response), cut to max_length tokens."""
    if input_format == "text_pair":
        return tokenizer(list(prompts), list(responses), truncation=True, max_length=max_length)
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}, {"role": "assistant", "content": r}],
                                           tokenize=False) for p, r in zip(prompts, responses)]
    return tokenizer(texts, truncation=True, max_length=max_length, add_special_tokens=False)


def padded(tokenizer, encoded, rows: list[int] | None = None):
    """A padded tensor batch of the given rows of `encoded` (all rows by default)."""
    rows = range(len(encoded["input_ids"])) if rows is None else rows
    return tokenizer.pad([{key: encoded[key][i] for key in encoded} for i in rows], return_tensors="pt")
