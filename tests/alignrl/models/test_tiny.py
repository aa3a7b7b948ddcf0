import pytest
import torch

from alignrl.config import load_config_dict
from alignrl.models.policy import policy_from_config
from alignrl.models.tiny import build_tiny_llama, load_model_dir, make_tiny_model_dir
from alignrl.models.tokenizer import build_char_tokenizer


def test_saved_as_safetensors_and_reloads_identically(tiny_model_dir):
    files = {p.name for p in tiny_model_dir.iterdir()}
    assert "model.safetensors" in files and "tokenizer.json" in files
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in files)
    model, tok = load_model_dir(tiny_model_dir)
    again, _ = load_model_dir(tiny_model_dir)
    ids = torch.tensor([[tok.bos_token_id, 10, 11, 12]])
    assert torch.equal(model(ids).logits, again(ids).logits)
    assert model.config.head_dim >= 32


def test_head_dim_below_32_is_refused(char_tokenizer):
    with pytest.raises(ValueError, match="head_dim"):
        build_tiny_llama(char_tokenizer, hidden_size=64, num_heads=4)


def test_refuses_dirs_without_safetensors(tmp_path, tiny_model_dir):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model_dir(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="safetensors"):
        load_model_dir(tmp_path / "empty")


def test_tokenizer_model_mismatch(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = build_char_tokenizer()
    small = LlamaForCausalLM(LlamaConfig(vocab_size=20, hidden_size=64, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2))
    small.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    with pytest.raises(ValueError, match="do not belong together"):
        load_model_dir(tmp_path / "m")


def test_policy_from_config_builds_or_loads(tiny_model_dir, tmp_path):
    model, tok = policy_from_config(load_config_dict({}).model)
    assert model.config.num_hidden_layers == 4 and len(tok) == model.config.vocab_size
    loaded, _ = policy_from_config(load_config_dict({"model": {"path": str(tiny_model_dir)}}).model)
    assert loaded.config.hidden_size == 64
    with pytest.raises(FileNotFoundError):
        policy_from_config(load_config_dict({"model": {"path": str(tmp_path / "missing" / "dir")}}).model)
    assert make_tiny_model_dir(tmp_path / "made", hidden_size=64, num_heads=2).is_dir()
