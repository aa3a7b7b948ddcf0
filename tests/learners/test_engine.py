"""PolicyEngine's memory and speed levers in-process (one gloo rank): each does what its field says."""

import pytest
import torch

from alignrl.config import load_config_dict
from alignrl.transport.buckets import state_digest

ROWS = [dict(example_id=str(i), context_token_ids=[1, 5, 35, 31, 12 + i % 8, 6],
             chosen_token_ids=[8 + i % 5] * (1 + 2 * i) + [2], rejected_token_ids=[9, 8 + i % 3, 2],
             ref_chosen=-2.0 - 0.1 * i, ref_rejected=-3.0 + 0.05 * i, source="on") for i in range(8)]


def _engine(model_dir, **learner):
    from alignrl.learners.engine import PolicyEngine

    runtime = {"train_batch_size": 8, "micro_batch_size": 8, "seed": 0, **learner.pop("runtime", {})}
    cfg = load_config_dict({"algorithm": {"name": "dpo"}, "resources": {"num_learners": 1}, "runtime": runtime,
                            "data": {"max_prompt_tokens": 30},  # so a 60-token budget holds any one sequence
                            "optim": {"lr": 1e-5, "warmup_ratio": 0.0}, "learner": learner})
    return PolicyEngine(cfg, str(model_dir), 0, 1, 4)


def _step(engine) -> tuple[dict, dict]:
    metrics = engine.train_step([dict(r) for r in ROWS])
    return metrics, {k: v.detach().clone() for k, v in engine.engine.module.state_dict().items()}


def _worst(a: dict, b: dict) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_levers_change_memory_not_the_step(one_rank, tiny_model_dir):
    """Checkpointing, packing, chunking and token budgets all give the plain step's weights."""
    base_metrics, base = _step(_engine(tiny_model_dir, logits_chunk_tokens=None))
    assert base_metrics["learner/micro_batches"] == 1 and base_metrics["learner/grad_norm"] > 0
    for learner in ({"gradient_checkpointing": True}, {"packing": True, "logits_chunk_tokens": 4},
                    {"runtime": {"max_tokens_per_micro_batch": 60}}):
        engine = _engine(tiny_model_dir, **learner)
        if learner.get("gradient_checkpointing"):
            assert engine.engine.module.is_gradient_checkpointing
        metrics, weights = _step(engine)
        assert metrics["loss"] == pytest.approx(base_metrics["loss"], abs=1e-6), learner
        assert _worst(weights, base) < 1e-6, learner
        if "runtime" in learner:
            assert metrics["learner/micro_batches"] > 2  # 8 pairs of up to 2 x 21 tokens in 60-token forwards
    assert state_digest(weights) != state_digest(_engine(tiny_model_dir).engine.module.state_dict())  # it trained


def test_autocast_runs_the_forward_in_bf16(one_rank, tiny_model_dir):
    for mode, dtype in (("off", torch.float32), ("bfloat16", torch.bfloat16)):
        engine = _engine(tiny_model_dir, autocast=mode)
        seen = []
        hook = engine.engine.module.get_output_embeddings().register_forward_hook(
            lambda mod, args, out: seen.append(out.dtype))
        metrics, _ = _step(engine)
        hook.remove()
        assert set(seen) == {dtype} and torch.isfinite(torch.tensor(metrics["loss"]))
        assert next(engine.engine.module.parameters()).dtype == torch.float32  # fp32 master weights
