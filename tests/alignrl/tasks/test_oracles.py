import random
import statistics

import pytest

from alignrl.tasks import make_task
from alignrl.tasks.oracles import ScriptedOracle, default_oracles, strong_pool


def test_error_rate_controls_quality():
    task = make_task("digit_sort", min_len=6, max_len=8)
    rng = random.Random(0)
    prompts = [task.make_prompt(task.make_question(rng)) for _ in range(200)]
    means = []
    for oracle in default_oracles():
        means.append(statistics.mean(task.reward(p.text, oracle.respond(task, p, rng)) for p in prompts))
    assert means[0] == 1.0
    assert means == sorted(means, reverse=True) and means[-1] < 0.7


def test_pool_is_ranked_and_seeded():
    task = make_task("add")
    prompt = task.make_prompt("37+45")
    pool = strong_pool(task, prompt, default_oracles(), per_oracle=5, seed=3)
    assert len(pool) == 20
    assert [r.reward for r in pool] == sorted((r.reward for r in pool), reverse=True)
    assert pool[0].reward == 1.0
    assert pool == strong_pool(task, prompt, default_oracles(), per_oracle=5, seed=3)


def test_bad_error_rate():
    with pytest.raises(ValueError):
        default_oracles((0.1, 1.5))
    assert ScriptedOracle("x", 0.0).respond(make_task("digit_reverse"), make_task("digit_reverse").make_prompt("123"),
                                            random.Random(0)) == "321"
