"""The run's initial policy dir: which model and which tokenizer every actor starts from."""

from alignrl.config import load_config_dict
from alignrl.models.tiny import make_tiny_model_dir
from alignrl.runtime.setup import initial_policy

ARCH = dict(hidden_size=64, num_layers=1, num_heads=2, intermediate_size=64)


def test_a_local_model_dir_is_used_as_is(tmp_path):
    model_dir = make_tiny_model_dir(tmp_path / "m", **ARCH)
    policy_dir, _ = initial_policy(load_config_dict({"model": {"path": str(model_dir)}}), tmp_path / "run")
    assert policy_dir == model_dir


def test_model_tokenizer_replaces_the_model_dirs_own(tmp_path):
    from transformers import AutoTokenizer

    model_dir = make_tiny_model_dir(tmp_path / "m", **ARCH)
    other = tmp_path / "tok"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.chat_template = "{% for m in messages %}<<{{ m['content'] }}>>{% endfor %}"
    tokenizer.save_pretrained(other)
    cfg = load_config_dict({"model": {"path": str(model_dir), "tokenizer": str(other)}})
    policy_dir, loaded = initial_policy(cfg, tmp_path / "run")
    assert policy_dir != model_dir  # the actors load this dir, so it must carry the chosen tokenizer
    assert loaded.chat_template == tokenizer.chat_template
    assert AutoTokenizer.from_pretrained(policy_dir).chat_template == tokenizer.chat_template
