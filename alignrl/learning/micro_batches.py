"""Splitting one rank's share of a train batch into micro-batches, by example count and by token budget."""

from __future__ import annotations


def sequence_lengths(kind, rows: list[dict]) -> list[int]:
    """Length of every sequence the kind's forward builds from these rows (prompt + response)."""
    return [p + r for row in rows for p, r in kind.sequences(row)]


def forward_tokens_cost(lengths: list[int], packing: bool) -> int:
    """Token positions one forward allocates: the sum when packed, rows x longest when padded."""
    if not lengths:
        return 0
    return sum(lengths) if packing else len(lengths) * max(lengths)


def plan_micro_batches(kind, rows: list[dict], max_examples: int, max_tokens: int | None,
                       packing: bool) -> list[list[dict]]:
    """Consecutive micro-batches of at most `max_examples` rows and `max_tokens` forward tokens.

    With a token budget the rows are taken in length order, so padded batches waste little; a row
    that alone exceeds the budget trains alone.
    """
    if max_tokens is not None:
        rows = sorted(rows, key=lambda row: sum(sequence_lengths(kind, [row])))
    batches: list[list[dict]] = []
    current: list[dict] = []
    lengths: list[int] = []
    for row in rows:
        row_lengths = sequence_lengths(kind, [row])
        over = max_tokens is not None and forward_tokens_cost(lengths + row_lengths, packing) > max_tokens
        if current and (len(current) >= max_examples or over):
            batches.append(current)
            current, lengths = [], []
        current.append(row)
        lengths += row_lengths
    if current:
        batches.append(current)
    return batches


def split_to_count(batches: list[list[dict]], count: int) -> list[list[dict]]:
    """Halve the largest micro-batches until there are `count` (every rank must run the same number)."""
    batches = [list(b) for b in batches]
    while len(batches) < count:
        largest = max(range(len(batches)), key=lambda i: len(batches[i]))
        big = batches[largest]
        if len(big) < 2:
            raise ValueError(f"cannot split {sum(map(len, batches))} examples into {count} micro-batches")
        batches[largest: largest + 1] = [big[: len(big) // 2], big[len(big) // 2:]]
    return batches
