import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

# Tests never reach a hub, and stay within this box's two cores.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def char_tokenizer():
    from alignrl.models.tokenizer import build_char_tokenizer

    return build_char_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, char_tokenizer):
    """A small, untrained tiny Llama saved as an HF directory, shared by the session."""
    from alignrl.models.tiny import build_tiny_llama, save_model_dir

    model = build_tiny_llama(char_tokenizer, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128)
    return save_model_dir(model, char_tokenizer, tmp_path_factory.mktemp("tiny") / "model")
