"""Offline pairs from a user's pool or pair file: held-out prompts never train, long answers are left out, all counted."""

import json
from collections import Counter

import pytest

from alignrl.config import load_config
from alignrl.data.offline import load_offline_pairs
from alignrl.data.prompts import content_key
from alignrl.data.readers import DataError
from alignrl.tasks.base import is_heldout
from tests.conftest import REPO

QUESTIONS = [f"question number {i}?" for i in range(30)]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cfg(tmp_path, dataset, *overrides):
    prompts = _write(tmp_path / "prompts.jsonl", [{"instruction": q} for q in QUESTIONS])
    return load_config(REPO / "configs" / "dpo.yaml", [
        f"data.prompt_dataset={prompts}", f"data.preference_dataset={dataset}", "data.columns.prompt=instruction",
        "data.columns.response=output", "reward.function=alignrl.rules:brief_answer", *overrides])


def _heldout(question: str) -> bool:
    return is_heldout(content_key(question), 0.2)


def test_a_pool_gives_pairs_for_training_prompts_only(tmp_path, char_tokenizer):
    brief, ramble = "word " * 24 + "done.", "word " * 60
    pool = _write(tmp_path / "pool.jsonl", [{"instruction": q, "output": a} for q in QUESTIONS for a in (ramble, brief)])
    skipped = Counter()
    cfg = _cfg(tmp_path, pool)
    train = load_offline_pairs(cfg, char_tokenizer, skipped=skipped)
    held = [q for q in QUESTIONS if _heldout(q)]
    assert held and {p.prompt for p in train} == set(QUESTIONS) - set(held)
    assert all(p.chosen == brief and p.rejected == ramble and p.chosen_reward > p.rejected_reward for p in train)
    assert skipped == Counter({"row whose prompt is held out for evaluation": 2 * len(held)})
    heldout = load_offline_pairs(cfg, char_tokenizer, split="heldout")
    assert {p.prompt for p in heldout} == set(held)


def test_with_every_nth_prompt_held_out_no_answer_to_those_prompts_trains(tmp_path, char_tokenizer):
    brief, ramble = "word " * 24 + "done.", "word " * 60
    pool = _write(tmp_path / "pool.jsonl", [{"instruction": q, "output": a} for q in QUESTIONS for a in (ramble, brief)])
    skipped = Counter()
    cfg = _cfg(tmp_path, pool, "data.heldout_every=3")
    train = load_offline_pairs(cfg, char_tokenizer, skipped=skipped)
    assert {p.prompt for p in train} == {q for i, q in enumerate(QUESTIONS) if i % 3}
    assert skipped == Counter({"row whose prompt is held out for evaluation": 2 * 10})
    heldout = load_offline_pairs(cfg, char_tokenizer, split="heldout")
    assert {p.prompt for p in heldout} == set(QUESTIONS[::3])


def test_answers_over_the_cap_leave_the_pool_before_ranking(tmp_path, char_tokenizer):
    best_but_long, short, shorter = "word " * 24 + "done.", "yes, done.", "ok"
    pool = _write(tmp_path / "pool.jsonl", [{"instruction": q, "output": a} for q in QUESTIONS
                                            for a in (best_but_long, short, shorter)])
    skipped = Counter()
    cap = len(char_tokenizer(short, add_special_tokens=False)["input_ids"]) + 1  # EOS included
    pairs = load_offline_pairs(_cfg(tmp_path, pool, f"data.max_response_tokens={cap}"), char_tokenizer,
                               skipped=skipped)
    assert pairs and all((p.chosen, p.rejected) == (short, shorter) for p in pairs)
    assert all(len(p.chosen_token_ids) <= cap for p in pairs)
    trained = len(QUESTIONS) - sum(map(_heldout, QUESTIONS))
    assert skipped["pool answer over data.max_response_tokens=%d" % cap] == trained


def test_pairs_over_the_cap_are_left_out_and_an_empty_result_says_why(tmp_path, char_tokenizer):
    pairs = _write(tmp_path / "pairs.jsonl", [{"instruction": q, "chosen": "a fine answer.", "rejected": "no"}
                                              for q in QUESTIONS])
    skipped = Counter()
    with pytest.raises(DataError, match=r"no usable preference pairs .*pair with an answer over "
                                        r"data.max_response_tokens=3.*row whose prompt is held out"):
        load_offline_pairs(_cfg(tmp_path, pairs, "data.max_response_tokens=3"), char_tokenizer, skipped=skipped)
    assert skipped["pair with an answer over data.max_response_tokens=3"] == sum(not _heldout(q) for q in QUESTIONS)
