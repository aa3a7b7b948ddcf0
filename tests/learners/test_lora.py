"""LoRA: only the adapters train, and what leaves the learner is the merged plain HF model."""

import copy

import pytest
import torch

from alignrl.config import load_config_dict
from alignrl.learners.lora import LoRATargetError, apply_lora, merged_state_dict
from alignrl.learners.weights import full_state_dict, save_policy
from alignrl.models.tiny import load_model_dir

ROWS = [dict(example_id=str(i), context_token_ids=[1, 5, 35, 31, 12 + i % 8, 6],
             chosen_token_ids=[8 + i % 5] * (1 + i) + [2], rejected_token_ids=[9, 8 + i % 3, 2],
             ref_chosen=-2.0 - 0.1 * i, ref_rejected=-3.0 + 0.05 * i, source="on") for i in range(4)]


def _lora(**fields):
    return load_config_dict({"model": {"lora": {"r": 4, "alpha": 8, **fields}}}).model.lora


def test_merged_weights_equal_peft_merge_and_unload(tiny_model_dir):
    model, _ = load_model_dir(tiny_model_dir)
    peft_model = apply_lora(model, _lora())
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)  # B starts at zero: make the update real
    merged = merged_state_dict(peft_model)
    reference = copy.deepcopy(peft_model).merge_and_unload().state_dict()
    assert merged.keys() == reference.keys()
    assert max((merged[k] - reference[k]).abs().max().item() for k in merged) < 1e-6
    plain, _ = load_model_dir(tiny_model_dir)
    assert merged.keys() == plain.state_dict().keys()  # what generators and the reference load


def test_targets_that_match_nothing_are_a_clear_error(tiny_model_dir):
    model, _ = load_model_dir(tiny_model_dir)
    with pytest.raises(LoRATargetError, match=r"target_modules \['qkv'\] match no module of the model; its linear "
                                              r"layers are named \[.*'q_proj'"):
        apply_lora(model, _lora(target_modules=["qkv"]))


def test_a_lora_step_trains_only_the_adapters_and_saves_a_plain_model(one_rank, tiny_model_dir, tmp_path):
    from alignrl.learners.engine import PolicyEngine

    cfg = load_config_dict({"algorithm": {"name": "dpo"}, "resources": {"num_learners": 1},
                            "runtime": {"train_batch_size": 4, "micro_batch_size": 2},
                            "optim": {"lr": 1e-2, "warmup_ratio": 0.0}, "model": {"lora": {"r": 4, "alpha": 8}}})
    policy = PolicyEngine(cfg, str(tiny_model_dir), 0, 1, 4)
    assert 0 < policy.trainable_params < policy.params / 5
    before = {k: v.clone() for k, v in full_state_dict(policy.engine).items()}
    metrics = policy.train_step([dict(r) for r in ROWS])
    assert metrics["learner/grad_norm"] > 0
    after = full_state_dict(policy.engine)
    changed = {k for k in after if not torch.equal(before[k], after[k])}
    assert changed and all(k.endswith("proj.weight") for k in changed)  # merged adapter updates, nothing else
    save_policy(policy.engine.module, after, tmp_path, policy.tokenizer)
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    saved, _ = load_model_dir(tmp_path / "policy")
    ids = torch.tensor([ROWS[0]["context_token_ids"] + ROWS[0]["chosen_token_ids"]])
    with torch.no_grad():
        live = policy.engine.module(input_ids=ids).logits
        assert torch.allclose(saved(input_ids=ids).logits, live, atol=1e-5)
