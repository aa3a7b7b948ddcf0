import torch

from alignrl.transport.buckets import pack_buckets, state_digest, unpack_bucket


def test_buckets_round_trip_bit_identical():
    state = {"a": torch.randn(300, 200), "b": torch.randn(10), "c": torch.randn(5, 5).bfloat16(),
             "d": torch.randint(0, 9, (4,))}
    buckets = pack_buckets(state, bucket_mb=0.1)
    assert 2 < len(buckets) < len(state) + 2  # grouped, never one object per tensor unless forced
    restored = {}
    for b in buckets:
        restored.update(unpack_bucket(b))
    assert set(restored) == set(state)
    assert state_digest(restored) == state_digest(state)
    for k in state:
        assert restored[k].dtype == state[k].dtype and torch.equal(restored[k], state[k])


def test_digest_sees_one_bit():
    state = {"w": torch.zeros(4)}
    flipped = {"w": torch.tensor([0.0, 0.0, 0.0, 1e-30])}
    assert state_digest(state) != state_digest(flipped)


def test_small_tensors_share_a_bucket():
    state = {f"p{i}": torch.ones(10) for i in range(50)}
    assert len(pack_buckets(state, bucket_mb=1)) == 1
