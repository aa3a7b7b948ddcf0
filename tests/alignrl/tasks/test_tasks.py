import random

import pytest

from alignrl.tasks import TASKS, make_task, task_for_prompt, verify


@pytest.mark.parametrize("name", sorted(TASKS))
def test_exact_answer_scores_one_and_rewards_stay_in_unit_interval(name):
    task = make_task(name)
    rng = random.Random(0)
    for _ in range(50):
        prompt = task.make_prompt(task.make_question(rng))
        assert task.reward(prompt.text, prompt.answer) == 1.0
        for junk in ["", "x", "9" * 12, prompt.answer[::-1], prompt.answer + "1"]:
            assert 0.0 <= task.reward(prompt.text, junk) <= 1.0


def test_digit_tasks():
    sort, rev = make_task("digit_sort"), make_task("digit_reverse")
    assert sort.solve("5391") == "1359" and rev.solve("5391") == "1935"
    assert sort.reward("sort:5391", "1359") == 1.0
    assert sort.reward("sort:5391", "1369") == pytest.approx(0.75)  # partial credit
    assert sort.reward("sort:5391", "13590") == pytest.approx(0.8)  # extra digit costs
    assert sort.reward("sort:5391", "") == 0.0


def test_arithmetic_partial_credit_is_graded():
    add = make_task("add")
    assert add.solve("37+45") == "82" and make_task("sub").solve("17-52") == "-35"
    near, far = add.reward("add:37+45", "83"), add.reward("add:37+45", "20")
    assert 0 < far < near < 1
    assert add.reward("add:37+45", "eighty") == 0.0


def test_verify_dispatches_by_prefix():
    assert verify("add:1+2", "3") == 1.0 and verify("rev:123", "321") == 1.0
    assert task_for_prompt("sub:5-1").name == "sub"
    with pytest.raises(ValueError, match="matches no task prefix"):
        verify("mul:2*3", "6")


def test_bad_options_and_names():
    with pytest.raises(KeyError, match="unknown task"):
        make_task("sorting")
    with pytest.raises(ValueError):
        make_task("digit_sort", min_len=5, max_len=2)
    with pytest.raises(ValueError, match="not a digit_sort prompt"):
        make_task("digit_sort").reward("rev:123", "321")
