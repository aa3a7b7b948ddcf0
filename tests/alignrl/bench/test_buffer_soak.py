"""Slow-tier soak: the buffer's per-step cost and memory stay flat over 10k synchronous steps."""

import pytest

pytestmark = pytest.mark.slow


def test_buffer_bookkeeping_is_flat_over_10k_steps(ray_cluster):
    from alignrl.bench.buffer_soak import soak

    result = soak(10_000)
    print(result)
    assert result["lost"] == 0 and result["admitted"] == 10_000 * 64
    assert result["ratio"] < 1.2, result  # the last 1k steps cost within 20% of the first 1k
    assert result["rss_mb"][10_000] - result["rss_mb"][1000] < 30, result
