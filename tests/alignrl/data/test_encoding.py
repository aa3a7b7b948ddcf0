import pytest

from alignrl.data.encoding import OverlongPromptError, fit_prompt, pack_sequences


def test_pack_masks_only_responses():
    batch = pack_sequences([[1, 5, 6], [1, 7]], [[8, 2], [9, 9, 2]], pad_id=0)
    assert batch.input_ids.tolist() == [[1, 5, 6, 8, 2], [1, 7, 9, 9, 2]]
    assert batch.loss_mask.tolist() == [[0, 0, 0, 1, 1], [0, 0, 1, 1, 1]]
    short = pack_sequences([[1, 5]], [[2]], pad_id=0)
    assert short.attention_mask.tolist() == [[1, 1, 1]]
    assert batch.response_lengths.tolist() == [2, 3]


def test_fit_prompt_rejects_or_keeps_tail():
    ids = list(range(10))
    assert fit_prompt(ids, 10, "reject", "row 3") == ids
    with pytest.raises(OverlongPromptError, match=r"row 3: prompt has 10 tokens, over data\.max_prompt_tokens=4"):
        fit_prompt(ids, 4, "reject", "row 3")
    assert fit_prompt(ids, 4, "truncate", "row 3") == [0, 7, 8, 9]
