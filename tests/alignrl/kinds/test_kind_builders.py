import pytest

from alignrl.algorithms import RoundShape
from alignrl.kinds.group import group_examples
from alignrl.kinds.pairwise import pair_examples
from alignrl.kinds.pointwise import point_examples
from alignrl.kinds.weighted_sft import block_examples


def _sample(sid, prompt, reward, version=0, ref_version=0, finished=True):
    return dict(sample_id=sid, prompt_id=prompt, prompt=f"sort:{prompt}", prompt_token_ids=[1, 2], response=sid,
                response_token_ids=[3, len(sid)], finished=finished, source="on", policy_version=version, reward=reward,
                ref_logp_seq=-float(len(sid)), ref_version=ref_version)


def test_best_worst_pairs_and_accounting():
    samples = [_sample("a1", "p", 0.1), _sample("a2", "p", 0.9), _sample("a3", "p", 0.5, version=1),
               _sample("b1", "q", 0.5), _sample("b2", "q", 0.5),  # tie: no pair, both dropped
               _sample("c1", "r", 1.0, ref_version=-1)]  # scored under an old reference: evicted
    table, dropped, evicted = pair_examples(samples, ref_version=0)
    rows = table.to_pylist()
    assert len(rows) == 1
    row = rows[0]
    assert row["sample_ids"] == ["a2", "a1"] and row["chosen_reward"] == 0.9 and row["rejected_reward"] == 0.1
    assert row["ref_chosen"] == -2.0 and row["policy_version"] == 0
    assert sorted(dropped) == ["a3", "b1", "b2"] and evicted == ["c1"]


def _scored(sid, prompt, reward, **extra):
    row = _sample(sid, prompt, reward)
    row.update(behaviour_logprobs=[-0.5, -0.7], ref_logprobs=[-0.4, -0.9], ref_prompt_logp=-3.0, **extra)
    return row


def test_dataset_pairs_keep_their_labels_even_against_the_rewards():
    chosen = dict(_scored("d0-c", "p", 0.1), pair_id="d0", role="chosen", source="off")
    rejected = dict(_scored("d0-r", "p", 0.9), pair_id="d0", role="rejected", source="off")
    table, dropped, evicted = pair_examples([rejected, chosen], ref_version=0)
    row = table.to_pylist()[0]
    assert row["sample_ids"] == ["d0-c", "d0-r"] and row["source"] == "off" and not dropped and not evicted


def test_pairs_form_per_source_so_drafts_and_revisions_never_mix():
    samples = [_scored("a", "p", 0.2), _scored("b", "p", 0.8),
               dict(_scored("a-rev", "p", 0.9), source="revision"), dict(_scored("b-rev", "p", 0.4), source="revision")]
    rows = pair_examples(samples, ref_version=0)[0].to_pylist()
    assert sorted((r["source"], tuple(r["sample_ids"])) for r in rows) == [
        ("on", ("b", "a")), ("revision", ("a-rev", "b-rev"))]


def test_group_examples_keep_whole_groups_only():
    samples = [_scored(f"g{i}", "p", i / 4) for i in range(4)] + [_scored("h0", "q", 1.0)]
    table, dropped, evicted = group_examples(samples, ref_version=0, shape=RoundShape(per_prompt=4))
    rows = table.to_pylist()
    assert len(rows) == 1 and rows[0]["rewards"] == [0.0, 0.25, 0.5, 0.75]
    assert rows[0]["behaviour_logprobs"][0] == pytest.approx([-0.5, -0.7])
    assert dropped == ["h0"] and not evicted


def test_point_examples_group_responses_by_prompt():
    samples = [_scored("a", "p", 1.0), _scored("b", "p", 0.3), _scored("c", "q", 0.5)]
    rows = point_examples(samples, ref_version=0)[0].to_pylist()
    assert [len(r["rewards"]) for r in rows] == [2, 1] and rows[0]["ref_prompt_logp"] == -3.0


def test_block_examples_flatten_cross_terms_and_drop_the_remainder():
    samples = [_scored(f"s{i}", f"p{i}", 1.0, reward_cross_row=[i, i + 0.5], ref_cross_row=[-i, -i - 1.0])
               for i in range(3)]
    table, dropped, _ = block_examples(samples, ref_version=0, shape=RoundShape(block=2))
    row = table.to_pylist()[0]
    assert row["reward_cross"] == [0, 0.5, 1, 1.5] and row["ref_cross"] == [0, -1.0, -1, -2.0]
    assert dropped == ["s2"]


def test_no_reference_means_nothing_is_evicted():
    table, _, evicted = pair_examples([_scored("a", "p", 0.1, ), dict(_scored("b", "p", 0.9), ref_version=None)],
                                      ref_version=None)
    assert table.num_rows == 1 and evicted == []
