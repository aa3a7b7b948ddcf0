import pytest

from alignrl.tasks import make_task
from alignrl.tasks.splits import make_splits


def test_deterministic_and_disjoint():
    tasks = [make_task("digit_sort"), make_task("add")]
    a = make_splits(tasks, 300, 60, seed=1)
    b = make_splits(tasks, 300, 60, seed=1)
    assert a == b
    assert len(a.train) == 300 and len(a.heldout) == 60
    train_ids = {p.prompt_id for p in a.train}
    assert not train_ids & {p.prompt_id for p in a.heldout}
    assert len(train_ids) == 300
    assert {p.task for p in a.train} == {"digit_sort", "add"}


def test_heldout_never_leaks_across_seeds():
    tasks = [make_task("digit_sort", max_len=4)]
    heldout = {p.prompt_id for s in range(3) for p in make_splits(tasks, 200, 40, seed=s).heldout}
    train = {p.prompt_id for s in range(3) for p in make_splits(tasks, 200, 40, seed=s).train}
    assert not heldout & train


def test_too_small_task_space_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        make_splits([make_task("digit_sort", min_len=1, max_len=1)], 50, 5, seed=0)
