"""Which data source each algorithm runs on, and the layouts the runtime refuses up front."""

import pytest

from alignrl.config import ConfigError, load_config_dict
from alignrl.data.offline import OfflinePair
from alignrl.runtime.pipelines import Pipeline, data_source, uses_reference

PAIR = OfflinePair("p0", "sort: 2 1", [1, 5], "12", "21", [6, 7, 2], [7, 6, 2], 1.0, 0.0, "off")


def _cfg(algorithm: dict, **sections):
    return load_config_dict({"algorithm": algorithm, **sections})


@pytest.mark.parametrize("name, source", [("dpo", "offline"), ("iterative_dpo", "online"), ("grpo", "online"),
                                          ("var", "offline"), ("rao", "offline"), ("realign", "online"),
                                          ("simplemix", "online"), ("simpo", "offline")])
def test_default_sources(name, source):
    assert data_source(_cfg({"name": name})) == source


def test_online_only_algorithms_refuse_a_dataset_source():
    for name in ("grpo", "realign"):
        with pytest.raises(ConfigError, match="data.source"):
            data_source(_cfg({"name": name}, data={"source": "offline"}))


def test_reference_calls_only_where_the_loss_reads_them():
    assert not uses_reference(_cfg({"name": "simpo"}))
    assert not uses_reference(_cfg({"name": "dr_grpo"}))
    assert uses_reference(_cfg({"name": "slic", "variant": "hinge"})) and not uses_reference(_cfg({"name": "slic"}))
    assert not uses_reference(_cfg({"name": "realign", "inner_loss": "simpo"}))


def test_layouts_refused_up_front():
    with pytest.raises(ConfigError, match="multiple of the var block of 3"):
        Pipeline(_cfg({"name": "var", "micro_batch": 3}, runtime={"prompts_per_step": 16}), [], [PAIR])
    with pytest.raises(ConfigError, match="union_subsample"):
        Pipeline(_cfg({"name": "simplemix", "mix": "union_subsample"}), [], [PAIR])
    with pytest.raises(ConfigError, match="algorithm.var_z_mode: ref_samples needs"):
        _cfg({"name": "var", "var_z_mode": "ref_samples"})
    with pytest.raises(ConfigError, match="needs offline pairs"):
        Pipeline(_cfg({"name": "dpo"}), [], [])


def test_var_rounds_count_blocks():
    pipe = Pipeline(_cfg({"name": "var", "micro_batch": 4}, runtime={"prompts_per_step": 16, "train_batch_size": 4,
                                                                      "micro_batch_size": 2}), [], [PAIR])
    assert pipe.examples_per_round() == 4 and pipe.items() == [PAIR]


def test_which_runs_read_the_preference_dataset():
    from alignrl.runtime.pipelines import needs_offline_pairs

    assert not needs_offline_pairs(_cfg({"name": "iterative_dpo"}))
    assert needs_offline_pairs(_cfg({"name": "iterative_dpo", "boundary": {"enabled": True}}))
    assert needs_offline_pairs(_cfg({"name": "realign", "formats": ["P-D", "S-A"]}))
    assert not needs_offline_pairs(_cfg({"name": "realign"}))
    assert needs_offline_pairs(_cfg({"name": "simplemix"})) and needs_offline_pairs(_cfg({"name": "var"}))


def _round(finished_rewards):
    """Generated samples of one prompt: (finished, reward) each, with the fields the pair builder reads."""
    return [dict(sample_id=f"s{i}", prompt_id="p", prompt="sort:21", prompt_token_ids=[1], response=f"r{i}",
                 response_token_ids=[5, i], behaviour_logprobs=[-0.1, -0.1], finished=done, reward=reward,
                 policy_version=0, source="on", ref_logp_seq=-1.0, ref_version=0)
            for i, (done, reward) in enumerate(finished_rewards)]


@pytest.mark.parametrize("policy, pair, dropped, reasons", [
    ("drop", ("s0", "s2"), ["s1", "s3"], {"truncated": 2, "unpaired": 0}),
    ("keep", ("s3", "s2"), ["s0", "s1"], {"truncated": 0, "unpaired": 2}),
    # penalized: s1 0.5 - 1 ranks last, and the cut s3 (0.9 - 1) falls below the finished s0 (0.8)
    ("penalize", ("s0", "s1"), ["s2", "s3"], {"truncated": 0, "unpaired": 2}),
])
def test_truncated_responses_follow_the_configured_policy(policy, pair, dropped, reasons):
    samples = _round([(True, 0.8), (False, 0.5), (True, 0.1), (False, 0.9)])
    cfg = _cfg({"name": "iterative_dpo"}, generation={"truncated": policy, "truncation_penalty": 1.0})
    built = Pipeline(cfg, [], None).build(samples, 0)
    row = built.examples.to_pylist()[0]
    assert tuple(row["sample_ids"]) == pair and sorted(built.dropped) == dropped
    assert built.reasons == reasons and built.cut == 2
    assert samples[3]["reward"] == 0.9  # the penalty never rewrites what the reward actor returned


def test_each_kind_picks_its_default_truncation_policy():
    assert Pipeline(_cfg({"name": "iterative_dpo"}), [], None).truncated == "penalize"
    assert Pipeline(_cfg({"name": "grpo"}), [], None).truncated == "keep"


def test_one_source_of_truth_for_the_response_cap():
    with pytest.raises(ConfigError, match=r"algorithm\.max_completion_length: 32 differs from generation\.max_new_tokens "
                                          r"16; both are the response-length cap"):
        _cfg({"name": "dr_grpo", "max_completion_length": 32})
    assert _cfg({"name": "dr_grpo", "max_completion_length": 16}).algorithm.max_completion_length == 16
    assert Pipeline(_cfg({"name": "grpo"}, generation={"max_new_tokens": 48}), [], None).sampling["max_new_tokens"] == 48


def test_a_batch_that_cannot_fill_names_the_cause_and_the_fix():
    from alignrl.runtime.calls import FillError
    from alignrl.runtime.fill import FillWatch

    cfg = _cfg({"name": "iterative_dpo"}, generation={"truncated": "drop", "max_new_tokens": 48},
               runtime={"fill_patience": 2, "train_batch_size": 16, "micro_batch_size": 8, "prompts_per_step": 16})
    pipe, watch = Pipeline(cfg, [], None), FillWatch(cfg, 16)
    round_ = _round([(False, 0.5)] * 31 + [(True, 0.1)])
    watch.record(pipe.build(round_, 0), len(round_))
    with pytest.raises(FillError) as err:
        watch.record(pipe.build(round_, 0), len(round_))
    message = str(err.value)
    assert "2 rounds since the last step built 0 examples for a batch of 16" in message
    assert "62 (97%) hit generation.max_new_tokens=48 without EOS" in message
    assert "Fix: raise generation.max_new_tokens, or set generation.truncated: penalize" in message


def test_rounds_carry_reference_scores_only_when_the_reference_actor_makes_them():
    by_learner = Pipeline(_cfg({"name": "dpo"}), [], [PAIR])
    by_actor = Pipeline(_cfg({"name": "dpo"}, learner={"reference": "actor"}), [], [PAIR])
    assert by_learner.with_reference and not by_learner.reference_actor and by_actor.reference_actor
    bare = by_learner.dataset_samples([PAIR], "d0", 0)
    scored = [dict(s, ref_logp_seq=-1.0, ref_version=0) for s in bare]
    assert by_actor.build(scored, 0).examples.to_pylist()[0]["ref_chosen"] == -1.0
    assert by_actor.build(bare, 0).evicted  # without the actor's scores the example would be stale ...
    built = by_learner.build(bare, 0)  # ... while the ranks score it at train time: nothing is stale
    assert not built.evicted and built.examples.to_pylist()[0]["ref_chosen"] is None


def test_a_kind_that_cannot_score_in_the_learner_needs_the_reference_actor(monkeypatch):
    import dataclasses

    from alignrl.kinds import get_kind
    from alignrl.runtime import pipelines

    bare = dataclasses.replace(get_kind("pairwise"), score_reference=None)
    monkeypatch.setattr(pipelines, "get_kind", lambda name: bare)
    with pytest.raises(ConfigError, match=r"data kind pairwise cannot score its reference in the learner ranks "
                                          r"\(it has no score_reference\); set learner.reference: actor"):
        Pipeline(_cfg({"name": "dpo"}), [], [PAIR])
    Pipeline(_cfg({"name": "dpo"}, learner={"reference": "actor"}), [], [PAIR])
