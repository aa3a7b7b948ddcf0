"""Generation backends, registered by name (`generation.backend`): `hf` and `vllm`.

vLLM is an optional extra, so its module is imported only when a `vllm` backend is built.
"""

from alignrl.generation import hf  # noqa: F401  (registers `hf`)
from alignrl.generation.base import BACKENDS, GenerationBackend, make_backend, register_backend


def _vllm(model_dir: str, dtype: str, seed: int):
    from alignrl.generation.vllm import VLLMBackend

    return VLLMBackend(model_dir, dtype, seed)


if "vllm" not in BACKENDS:
    register_backend("vllm", _vllm)

__all__ = ["BACKENDS", "GenerationBackend", "make_backend", "register_backend"]
