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


def _user_pool(tmp_path, n=40):
    """A user's prompts and, per prompt, five answers of graded quality (the task's verifier ranks them)."""
    import json
    import random

    from alignrl.tasks import make_task

    task, rng = make_task("digit_sort"), random.Random(0)
    questions = list(dict.fromkeys(task.make_question(rng) for _ in range(n)))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": task.prompt_text(q)}) + "\n" for q in questions))
    pool = tmp_path / "pool.jsonl"
    answers = lambda q: [task.solve(q), task.solve(q)[::-1], q, task.solve(q)[:2], "0"]  # noqa: E731
    pool.write_text("".join(json.dumps({"prompt": task.prompt_text(q), "response": a}) + "\n"
                            for q in questions for a in answers(q)))
    return prompts, pool, questions


def test_a_reviser_trains_on_the_ranked_pools_of_the_users_answers(tiny_model_dir, tmp_path):
    from alignrl.data.prompts import content_key
    from alignrl.models.reviser import train_reviser
    from alignrl.tasks.base import is_heldout
    from tests.conftest import e2e_config

    prompts, pool, questions = _user_pool(tmp_path)
    cfg = e2e_config(tiny_model_dir, algorithm={"name": "realign", "k": 4, "reviser": {
        "template": "compact", "sft_steps": 2, "dpo_steps": 2, "batch_size": 4}},
        data={"prompt_dataset": str(prompts), "preference_dataset": str(pool), "tasks": ["digit_sort"]},
        eval={"num_prompts": 4})
    result = train_reviser(cfg, tiny_model_dir, tmp_path / "reviser")
    trained = [q for q in questions if not is_heldout(content_key(f"sort:{q}"), cfg.data.heldout_fraction)]
    assert 0 < len(trained) < len(questions)  # held-out prompts give no pool
    n_sft = int(len(trained) * cfg.algorithm.reviser.sft_fraction)
    assert result.warmup_examples == n_sft
    assert result.dpo_pairs == 3 * (len(trained) - n_sft)  # M = 5, k = 4: three anchor triples per pool
    assert 0.0 <= result.draft_reward <= 1.0 and 0.0 <= result.revision_reward <= 1.0


def test_a_reviser_on_the_users_prompts_needs_their_strong_answers(tiny_model_dir, tmp_path):
    from alignrl.models.reviser import train_reviser
    from tests.conftest import e2e_config

    prompts, _, _ = _user_pool(tmp_path)
    cfg = e2e_config(tiny_model_dir, algorithm={"name": "realign"}, data={"prompt_dataset": str(prompts)})
    with pytest.raises(ValueError, match=r"set data.preference_dataset to a pool of them"):
        train_reviser(cfg, tiny_model_dir, tmp_path / "reviser")
