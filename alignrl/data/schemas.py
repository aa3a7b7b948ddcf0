"""Arrow schemas of everything that flows through alignrl (docs/architecture.md, Data flow)."""

from __future__ import annotations

import math
import numbers

import pyarrow as pa

from alignrl.data.readers import DataError

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


class SampleContractError(DataError):
    """A sample leaving an actor breaks SAMPLE_SCHEMA (often a plug-in backend's output)."""


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)  # numpy ints count, bools do not


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_finite(v) -> bool:
    return _is_number(v) and math.isfinite(v)


def _checker(dtype: pa.DataType, scalar: bool = True):
    """(predicate, what it expects) for one Arrow field type. Scalar floats must be finite; log-prob
    lists may hold -inf (a token outside a truncated sampling distribution)."""
    if pa.types.is_string(dtype):
        return (lambda v: isinstance(v, str)), "a str"
    if pa.types.is_boolean(dtype):
        return (lambda v: isinstance(v, bool)), "a bool"
    if pa.types.is_integer(dtype):
        return _is_int, "an int"
    if pa.types.is_floating(dtype):
        return (_is_finite, "a finite number") if scalar else (_is_number, "a number")
    if pa.types.is_list(dtype):
        item, what = _checker(dtype.value_type, scalar=False)
        return (lambda v: isinstance(v, list) and all(item(x) for x in v)), f"a list of {what.split(' ', 1)[1]}s"
    raise TypeError(f"no check for Arrow type {dtype}")


_CHECKS = {f.name: (f.nullable, *_checker(f.type)) for f in SAMPLE_SCHEMA}


def check_samples(rows: list[dict], where: str) -> list[dict]:
    """Every SAMPLE_SCHEMA field present in each row has its type (and each required one is there);
    the error names the actor, the sample and the field. Extra fields (kind-specific) pass."""
    for row in rows:
        if not isinstance(row, dict):
            raise SampleContractError(f"{where}: a sample must be a dict, got {type(row).__name__}")
        sid = row.get("sample_id")
        for name, (nullable, ok, what) in _CHECKS.items():
            value = row.get(name)
            if value is None:
                if not nullable:
                    raise SampleContractError(f"{where}: sample {sid!r}: required field {name!r} is missing")
                continue
            if not ok(value):
                raise SampleContractError(f"{where}: sample {sid!r}: field {name!r} must be {what}, "
                                          f"got {type(value).__name__} {value!r:.60}")
        try:
            validate_sample_row(row)
        except ValueError as err:
            raise SampleContractError(f"{where}: {err}") from None
    return rows


def samples_to_table(rows: list[dict]) -> pa.Table:
    for row in rows:
        validate_sample_row(row)
    return pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)

# Buffer example schemas, one per data kind, live with their kinds in alignrl/kinds/.
