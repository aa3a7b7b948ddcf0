"""The bad-input suite: every case fails with one clear error that names the cause and where it is."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignrl.config import ConfigError, load_config, load_config_dict
from alignrl.config.loader import parse_override
from alignrl.data import alpaca_eval
from alignrl.data.encoding import fit_prompt
from alignrl.data.readers import DataError, read_preferences, read_prompts
from alignrl.models.tiny import load_model_dir
from alignrl.rewards import FunctionReward, HTTPReward, RewardError, load_function
from alignrl.runtime.checkpoint import (
    CheckpointError,
    atomic_checkpoint,
    config_fingerprint,
    latest_checkpoint,
    read_controller_state,
    write_json,
)


def _file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _checkpoint(tmp_path, cfg, step=1):
    with atomic_checkpoint(tmp_path, step, 3) as staging:
        write_json(staging / "controller.json", {"fingerprint": config_fingerprint(cfg), "state": {}})
    return latest_checkpoint(tmp_path)


def _full_disk(tmp_path):
    good = _checkpoint(tmp_path, {"algorithm": {"name": "dpo"}}, step=1)
    with atomic_checkpoint(tmp_path, 2, 3) as staging:
        (staging / "policy.safetensors").write_bytes(b"partial")
        raise OSError(28, "No space left on device")
    assert good.exists()


def _pickled_only(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "pytorch_model.bin").write_bytes(b"not loaded: pickles are refused")
    load_model_dir(tmp_path / "m")


def _over_context(tmp_path):
    from alignrl.models.tiny import make_tiny_model_dir
    from alignrl.runtime.setup import check_model_fit

    cfg = load_config_dict({"data": {"max_prompt_tokens": 1024}})
    check_model_fit(cfg, make_tiny_model_dir(tmp_path / "m", hidden_size=64, num_layers=1, num_heads=2,
                                           intermediate_size=64, max_position_embeddings=1024))


def _lora_targets_match_nothing(tmp_path):
    from alignrl.models.tiny import make_tiny_model_dir
    from alignrl.runtime.setup import check_model_fit

    cfg = load_config_dict({"model": {"lora": {"target_modules": ["qkv", "fc1"]}}})
    check_model_fit(cfg, make_tiny_model_dir(tmp_path / "m", hidden_size=64, num_layers=1, num_heads=2,
                                             intermediate_size=64))


def _mismatched_tokenizer(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    from alignrl.models.tokenizer import build_char_tokenizer

    LlamaForCausalLM(LlamaConfig(vocab_size=20, hidden_size=64, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=2)).save_pretrained(tmp_path / "m")
    build_char_tokenizer().save_pretrained(tmp_path / "m")
    load_model_dir(tmp_path / "m")


def _short_reward(tmp_path):
    """A plug-in reward kind whose score() drops a sample."""
    from alignrl.rewards import REWARD_KINDS, make_reward, register_reward_kind

    class DropsOne:
        def score(self, prompts, responses, sample_ids):
            return [1.0] * (len(sample_ids) - 1)

    register_reward_kind("drops_one", lambda settings: DropsOne())
    try:
        make_reward("drops_one").score(["p", "q", "r"], ["a", "b", "c"], ["s1", "s2", "s3"])
    finally:
        REWARD_KINDS.unregister("drops_one")


def _no_chat_template(tmp_path):
    from alignrl.models.tiny import make_tiny_model_dir
    from alignrl.runtime.setup import initial_policy

    model_dir = make_tiny_model_dir(tmp_path / "m", hidden_size=64, num_layers=1, num_heads=2, intermediate_size=64)
    config = json.loads((model_dir / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (model_dir / "tokenizer_config.json").write_text(json.dumps(config))
    (model_dir / "chat_template.jinja").unlink(missing_ok=True)
    initial_policy(load_config_dict({"model": {"path": str(model_dir)}}), tmp_path / "run")


def _hub_model_offline(tmp_path):
    from alignrl.config.schema import ModelConfig
    from alignrl.models.policy import policy_from_config

    policy_from_config(ModelConfig(path="someone/no-such-model"))  # conftest sets HF_HUB_OFFLINE


def _jsonl(tmp_path, name, *rows):
    return _file(tmp_path, name, "\n".join(json.dumps(row) for row in rows) + "\n")


CASES = {
    "unknown config key": (lambda t: load_config(_file(t, "run.yaml", "runtime:\n  max_stalenes: 0\n")),
                           ConfigError, r"run\.yaml:\n  runtime\.max_stalenes: unknown key"),
    "mistyped value": (lambda t: load_config(_file(t, "run.yaml", "optim:\n  lr: fast\n")),
                       ConfigError, r"optim\.lr: .*got 'fast'"),
    "unknown algorithm": (lambda t: load_config_dict({"algorithm": {"name": "dop"}}),
                          ConfigError, r"unknown algorithm 'dop'"),
    "unknown mismatch correction": (
        lambda t: load_config_dict({"algorithm": {"name": "grpo", "mismatch_correction": "token"}}),
        ConfigError, r"algorithm\.mismatch_correction: Input should be 'token_truncate', .* \(got 'token'\)"),
    "LoRA reference in ZeRO-3 ranks": (
        lambda t: load_config_dict({"model": {"lora": {}}, "runtime": {"zero_stage": 3}}),
        ConfigError, r"learner\.reference: learner with model\.lora needs runtime\.zero_stage < 3"),
    "placing a reference actor that does not run": (
        lambda t: load_config_dict({"resources": {"placement": {"reference": {"strategy": "spread"}}}}),
        ConfigError, r"resources\.placement\.reference places the reference-0 actor, which runs only with "
                     r"learner\.reference: actor"),
    "colocated with vLLM": (
        lambda t: load_config_dict({"resources": {"layout": "colocated"}, "generation": {"backend": "vllm"}}),
        ConfigError, r"resources\.layout: colocated samples with the learner's own model through transformers "
                     r"\(generation\.backend: hf\), not 'vllm'"),
    "colocated under ZeRO-3": (
        lambda t: load_config_dict({"resources": {"layout": "colocated"}, "runtime": {"zero_stage": 3}}),
        ConfigError, r"resources\.layout: colocated needs runtime\.zero_stage < 3"),
    "no generator at all": (lambda t: load_config_dict({"resources": {"num_generators": 0}}),
                            ConfigError, r"resources\.num_generators: 0 leaves nothing to generate with"),
    "unknown reference placement": (lambda t: load_config_dict({"learner": {"reference": "ranks"}}),
                                    ConfigError, r"learner\.reference: Input should be 'learner' or 'actor'"),
    "unknown task": (lambda t: load_config_dict({"data": {"tasks": ["sorting"]}}),
                     ConfigError, r"data\.tasks: .*unknown task 'sorting'"),
    "invalid YAML": (lambda t: load_config(_file(t, "run.yaml", "a: [1, 2\n")), ConfigError, r"not valid YAML"),
    "missing config file": (lambda t: load_config(t / "nope.yaml"), ConfigError, r"nope\.yaml does not exist"),
    "bad override": (lambda t: parse_override("runtime.max_staleness"), ConfigError, r"key\.path=value"),
    "batch not split over ranks": (lambda t: load_config_dict({"runtime": {"train_batch_size": 9},
                                                               "resources": {"num_learners": 2}}),
                                   ConfigError, r"train_batch_size 9 must split evenly over resources\.num_learners 2"),
    "token budget under one sequence": (lambda t: load_config_dict({"runtime": {"max_tokens_per_micro_batch": 100}}),
                                        ConfigError, r"max_tokens_per_micro_batch 100 is smaller than one sequence "
                                                     r"can be \(data\.max_prompt_tokens 256 \+ generation\.max_new_tokens 16"),
    "lengths over the model's context": (_over_context, ConfigError,
                                         r"data\.max_prompt_tokens \+ generation\.max_new_tokens = 1040 exceeds the "
                                         r"model's context of 1024 positions"),
    "LoRA targets that match nothing": (_lora_targets_match_nothing, ConfigError,
                                        r"model\.lora\.target_modules \['qkv', 'fc1'\] match no module of the "
                                        r"model; its linear layers are named \['down_proj', 'gate_proj', 'k_proj'"),
    "missing model dir": (lambda t: load_model_dir(t / "policy"), FileNotFoundError, r"policy does not exist"),
    "pickled weights only": (_pickled_only, FileNotFoundError, r"no \*\.safetensors weights"),
    "tokenizer/model mismatch": (_mismatched_tokenizer, ValueError, r"103 tokens but the model's vocab_size is 20"),
    "empty dataset": (lambda t: read_prompts(_file(t, "p.jsonl", "\n")), DataError, r"p\.jsonl: the file holds no rows"),
    "empty parquet": (lambda t: pq.write_table(pa.table({"prompt": pa.array([], pa.string())}), t / "e.parquet")
                      or read_prompts(t / "e.parquet"), DataError, r"e\.parquet: the dataset is empty"),
    "malformed JSONL row": (lambda t: read_prompts(_file(t, "p.jsonl", '{"prompt": "a"}\n{oops\n')),
                            DataError, r"p\.jsonl:2: malformed JSON"),
    "malformed Parquet": (lambda t: read_prompts(_file(t, "x.parquet", "PAR1junk")),
                          DataError, r"x\.parquet: not a readable Parquet file"),
    "missing column": (lambda t: read_preferences(_file(t, "d.jsonl", json.dumps({"prompt": "p", "chosen": "a"}))),
                       DataError, r"no 'rejected' column; found \['prompt', 'chosen'\]"),
    "bad cell": (lambda t: read_preferences(_file(t, "d.jsonl", json.dumps({"prompt": "p", "chosen": 3, "rejected": "b"}))),
                 DataError, r"row 0: column 'chosen': must be a string or a list of \{role, content\} messages, got 3"),
    "over-long prompt": (lambda t: fit_prompt(list(range(300)), 256, "reject", "prompt p7"),
                         DataError, r"prompt p7: prompt has 300 tokens, over data\.max_prompt_tokens=256"),
    "NaN reward": (lambda t: FunctionReward("alignrl.testing:nan_reward").score(["p"], ["r"], ["s3"]),
                   RewardError, r"alignrl\.testing:nan_reward returned nan for sample s3"),
    "inf reward": (lambda t: FunctionReward("alignrl.testing:inf_reward").score(["p"], ["r"], ["s4"]),
                   RewardError, r"returned inf for sample s4: rewards must be finite"),
    "raising reward": (lambda t: FunctionReward("alignrl.testing:raising_reward").score(["p"], ["r"], ["s5"]),
                       RewardError, r"raised on sample s5: RuntimeError\('the judge crashed'\)"),
    "unknown reward function": (lambda t: load_function("alignrl.tasks:grade"), ValueError, r"cannot be imported"),
    "reward endpoint down": (lambda t: HTTPReward("http://127.0.0.1:9/score", 1).score(["p"], ["r"], ["s6"]),
                             RewardError, r"reward endpoint http://127\.0\.0\.1:9/score is unreachable"),
    "resume from another config": (lambda t: read_controller_state(
        _checkpoint(t, {"algorithm": {"name": "dpo"}}), {"algorithm": {"name": "ipo"}}),
        CheckpointError, r"written by a different config"),
    "resume dir without checkpoint": (lambda t: latest_checkpoint(t), CheckpointError, r"no checkpoint found in"),
    "full disk during checkpoint": (_full_disk, CheckpointError,
                                    r"step 2 could not be written \(\[Errno 28\] No space left on device\); "
                                    r"the last good checkpoint .*step_000001 is intact"),
    "AlpacaEval package absent": (lambda t: alpaca_eval.load_prompts(t), DataError, r"AlpacaEval data not found in"),
    # The user's data, in the formats they have it.
    "prompt dataset without the mapped column": (
        lambda t: read_prompts(_jsonl(t, "a.jsonl", {"instruction": "hi"}), columns={"prompt": "question"}),
        DataError, r"a\.jsonl: no 'question' column; found \['instruction'\]"),
    "message without content": (lambda t: read_prompts(_jsonl(t, "b.jsonl", {"prompt": [{"role": "user"}]})),
                                DataError, r"b\.jsonl: row 0: column 'prompt': message 0 must be \{role: "
                                           r"system\|user\|assistant, content: str\}, got \{'role': 'user'\}"),
    "message with an unknown role": (
        lambda t: read_prompts(_jsonl(t, "c.jsonl", {"prompt": [{"role": "bot", "content": "x"}]})),
        DataError, r"row 0: column 'prompt': message 0 must be .*got \{'role': 'bot'"),
    "conversation without a user turn": (
        lambda t: read_prompts(_jsonl(t, "d.jsonl", {"prompt": [{"role": "system", "content": "be brief"}]})),
        DataError, r"d\.jsonl: row 0: column 'prompt': a conversational prompt must end with a user turn"),
    "JSONL row that is not an object": (lambda t: read_prompts(_file(t, "g.jsonl", "[1, 2]\n")),
                                        DataError, r"g\.jsonl:1: expected a JSON object, got list"),
    "rows whose column types disagree": (
        lambda t: read_prompts(_jsonl(t, "h.jsonl", {"prompt": "a", "answer": 1}, {"prompt": "b", "answer": "x"})),
        DataError, r"h\.jsonl: rows disagree on column types"),
    "reward column that is not a number": (
        lambda t: read_preferences(_jsonl(t, "i.jsonl", {"prompt": "p", "chosen": "a", "rejected": "b",
                                                         "chosen_reward": "high"})),
        DataError, r"i\.jsonl: row 0: column 'chosen_reward' must be a number, got 'high'"),
    "unsupported data format": (lambda t: read_prompts(_file(t, "e.csv", "prompt\nhi\n")),
                                DataError, r"e\.csv: unsupported data format '\.csv'; use \.parquet or \.jsonl"),
    "missing data file": (lambda t: read_prompts(t / "nope.jsonl"), DataError, r"data file .*nope\.jsonl does not exist"),
    "hub dataset with no network": (lambda t: read_prompts("someone/no-such-dataset"), DataError,
                                    r"someone/no-such-dataset: not a local file or dataset dir, and the hub dataset "
                                    r"could not be loaded \(HF_HUB_OFFLINE is set\)"),
    # Models.
    "hub model with no network": (_hub_model_offline, FileNotFoundError,
                                  r"model\.path 'someone/no-such-model' is not a local directory and could not be "
                                  r"loaded from the hub"),
    "tokenizer without a chat template": (_no_chat_template, ConfigError,
                                          r"the tokenizer of .*m has no chat template, and every prompt is rendered "
                                          r"through one"),
    # The rest of the config surface.
    "unknown weight transport": (lambda t: load_config_dict({"runtime": {"weight_sync": "nccl2"}}), ConfigError,
                                 r"runtime\.weight_sync: unknown weight transport 'nccl2'; registered: .*broadcast"
                                 r", object_store"),
    "unknown generation backend": (lambda t: load_config_dict({"generation": {"backend": "sglang"}}), ConfigError,
                                   r"generation\.backend: unknown generation backend 'sglang'; registered: .*hf, vllm"),
    "unknown truncation mode": (lambda t: load_config_dict({"generation": {"truncated": "cut"}}), ConfigError,
                                r"generation\.truncated: Input should be 'auto', 'drop', 'keep' or 'penalize' "
                                r"\(got 'cut'\)"),
    "two response-length caps that disagree": (
        lambda t: load_config_dict({"algorithm": {"name": "grpo", "max_completion_length": 8}}), ConfigError,
        r"algorithm\.max_completion_length: 8 differs from generation\.max_new_tokens 16"),
    "unknown reward kind": (lambda t: load_config_dict({"reward": {"kind": "judge"}}), ConfigError,
                            r"reward\.kind: unknown reward kind 'judge'; registered: .*classifier, function"),
    "reward model kind without a model": (lambda t: load_config_dict({"reward": {"kind": "classifier"}}),
                                          ConfigError, r"reward: reward\.kind=classifier needs reward\.model"),
    "reward endpoint kind without a URL": (lambda t: load_config_dict({"reward": {"kind": "http"}}),
                                           ConfigError, r"reward: reward\.kind=http needs reward\.url"),
    "reward returning the wrong count": (_short_reward, RewardError,
                                         r"reward kind 'drops_one' returned 2 scores for 3 samples \(first s1\): "
                                         r"score\(\) must return one number per sample"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_a_clear_error(case, tmp_path):
    action, error, message = CASES[case]
    with pytest.raises(error, match=message):
        action(tmp_path)


def test_the_suite_is_broad_enough():
    assert len(CASES) >= 40


def test_full_disk_leaves_only_the_good_checkpoint(tmp_path):
    with pytest.raises(CheckpointError):
        _full_disk(tmp_path)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step_000001"]
