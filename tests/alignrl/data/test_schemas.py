import pytest

from alignrl.data.schemas import SAMPLE_SCHEMA, samples_to_table


def _row(**over):
    row = dict(sample_id="s0", prompt_id="p0", prompt="sort:21", context=None, template_id="chat",
               prompt_token_ids=[1, 5], response="12", response_token_ids=[9, 10, 2],
               behaviour_logprobs=[-0.1, -0.2, -0.3], finished=True, policy_version=3, source="on",
               reward=1.0, ref_logp_seq=-0.5, ref_logprobs=[-0.1, -0.2, -0.2], ref_version=0)
    row.update(over)
    return row


def test_samples_round_trip():
    table = samples_to_table([_row(), _row(sample_id="s1", reward=None, source="revision", context="T_rev")])
    assert table.schema == SAMPLE_SCHEMA
    assert table.column("policy_version").to_pylist() == [3, 3]
    assert table.to_pylist()[1]["reward"] is None


def test_contract_violations_name_the_sample():
    with pytest.raises(ValueError, match="s9.*source 'web'"):
        samples_to_table([_row(sample_id="s9", source="web")])
    with pytest.raises(ValueError, match="2 behaviour log-probs for 3 response tokens"):
        samples_to_table([_row(behaviour_logprobs=[-0.1, -0.2])])
