"""call() and wait_any() on a real local Ray: one ref or many, a deadline that names the call."""

import time

import pytest
import ray

from alignrl.runtime.calls import RuntimeTimeout, call, wait_any


@ray.remote
def _after(seconds: float, value):
    time.sleep(seconds)
    return value


def test_call_returns_one_ref_or_a_whole_list_and_a_late_one_names_itself(ray_cluster):
    assert call(_after.remote(0, 7), 30, "one") == 7
    # A list waits for all of its refs, not the first that is ready.
    assert call([_after.remote(0, 1), _after.remote(1.5, 2)], 30, "two") == [1, 2]
    assert call([], 1, "none") == []
    started, slow = time.monotonic(), _after.remote(60, 2)
    with pytest.raises(RuntimeTimeout, match="slow push did not finish within 1s"):
        call([_after.remote(0, 1), slow], 1, "slow push")
    assert time.monotonic() - started < 10
    ray.cancel(slow, force=True)  # frees its CPU slot on the cluster the other e2e tests share


def test_wait_any_returns_at_the_first_ready_ref_or_empty_at_the_deadline(ray_cluster):
    fast, slow = _after.remote(0, 1), _after.remote(60, 2)
    assert wait_any([slow, fast], time.monotonic() + 30) == [fast]
    assert wait_any([slow], time.monotonic() + 1.2) == []
    ray.cancel(slow, force=True)
