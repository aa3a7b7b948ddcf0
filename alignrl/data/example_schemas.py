"""Arrow schemas of replay-buffer examples, one per data kind (pairwise, group, pointwise, weighted SFT).

Every example names the samples it consumes (`sample_ids`, for exactly-once accounting), the
oldest policy version among them (staleness) and the reference version of its log-probs.
"""

from __future__ import annotations

import pyarrow as pa

_TOKENS = pa.list_(pa.int32())
_HEAD = [
    pa.field("example_id", pa.string(), nullable=False),
    pa.field("sample_ids", pa.list_(pa.string()), nullable=False),
    pa.field("prompt_id", pa.string(), nullable=False),
    pa.field("policy_version", pa.int64(), nullable=False),
    pa.field("ref_version", pa.int64()),
    pa.field("source", pa.string(), nullable=False),
]

# One preference pair: context (chat prompt or revision template), chosen and rejected responses.
PAIR_EXAMPLE_SCHEMA = pa.schema(_HEAD + [
    pa.field("context_token_ids", _TOKENS, nullable=False),
    pa.field("chosen_token_ids", _TOKENS, nullable=False),
    pa.field("rejected_token_ids", _TOKENS, nullable=False),
    pa.field("chosen_reward", pa.float64()),
    pa.field("rejected_reward", pa.float64()),
    pa.field("ref_chosen", pa.float64()),
    pa.field("ref_rejected", pa.float64()),
])

# One GRPO group: G completions of one prompt with behaviour and reference per-token log-probs.
GROUP_EXAMPLE_SCHEMA = pa.schema(_HEAD + [
    pa.field("context_token_ids", _TOKENS, nullable=False),
    pa.field("response_token_ids", pa.list_(_TOKENS), nullable=False),
    pa.field("behaviour_logprobs", pa.list_(pa.list_(pa.float32())), nullable=False),
    pa.field("ref_logprobs", pa.list_(pa.list_(pa.float32()))),
    pa.field("rewards", pa.list_(pa.float64()), nullable=False),
])

# One RAO prompt: n_i scored responses, their reference log-probs, and the reference prompt log-prob after t0.
POINT_EXAMPLE_SCHEMA = pa.schema(_HEAD + [
    pa.field("context_token_ids", _TOKENS, nullable=False),
    pa.field("response_token_ids", pa.list_(_TOKENS), nullable=False),
    pa.field("rewards", pa.list_(pa.float64()), nullable=False),
    pa.field("ref_logp_seq", pa.list_(pa.float64()), nullable=False),
    pa.field("ref_prompt_logp", pa.float64(), nullable=False),
])

# One VAR micro-batch of B (prompt, response) items with B x B cross rewards and reference log-probs (row-major).
BLOCK_EXAMPLE_SCHEMA = pa.schema(_HEAD + [
    pa.field("context_token_ids", pa.list_(_TOKENS), nullable=False),
    pa.field("response_token_ids", pa.list_(_TOKENS), nullable=False),
    pa.field("reward_cross", pa.list_(pa.float64()), nullable=False),
    pa.field("ref_cross", pa.list_(pa.float64()), nullable=False),
])

EXAMPLE_SCHEMAS = {
    "pairwise": PAIR_EXAMPLE_SCHEMA,
    "group": GROUP_EXAMPLE_SCHEMA,
    "pointwise": POINT_EXAMPLE_SCHEMA,
    "weighted_sft": BLOCK_EXAMPLE_SCHEMA,
}
