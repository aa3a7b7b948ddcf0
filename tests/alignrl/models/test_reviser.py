"""ReAlign stage A: the trained reviser improves the policy's own held-out drafts."""

import pytest

from alignrl.models.reviser import revision_ids

pytestmark = pytest.mark.cpu


def test_reviser_raises_the_reward_of_heldout_drafts(trained_reviser):
    r = trained_reviser
    assert r["revision_reward"] > r["draft_reward"] + 0.1, r
    assert r["revision_win_rate"] > 0.5


def test_revision_context_cuts_the_middle_of_a_long_draft_never_the_request(char_tokenizer):
    request, draft = "sort: 3 1 2", "9" * 200 + "END"
    ids = revision_ids(char_tokenizer, request, draft, "compact", budget=120)
    text = char_tokenizer.decode(ids)
    assert len(ids) <= 120 and request in text and "END" in text and "..." in text
    with pytest.raises(ValueError, match="over the budget"):
        revision_ids(char_tokenizer, "sort: " + "1 " * 200, draft, "compact", budget=50)
