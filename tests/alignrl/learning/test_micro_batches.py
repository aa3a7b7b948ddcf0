"""Micro-batch plans: example caps, token budgets (packed and padded costs), equal counts across ranks."""

import pytest

from alignrl.kinds import get_kind
from alignrl.learning.micro_batches import forward_tokens_cost, plan_micro_batches, split_to_count

PAIRS = get_kind("pairwise")


def _pair(i: int, context: int, chosen: int, rejected: int) -> dict:
    return {"example_id": str(i), "context_token_ids": [1] * context, "chosen_token_ids": [5] * chosen,
            "rejected_token_ids": [6] * rejected}


ROWS = [_pair(0, 10, 2, 30), _pair(1, 4, 2, 2), _pair(2, 6, 3, 5), _pair(3, 20, 40, 10), _pair(4, 5, 5, 5)]


def test_costs_count_what_the_forward_allocates():
    assert forward_tokens_cost([3, 10], packing=True) == 13
    assert forward_tokens_cost([3, 10], packing=False) == 20


def test_without_a_budget_only_the_example_cap_applies_and_order_is_kept():
    plan = plan_micro_batches(PAIRS, ROWS, 2, None, packing=False)
    assert [[r["example_id"] for r in b] for b in plan] == [["0", "1"], ["2", "3"], ["4"]]


@pytest.mark.parametrize("packing", [True, False])
def test_a_token_budget_holds_for_every_micro_batch_but_a_lone_oversized_row(packing):
    plan = plan_micro_batches(PAIRS, ROWS, 8, 45, packing)
    assert sorted(r["example_id"] for b in plan for r in b) == ["0", "1", "2", "3", "4"]
    for batch in plan:
        lengths = [p + r for row in batch for p, r in PAIRS.sequences(row)]
        assert len(batch) == 1 or forward_tokens_cost(lengths, packing) <= 45
    assert ["3"] in [[r["example_id"] for r in b] for b in plan]  # 60 + 30 tokens: alone, over the budget
    # Packing wastes nothing on padding, so the same budget needs no more micro-batches.
    assert len(plan_micro_batches(PAIRS, ROWS, 8, 45, True)) <= len(plan_micro_batches(PAIRS, ROWS, 8, 45, False))


def test_units_count_examples_sequences_and_response_tokens():
    row = ROWS[0]
    assert (PAIRS.units(row, "examples"), PAIRS.units(row, "sequences"), PAIRS.units(row, "tokens")) == (1, 2, 32)
    with pytest.raises(ValueError, match="unknown loss unit 'pairs'"):
        PAIRS.units(row, "pairs")


def test_splitting_to_a_count_keeps_every_row_once():
    plan = split_to_count([ROWS[:4], ROWS[4:]], 4)
    assert len(plan) == 4 and [r["example_id"] for b in plan for r in b] == ["0", "1", "2", "3", "4"]
    with pytest.raises(ValueError, match="cannot split 2 examples into 3"):
        split_to_count([ROWS[:1], ROWS[1:2]], 3)
