"""The tensors each kind of loss consumes. The learner fills them from a forward pass."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class PairBatch:
    """P preference pairs, sequence log-probs summed over response tokens."""

    policy_chosen: torch.Tensor
    policy_rejected: torch.Tensor
    ref_chosen: torch.Tensor | None = None
    ref_rejected: torch.Tensor | None = None
    chosen_tokens: torch.Tensor | None = None  # response lengths, for length normalisation
    rejected_tokens: torch.Tensor | None = None
    # Detached per-response values the algorithm's forward_extras computed, as (chosen, rejected).
    extras: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    policy_sft_target: torch.Tensor | None = None  # SLiC: logp_seq of the SFT target y_ref
    sources: list[str] | None = None

    def __len__(self) -> int:
        return self.policy_chosen.shape[0]


@dataclass
class GroupBatch:
    """N completions in groups of G (rows g*G .. g*G+G-1 share a prompt), per-token tensors [N, T]."""

    logp: torch.Tensor
    old_logp: torch.Tensor
    ref_logp: torch.Tensor | None
    mask: torch.Tensor
    rewards: torch.Tensor
    group_size: int


@dataclass
class PointBatch:
    """RAO: N responses over P prompts (`prompt_index` maps each response to its prompt)."""

    policy_logp: torch.Tensor
    ref_logp: torch.Tensor
    rewards: torch.Tensor
    prompt_index: torch.Tensor
    prompt_logratio: torch.Tensor  # p_i [P], the teacher-forced prompt log-ratio after t0


@dataclass
class WeightedSFTBatch:
    """VAR: B diagonal policy log-probs, and B x B cross-pair reference log-probs and rewards."""

    policy_logp: torch.Tensor
    ref_cross: torch.Tensor
    reward_cross: torch.Tensor
    policy_tokens: torch.Tensor | None = None
