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
