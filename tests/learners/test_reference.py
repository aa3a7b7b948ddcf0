"""The reference inside a learner rank: the base model with LoRA adapters disabled, or a frozen copy.

Each test drives a real one-rank DeepSpeed PolicyEngine: its train step scores the rows' reference
log-probs itself, the reference stays put while the policy trains, a reset makes it the current
policy, and a checkpoint brings a reset reference back.
"""

import pytest
import torch

from alignrl.config import load_config_dict
from alignrl.kinds.pairwise import pair_reference
from alignrl.learners.lora import merged_state_dict
from alignrl.learners.weights import full_state_dict
from alignrl.models.tiny import load_model_dir

ROWS = [dict(example_id=str(i), context_token_ids=[1, 5, 35, 31, 12 + i % 8, 6],
             chosen_token_ids=[8 + i % 5] * (1 + i) + [2], rejected_token_ids=[9, 8 + i % 3, 2],
             ref_chosen=None, ref_rejected=None, source="on") for i in range(4)]


def _engine(tiny_model_dir, lora: bool):
    from alignrl.learners.engine import PolicyEngine

    cfg = load_config_dict({"algorithm": {"name": "dpo"}, "resources": {"num_learners": 1},
                            "runtime": {"train_batch_size": 4, "micro_batch_size": 2},
                            "optim": {"lr": 5e-2, "warmup_ratio": 0.0, "schedule": "constant"},
                            "model": {"lora": {"r": 4, "alpha": 8} if lora else None}})
    return PolicyEngine(cfg, str(tiny_model_dir), 0, 1, 8)


def _scores(model, pad_id) -> list[float]:
    rows = [dict(r) for r in ROWS]
    pair_reference(model.eval(), rows, pad_id, 64)
    return [v for r in rows for v in (r["ref_chosen"], r["ref_rejected"])]


def _scored_by_engine(policy) -> list[float]:
    rows = [dict(r) for r in ROWS]
    policy.reference.score(policy.kind, rows, policy.pad_id, policy.options)
    return [v for r in rows for v in (r["ref_chosen"], r["ref_rejected"])]


def _current_policy(policy, tiny_model_dir):
    model, _ = load_model_dir(tiny_model_dir)
    state = merged_state_dict(policy.engine.module) if policy.reference.lora else full_state_dict(policy.engine)
    model.load_state_dict(state)
    return model


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "frozen-copy"])
def test_the_learner_reference_scores_resets_and_resumes(one_rank, tiny_model_dir, tmp_path, lora):
    policy = _engine(tiny_model_dir, lora)
    assert policy.reference is not None and policy.reference.lora == lora
    assert (policy.reference.copy is None) == lora  # LoRA: no second copy of the weights
    base, _ = load_model_dir(tiny_model_dir)
    at_start = _scores(base, policy.pad_id)

    rows = [dict(r) for r in ROWS]
    metrics = policy.train_step(rows)
    assert metrics["learner/reference_seconds"] > 0
    assert [v for r in rows for v in (r["ref_chosen"], r["ref_rejected"])] == pytest.approx(at_start, abs=1e-5)
    for _ in range(3):
        policy.train_step([dict(r) for r in ROWS])
    moved = _scores(_current_policy(policy, tiny_model_dir), policy.pad_id)
    assert max(abs(a - b) for a, b in zip(moved, at_start)) > 1e-2  # the policy trained ...
    assert _scored_by_engine(policy) == pytest.approx(at_start, abs=1e-5)  # ... the reference did not

    live = {k: v.clone() for k, v in policy.engine.module.state_dict().items()}
    policy.reference.reset(None if lora else full_state_dict(policy.engine), version=4)
    assert _scored_by_engine(policy) == pytest.approx(moved, abs=1e-5)  # ref = the policy at the reset
    assert all(torch.equal(live[k], v) for k, v in policy.engine.module.state_dict().items())  # scoring left it
    policy.train_step([dict(r) for r in ROWS])
    assert _scored_by_engine(policy) == pytest.approx(moved, abs=1e-5)

    policy.reference.save(tmp_path / "reference", policy.tokenizer)
    resumed = _engine(tiny_model_dir, lora)
    assert _scored_by_engine(resumed) == pytest.approx(at_start, abs=1e-5)
    resumed.reference.load(tmp_path / "reference", 4)
    assert resumed.reference.version == 4 and _scored_by_engine(resumed) == pytest.approx(moved, abs=1e-5)


def test_no_reference_when_the_loss_reads_none_or_the_actor_scores_it(one_rank, tiny_model_dir):
    from alignrl.learners.engine import PolicyEngine

    for overrides in ({"algorithm": {"name": "simpo"}},
                      {"algorithm": {"name": "dpo"}, "learner": {"reference": "actor"}}):
        cfg = load_config_dict({**overrides, "resources": {"num_learners": 1}, "runtime": {"train_batch_size": 4}})
        assert PolicyEngine(cfg, str(tiny_model_dir), 0, 1, 4).reference is None
