"""Reward kinds, registered by name (`reward.kind`): a `module:function` verifier, an HF sequence
classifier, or an HTTP endpoint. Plug-ins register more with `register_reward_kind`.

Every reward is checked: NaN, inf, a non-number or an exception is an error that names the
sample and the backend, never a silent zero.
"""

from __future__ import annotations

import importlib
import json
import math
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from alignrl.registry import Registry


class RewardError(RuntimeError):
    """A reward could not be computed or is not a finite number."""


def load_function(spec: str) -> Callable[..., float]:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"reward function {spec!r} must look like package.module:function")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"reward function {spec!r} cannot be imported: {err}") from None
    if not callable(fn):
        raise ValueError(f"reward function {spec!r} is not callable")
    return fn


def check_reward(value, sample_id: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RewardError(f"{source} returned {value!r} for sample {sample_id}: not a number")
    if not math.isfinite(value):
        raise RewardError(f"{source} returned {value} for sample {sample_id}: rewards must be finite")
    return float(value)


class FunctionReward:
    def __init__(self, spec: str):
        self.spec, self.fn = spec, load_function(spec)

    def score(self, prompts: list[str], responses: list[str], sample_ids: list[str]) -> list[float]:
        out = []
        for prompt, response, sid in zip(prompts, responses, sample_ids):
            try:
                value = self.fn(prompt=prompt, response=response)
            except Exception as err:  # noqa: BLE001 - the user's function may raise anything
                raise RewardError(f"reward function {self.spec} raised on sample {sid}: {err!r}") from err
            out.append(check_reward(value, sid, f"reward function {self.spec}"))
        return out


class ClassifierReward:
    """A reward model from `alignrl train-rm` (or any HF sequence classifier) scoring (prompt, response).

    It reads its inputs and adds its length term as `alignrl_rm.json` says it was trained.
    """

    def __init__(self, model_dir: str, max_length: int = 512):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from alignrl.models.rm_inputs import RMSpec, prepare_padding

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir, use_safetensors=True).eval()
        meta = Path(model_dir) / "alignrl_rm.json"
        self.spec = RMSpec.from_meta(json.loads(meta.read_text()) if meta.is_file() else {}, max_length)
        prepare_padding(self.model, self.tokenizer)
        self.name = model_dir

    def score(self, prompts, responses, sample_ids) -> list[float]:
        from alignrl.models.rm_inputs import encode_inputs, padded

        with self.torch.no_grad():
            encoded = encode_inputs(self.tokenizer, list(prompts), list(responses), self.spec.max_length,
                                    self.spec.input_format)
            logits = self.model(**padded(self.tokenizer, encoded)).logits[:, 0].float().tolist()
        rewards = [v + self.spec.length(r) for v, r in zip(logits, responses)]
        return [check_reward(v, sid, f"reward model {self.name}") for v, sid in zip(rewards, sample_ids)]


class HTTPReward:
    """POST {"prompts": [...], "responses": [...]} and expect {"rewards": [...]}, within a timeout."""

    def __init__(self, url: str, timeout_s: float):
        self.url, self.timeout_s = url, timeout_s

    def score(self, prompts, responses, sample_ids) -> list[float]:
        body = json.dumps({"prompts": list(prompts), "responses": list(responses)}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read())
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise RewardError(f"reward endpoint {self.url} is unreachable or timed out ({err})") from None
        except json.JSONDecodeError as err:
            raise RewardError(f"reward endpoint {self.url} returned invalid JSON ({err})") from None
        rewards = payload.get("rewards") if isinstance(payload, dict) else None
        if not isinstance(rewards, list) or len(rewards) != len(sample_ids):
            raise RewardError(f"reward endpoint {self.url} must return {{'rewards': [{len(sample_ids)} numbers]}}")
        return [check_reward(v, sid, f"reward endpoint {self.url}") for v, sid in zip(rewards, sample_ids)]


class CheckedReward:
    """Any backend's scores, checked: exactly one finite number per sample (a plug-in may return anything)."""

    def __init__(self, backend, kind: str):
        self.backend, self.kind = backend, kind

    def score(self, prompts, responses, sample_ids) -> list[float]:
        scores = self.backend.score(prompts, responses, sample_ids)
        scores = scores.tolist() if hasattr(scores, "tolist") else scores  # a tensor or an array
        count = len(scores) if isinstance(scores, (list, tuple)) else None
        if count != len(sample_ids):
            got = f"{count} scores" if count is not None else f"a {type(scores).__name__}"
            raise RewardError(f"reward kind {self.kind!r} returned {got} for {len(sample_ids)} samples "
                              f"(first {sample_ids[0] if sample_ids else '-'}): score() must return one number "
                              f"per sample, in order")
        return [check_reward(v, sid, f"reward kind {self.kind!r}") for v, sid in zip(scores, sample_ids)]


def _function(settings: dict) -> FunctionReward:
    return FunctionReward(settings.get("function") or "alignrl.tasks:verify")


def _classifier(settings: dict) -> ClassifierReward:
    if not settings.get("model"):
        raise ValueError("reward.kind=classifier needs reward.model")
    return ClassifierReward(settings["model"])


def _http(settings: dict) -> HTTPReward:
    if not settings.get("url"):
        raise ValueError("reward.kind=http needs reward.url")
    return HTTPReward(settings["url"], settings.get("timeout_s", 30.0))


# factory(settings: the `reward` config block as a dict) -> a backend with score(prompts, responses, sample_ids)
REWARD_KINDS: Registry[Callable[[dict], object]] = Registry("reward kind",
                                                            "register one with alignrl.rewards.register_reward_kind")


def register_reward_kind(name: str, factory: Callable[[dict], object],
                         requires: tuple[str, ...] = ()) -> Callable[[dict], object]:
    """`requires`: the `reward` fields this kind cannot do without, checked when the config loads."""
    factory.requires = tuple(requires)
    return REWARD_KINDS.register(name, factory)


def missing_settings(kind: str, settings: dict) -> list[str]:
    """The required `reward` fields a config leaves empty for its kind."""
    return [name for name in getattr(REWARD_KINDS.get(kind), "requires", ()) if not settings.get(name)]


for _name, _factory, _requires in (("function", _function, ()), ("classifier", _classifier, ("model",)),
                                   ("http", _http, ("url",))):
    register_reward_kind(_name, _factory, _requires)


def make_reward(kind: str, function: str | None = None, model: str | None = None, url: str | None = None,
                timeout_s: float = 30.0):
    settings = {"kind": kind, "function": function, "model": model, "url": url, "timeout_s": timeout_s}
    try:
        factory = REWARD_KINDS.get(kind)
    except KeyError as err:
        raise ValueError(err.args[0]) from None
    return CheckedReward(factory(settings), kind)
