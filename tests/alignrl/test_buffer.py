import pyarrow as pa
import pytest

from alignrl.buffer import ReplayBuffer
from alignrl.kinds.pairwise import PAIR_EXAMPLE_SCHEMA


def _examples(ids: list[tuple[str, str]], version: int, ref_version: int = 0) -> pa.Table:
    rows = [dict(example_id=f"{a}|{b}", sample_ids=[a, b], prompt_id="p", policy_version=version,
                 ref_version=ref_version, source="on", context_token_ids=[1], chosen_token_ids=[2],
                 rejected_token_ids=[3], chosen_reward=1.0, rejected_reward=0.0, ref_chosen=-1.0, ref_rejected=-2.0)
            for a, b in ids]
    return pa.Table.from_pylist(rows, schema=PAIR_EXAMPLE_SCHEMA)


def _ingest(buf, version, n, prefix, dropped=()):
    ids = [(f"{prefix}{i}a", f"{prefix}{i}b") for i in range(n)]
    buf.admit([s for pair in ids for s in pair] + list(dropped))
    buf.add(_examples(ids, version), dropped=list(dropped))


def test_exactly_once_accounting():
    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    _ingest(buf, 0, 4, "x", dropped=["x-tie"])
    batch = buf.take(3, learner_version=0)
    assert batch.num_rows == 3 and buf.take(3, 0) is None
    buf.commit(batch["batch_token"][0].as_py(), learner_version=0)
    stats = buf.stats()
    assert (stats["buffer/admitted"], stats["buffer/trained"], stats["buffer/dropped"]) == (9, 6, 1)
    assert stats["buffer/pending"] == 2 and stats["buffer/lost"] == 0 and stats["buffer/duplicated"] == 0


def test_staleness_eviction_and_bound():
    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    _ingest(buf, 0, 2, "old")
    _ingest(buf, 2, 2, "new")
    batch = buf.take(2, learner_version=2)  # version-0 examples lag by 2 > 1: evicted, never trained
    assert batch["policy_version"].to_pylist() == [2, 2]
    buf.commit(batch["batch_token"][0].as_py(), 2)
    stats = buf.stats()
    assert stats["buffer/evicted"] == 4 and stats["staleness/max"] == 0 and stats["buffer/lost"] == 0


def test_release_returns_batch_and_duplicates_are_counted():
    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=0)
    _ingest(buf, 0, 2, "s")
    token = buf.take(2, 0)["batch_token"][0].as_py()
    buf.release(token)
    again = buf.take(2, 0)
    assert again["example_id"].to_pylist() == ["s0a|s0b", "s1a|s1b"]
    buf.commit(again["batch_token"][0].as_py(), 0)
    buf._mark_rows(again, "trained")  # a replayed commit must never count twice
    assert buf.stats()["buffer/duplicated"] == 4


def test_invariants_are_enforced():
    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=0)
    buf.admit(["a"])
    with pytest.raises(ValueError, match="admitted twice"):
        buf.admit(["a"])
    with pytest.raises(ValueError, match="state None"):
        buf.add(_examples([("zz", "yy")], 0))
    with pytest.raises(ValueError, match="needs a 'example_id'"):
        ReplayBuffer(pa.schema([("x", pa.int64())]), 0)


def test_state_round_trip_requeues_in_flight():
    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    _ingest(buf, 0, 3, "r")
    buf.take(2, 0)
    state = buf.state()
    again = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    again.load_state(state)
    assert again.queue.num_rows == 3 and again.stats()["buffer/lost"] == 0


def test_take_and_release_leave_the_snapshot_unchanged():
    """Why the buffer actor writes no snapshot for them: a restore sees the same buffer either way."""
    def restored(state: dict) -> tuple:
        again = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
        again.load_state(state)
        return again.queue.to_pylist(), again.sample_state, again.stats()

    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    _ingest(buf, 0, 3, "t")
    before = restored(buf.state())
    token = buf.take(2, 0)["batch_token"][0].as_py()
    assert restored(buf.state()) == before
    buf.release(token)
    assert restored(buf.state()) == before


def test_ref_version_eviction():
    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=5)
    buf.admit(["a", "b"])
    buf.add(_examples([("a", "b")], 0, ref_version=0))
    assert buf.evict_where("ref_version", 10) == 1 and buf.stats()["buffer/evicted"] == 2


def test_on_disk_state_round_trip(tmp_path):
    from alignrl.buffer import has_state, read_state, write_state

    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    _ingest(buf, 0, 2, "d")
    assert not has_state(tmp_path)
    write_state(tmp_path, buf.state())
    again = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    again.load_state(read_state(tmp_path))
    assert has_state(tmp_path) and again.queue.equals(buf.queue) and again.stats() == buf.stats()


def test_bookkeeping_stays_bounded_and_exact_over_a_long_run():
    """Counts are running totals; only live samples and a bounded tail of finished ones keep an entry."""
    from alignrl.buffer import RECENT_TERMINAL

    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=0)
    rounds = 3 * RECENT_TERMINAL // 6
    for r in range(rounds):
        _ingest(buf, r, 2, f"r{r}-", dropped=[f"r{r}-tie{k}" for k in range(2)])
        buf.commit(buf.take(2, r)["batch_token"][0].as_py(), r)
    stats = buf.stats()
    assert stats["buffer/admitted"] == 6 * rounds and stats["buffer/trained"] == 4 * rounds
    assert stats["buffer/dropped"] == 2 * rounds and stats["buffer/lost"] == 0 and stats["buffer/pending"] == 0
    assert len(buf.sample_state) == RECENT_TERMINAL < 6 * rounds
    again = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=0)
    again.load_state(buf.state())
    assert again.stats() == stats and again.knows(f"r{rounds - 1}-tie0") and not again.knows("r0-tie0")


def test_checkpoints_in_the_two_file_form_still_load(tmp_path):
    """Before the single-file form: buffer.arrow held the queue only, buffer.json every sample's state."""
    import json

    import pyarrow.ipc as ipc

    from alignrl.buffer import read_state

    buf = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    _ingest(buf, 0, 2, "o", dropped=["o-tie"])
    state = buf.state()
    with ipc.new_stream(str(tmp_path / "buffer.arrow"), buf.schema) as writer:
        writer.write_table(state["queue"])
    legacy = {"sample_state": state["sample_state"], "duplicated": 0, "trained_staleness": {}}
    (tmp_path / "buffer.json").write_text(json.dumps(legacy))
    again = ReplayBuffer(PAIR_EXAMPLE_SCHEMA, max_staleness=1)
    again.load_state(read_state(tmp_path))
    assert again.stats() == buf.stats() and again.queue.equals(buf.queue)
