"""ReferenceActor: a frozen policy copy that scores exact token ids (sequence and per-token log-probs)."""

from __future__ import annotations

import ray
import torch

from alignrl.learning.forward import sequence_logprobs
from alignrl.models.policy import DTYPES
from alignrl.models.tiny import load_model_dir
from alignrl.runtime.weight_sync import unpack_bucket


@ray.remote
class ReferenceActor:
    def __init__(self, model_dir: str, dtype: str, batch_size: int = 64, threads: int = 1, version: int = 0):
        torch.set_num_threads(max(1, threads))
        self.model, self.tokenizer = load_model_dir(model_dir, DTYPES[dtype])
        self.model.eval().requires_grad_(False)
        self.pad_id = self.tokenizer.pad_token_id
        self.batch_size = batch_size
        self.version = version  # the policy version model_dir holds (non-zero when resumed after a reset)

    @torch.no_grad()
    def logprobs(self, prompts: list[list[int]], responses: list[list[int]]) -> tuple[list[float], list[list[float]]]:
        seqs, toks = [], []
        for start in range(0, len(prompts), self.batch_size):
            seq, rows = sequence_logprobs(self.model, prompts[start: start + self.batch_size],
                                          responses[start: start + self.batch_size], self.pad_id, per_token=True)
            seqs.extend(seq.tolist())
            toks.extend(r.tolist() for r in rows)
        return seqs, toks

    def annotate(self, samples: list[dict], rewards: list[float]) -> list[dict]:
        """Attach the reward and reference log-probs (with the ref version) to each sample."""
        seqs, toks = self.logprobs([s["prompt_token_ids"] for s in samples], [s["response_token_ids"] for s in samples])
        for sample, reward, seq, tok in zip(samples, rewards, seqs, toks):
            sample.update(reward=reward, ref_logp_seq=seq, ref_logprobs=tok, ref_version=self.version)
        return samples

    def get_version(self) -> int:
        return self.version

    def save(self, out_dir: str) -> str:
        self.model.save_pretrained(out_dir, safe_serialization=True)
        self.tokenizer.save_pretrained(out_dir)
        return out_dir

    def load_weights(self, version: int, buckets: list) -> int:
        state = {}
        for bucket in ray.get(list(buckets)):
            state.update(unpack_bucket(bucket))
        self.model.load_state_dict(state)
        self.version = version
        return version
