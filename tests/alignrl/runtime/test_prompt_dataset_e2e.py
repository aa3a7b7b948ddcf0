"""A run on the user's prompt file trains on those prompts and evaluates on its held-out ones.

What it trained on is read from the run itself (the checkpoint's buffer accounting and the run's
prompt_split.json), never from the config.
"""

import json
import random

import pytest

from alignrl.buffer import read_state
from alignrl.metrics import read_metrics
from alignrl.runtime.calls import FillError
from alignrl.runtime.train import run_training
from alignrl.tasks import make_task
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu


def test_training_draws_only_from_the_prompt_file(ray_cluster, warm_policy, tmp_path):
    task, rng = make_task("digit_sort", min_len=3, max_len=8), random.Random(11)
    texts = list(dict.fromkeys(task.prompt_text(task.make_question(rng)) for _ in range(400)))[:120]
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps({"uid": f"user-{i}", "instruction": t}) + "\n" for i, t in enumerate(texts)))
    cfg = e2e_config(warm_policy, data={"prompt_dataset": str(path), "columns": {"prompt": "instruction",
                                                                                "prompt_id": "uid"}},
                     runtime={"total_steps": 3}, eval={"num_prompts": 16})
    out = tmp_path / "run"
    result = run_training(cfg, out)
    split = json.loads((out / "prompt_split.json").read_text())
    mine = {f"user-{i}" for i in range(len(texts))}
    assert split["source"] == str(path) and set(split["train"]) | set(split["heldout"]) <= mine
    assert len(split["heldout"]) == 16 and not set(split["train"]) & set(split["heldout"])
    accounting = read_state(out / "checkpoints" / "step_000003")
    trained = accounting["trained_prompts"]
    assert sum(trained.values()) == 3 * cfg.runtime.train_batch_size  # every trained example is counted
    assert set(trained) <= set(split["train"])  # ... and each came from the file's training split
    assert result.steps == 3 and 0.0 <= result.reward_after <= 1.0
    steps = [r for r in read_metrics(out / "metrics.jsonl") if r.get("loss") is not None]
    assert all("drops/unpaired" in r for r in steps)
    # async: a step may train on rounds generated before the previous step, so only steps that generated say it
    clipped = [r["completions/clipped_ratio"] for r in steps if "completions/clipped_ratio" in r]
    assert clipped and all(0.0 <= c <= 1.0 for c in clipped)


def test_a_run_that_cannot_fill_its_batch_stops_and_says_why(ray_cluster, warm_policy, tmp_path):
    """Two new tokens never reach an answer's EOS: with truncated answers dropped, no pair is ever built."""
    cfg = e2e_config(warm_policy, generation={"max_new_tokens": 2, "truncated": "drop"},
                     runtime={"total_steps": 3, "fill_patience": 3}, eval={"num_prompts": 8, "max_new_tokens": 2})
    with pytest.raises(FillError, match=r"hit generation\.max_new_tokens=2 without EOS.*Fix: raise "
                                        r"generation\.max_new_tokens"):
        run_training(cfg, tmp_path)
