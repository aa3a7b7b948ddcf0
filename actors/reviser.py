"""ReviserActor: a generator role with its own frozen weights and template that rewrites policy drafts.

For each prompt of a scored round it revises every draft once (y^R_j = R(T_rev(x, y^P_j))) and
returns the samples the selected ReAlign formats train on (docs/algorithms.md §7B, Table 3):
P-D drafts (context x), R-A or R-D revisions (context T_rev(x, y^P_w) or x), and S-A or S-D
strong-pool pairs. Revision rewards are left empty: the reward actor scores them on the
original request, never on the template.
"""

from __future__ import annotations

from collections import defaultdict

import ray
import torch

from alignrl.data.schemas import check_samples


@ray.remote
class ReviserActor:
    def __init__(self, backend: str, model_dir: str, dtype: str, template: str, seed: int, threads: int = 1,
                 plugins: list[str] | None = None):
        from transformers import AutoConfig, AutoTokenizer

        from alignrl.generation import make_backend
        from alignrl.plugins import load_plugins

        torch.set_num_threads(max(1, threads))
        load_plugins(plugins)
        self.backend = make_backend(backend, model_dir, dtype, seed)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.max_positions = AutoConfig.from_pretrained(model_dir).max_position_embeddings
        self.template = template
        self.revised = 0

    def _context(self, request: str, draft: str, max_new_tokens: int) -> list[int]:
        from alignrl.models.reviser import revision_ids

        return revision_ids(self.tokenizer, request, draft, self.template, self.max_positions - max_new_tokens)

    def revise(self, drafts: list[dict], formats: list[str], strong: dict[str, dict], sampling: dict,
               seed: int) -> list[dict]:
        by_prompt: dict[str, list[dict]] = defaultdict(list)
        for d in drafts:
            by_prompt[d["prompt_id"]].append(d)
        n = sampling["max_new_tokens"]
        best = {}
        for prompt_id, group in by_prompt.items():
            usable = [d for d in group if d["finished"] and d["response"].strip()] or group
            best[prompt_id] = max(usable, key=lambda d: d["reward"])  # y^P_w: the first maximum
        anchored = {pid: self._context(b["prompt"], b["response"], n) for pid, b in best.items()}
        out = list(drafts) if "P-D" in formats else []
        revision_format = next((f for f in formats if f in ("R-A", "R-D")), None)
        if revision_format:
            contexts = [self._context(d["prompt"], d["response"], n) for d in drafts]
            gens = self.backend.generate(contexts, seed=seed, **sampling)
            self.revised += len(gens)
            for draft, gen in zip(drafts, gens):
                context = anchored[draft["prompt_id"]] if revision_format == "R-A" else draft["prompt_token_ids"]
                out.append({**{k: draft[k] for k in ("prompt_id", "prompt", "policy_version")},
                            "sample_id": f"{draft['sample_id']}-rev", "prompt_token_ids": context,
                            "response": gen.text, "response_token_ids": gen.token_ids,
                            "behaviour_logprobs": gen.logprobs, "finished": gen.finished, "source": "revision",
                            "reward": None, "draft_id": draft["sample_id"], "draft_reward": draft["reward"]})
        strong_format = next((f for f in formats if f in ("S-A", "S-D")), None)
        if strong_format:
            for prompt_id, pair in strong.items():
                if prompt_id not in best:
                    continue
                draft = best[prompt_id]
                context = anchored[prompt_id] if strong_format == "S-A" else draft["prompt_token_ids"]
                tag = f"{draft['sample_id']}-strong"
                for role in ("chosen", "rejected"):
                    out.append({"sample_id": f"{tag}-{role[0]}", "prompt_id": prompt_id, "prompt": draft["prompt"],
                                "prompt_token_ids": context, "response": pair[role],
                                "response_token_ids": pair[f"{role}_token_ids"], "behaviour_logprobs": None,
                                "finished": True, "policy_version": draft["policy_version"], "source": "strong",
                                "reward": pair.get(f"{role}_reward"), "pair_id": tag, "role": role})
        return check_samples(out, "reviser-0")

    def stats(self) -> dict:
        return {"revised": self.revised}
