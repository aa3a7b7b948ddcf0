"""ReferenceActor: a frozen policy copy that scores exact token ids (sequence and per-token log-probs)."""

from __future__ import annotations

import ray
import torch

from alignrl.learning.forward import ForwardOptions, batched_logprobs, context_logprobs, cross_logprobs
from alignrl.models.policy import DTYPES
from alignrl.models.tiny import load_model_dir
from alignrl.transport import TransportEnds


@ray.remote
class ReferenceActor:
    def __init__(self, model_dir: str, dtype: str, batch_size: int = 64, threads: int = 1, version: int = 0,
                 options: ForwardOptions = ForwardOptions()):
        torch.set_num_threads(max(1, threads))
        self.model, self.tokenizer = load_model_dir(model_dir, DTYPES[dtype])
        self.model.eval().requires_grad_(False)
        self.pad_id = self.tokenizer.pad_token_id
        self.batch_size = batch_size
        self.options = options  # the learner's packing and logits chunking: the same values, less memory
        self.version = version  # the policy version model_dir holds (non-zero when resumed after a reset)
        self.ends = TransportEnds()

    def logprobs(self, prompts: list[list[int]], responses: list[list[int]]) -> tuple[list[float], list[list[float]]]:
        return batched_logprobs(self.model, prompts, responses, self.pad_id, self.batch_size, self.options)

    def annotate(self, samples: list[dict], prompt_logp: bool = False) -> list[dict]:
        """Attach reference log-probs (with the ref version) to each sample (rewards come from RewardActor.fill).

        `prompt_logp` also attaches log p_ref(x_{>t0} | t0) of each distinct context (RAO).
        """
        seqs, toks = self.logprobs([s["prompt_token_ids"] for s in samples], [s["response_token_ids"] for s in samples])
        for sample, seq, tok in zip(samples, seqs, toks):
            sample.update(ref_logp_seq=seq, ref_logprobs=tok, ref_version=self.version)
        if prompt_logp:
            values = context_logprobs(self.model, [s["prompt_token_ids"] for s in samples], self.pad_id,
                                      self.batch_size, self.options)
            for sample, value in zip(samples, values):
                sample["ref_prompt_logp"] = value
        return samples

    def annotate_cross(self, samples: list[dict], block_size: int) -> list[dict]:
        """VAR: log p_ref(y_j | x_i) for every pair in each block of B samples, stored row-wise on sample i."""
        for start in range(0, len(samples) - block_size + 1, block_size):
            block = samples[start: start + block_size]
            rows = cross_logprobs(self.model, [a["prompt_token_ids"] for a in block],
                                  [b["response_token_ids"] for b in block], self.pad_id, self.batch_size, self.options)
            for i, (sample, row) in enumerate(zip(block, rows)):
                sample.update(ref_cross_row=row, ref_logp_seq=row[i], ref_version=self.version)
        return samples

    def get_version(self) -> int:
        return self.version

    def save(self, out_dir: str) -> str:
        self.model.save_pretrained(out_dir, safe_serialization=True)
        self.tokenizer.save_pretrained(out_dir)
        return out_dir

    def receive_weights(self, transport: str, version: int, message, timeout_s: float) -> int:
        """Become the policy at `version` (iterative DPO's reference reset)."""
        self.model.load_state_dict(self.ends.get(transport).receive(message, timeout_s))
        self.version = version
        return version
