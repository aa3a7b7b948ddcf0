"""Arrow schemas of everything that flows through alignrl (docs/architecture.md, Data flow)."""

from __future__ import annotations

import pyarrow as pa

SOURCES = ("on", "off", "revision", "strong")

# One generated (or dataset) response and everything the learner needs to train on it.
SAMPLE_SCHEMA = pa.schema([
    pa.field("sample_id", pa.string(), nullable=False),
    pa.field("prompt_id", pa.string(), nullable=False),
    pa.field("prompt", pa.string(), nullable=False),  # the original request x; rewards are computed on it
    pa.field("context", pa.string()),  # the conditioning context when it differs from x (revision tasks)
    pa.field("template_id", pa.string()),  # chat or revision template that rendered the context
    pa.field("prompt_token_ids", pa.list_(pa.int32()), nullable=False),
    pa.field("response", pa.string(), nullable=False),
    pa.field("response_token_ids", pa.list_(pa.int32()), nullable=False),
    pa.field("behaviour_logprobs", pa.list_(pa.float32())),  # per response token, from the generator
    pa.field("finished", pa.bool_(), nullable=False),  # ended with EOS
    pa.field("policy_version", pa.int64(), nullable=False),  # version of the weights that generated it
    pa.field("source", pa.string(), nullable=False),  # on, off, revision or strong
    pa.field("reward", pa.float64()),
    pa.field("ref_logp_seq", pa.float64()),
    pa.field("ref_logprobs", pa.list_(pa.float32())),
    pa.field("ref_version", pa.int64()),  # reference weights the ref log-probs were computed under
])

PROMPT_SCHEMA = pa.schema([
    pa.field("prompt_id", pa.string(), nullable=False),
    pa.field("prompt", pa.string(), nullable=False),
    pa.field("answer", pa.string()),  # reference answer when known (verifiable tasks)
    pa.field("task", pa.string()),
])

PREFERENCE_SCHEMA = pa.schema([
    pa.field("prompt_id", pa.string(), nullable=False),
    pa.field("prompt", pa.string(), nullable=False),
    pa.field("chosen", pa.string(), nullable=False),
    pa.field("rejected", pa.string(), nullable=False),
    pa.field("chosen_reward", pa.float64()),
    pa.field("rejected_reward", pa.float64()),
    pa.field("source", pa.string()),
])


def validate_sample_row(row: dict) -> None:
    """Raise ValueError naming the first field that breaks the sample contract."""
    if row.get("source") not in SOURCES:
        raise ValueError(f"sample {row.get('sample_id')!r}: source {row.get('source')!r} is not one of {SOURCES}")
    logprobs = row.get("behaviour_logprobs")
    if logprobs is not None and len(logprobs) != len(row["response_token_ids"]):
        raise ValueError(f"sample {row.get('sample_id')!r}: {len(logprobs)} behaviour log-probs for "
                         f"{len(row['response_token_ids'])} response tokens")


def samples_to_table(rows: list[dict]) -> pa.Table:
    for row in rows:
        validate_sample_row(row)
    return pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)

# Buffer example schemas, one per data kind, live with their kinds in alignrl/kinds/.
