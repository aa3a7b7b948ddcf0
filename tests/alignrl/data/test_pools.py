"""A pool of answers per prompt becomes best-vs-worst pairs by the run's reward; what gives no pair is counted."""

from collections import Counter

from alignrl.data.pools import group_pool, rank_pool
from alignrl.rewards import make_reward


class _Length:
    """A reward that scores an answer by its character count."""

    def score(self, prompts, responses, sample_ids):
        return [float(len(r)) for r in responses]


def _rows(pool: dict[str, list[str]]) -> list[dict]:
    return [{"prompt_id": f"{p}-{i}", "prompt": p, "response": r} for p, answers in pool.items()
            for i, r in enumerate(answers)]


def test_the_reward_ranks_each_prompt_answers():
    skipped = Counter()
    groups = group_pool(_rows({"q1": ["a b c.", "a b c d e f g h", "a"], "q2": ["x y", "x y z."]}), skipped)
    assert [g["prompt_id"] for g in groups] == ["q1-0", "q2-0"]  # one group per prompt, the first row's id
    pairs = rank_pool(groups, _Length(), skipped)
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("a b c d e f g h", "a"), ("x y z.", "x y")]
    assert [(p["chosen_reward"], p["rejected_reward"]) for p in pairs] == [(15.0, 1.0), (6.0, 3.0)]
    assert skipped == Counter()


def test_a_real_reward_kind_ranks_the_pool():
    pairs = rank_pool(group_pool(_rows({"q": ["word " * 25 + "end.", "word " * 90]}), Counter()),
                      make_reward("function", "alignrl.rules:brief_answer"), Counter())
    assert pairs[0]["chosen"].endswith("end.") and pairs[0]["chosen_reward"] > pairs[0]["rejected_reward"]


def test_duplicates_single_answers_and_ties_give_no_pair_and_are_counted():
    skipped = Counter()
    rows = _rows({"dup": ["same", "same"], "one": ["only"], "tie": ["ab", "cd"], "ok": ["a", "abc"]})
    pairs = rank_pool(group_pool(rows, skipped), _Length(), skipped)
    assert [p["prompt"] for p in pairs] == ["ok"]
    assert skipped == Counter({"duplicate answer to the same prompt": 1, "prompt with fewer than 2 answers": 2,
                               "prompt whose answers all score the same": 1})
