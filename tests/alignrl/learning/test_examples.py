from alignrl.learning.examples import pair_examples


def _sample(sid, prompt, reward, version=0, ref_version=0, finished=True):
    return dict(sample_id=sid, prompt_id=prompt, prompt=f"sort:{prompt}", prompt_token_ids=[1, 2], response=sid,
                response_token_ids=[3, len(sid)], finished=finished, policy_version=version, reward=reward,
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
