"""Contract tests of the extension points: a test-only algorithm (with its own loss and its own extra
role), generation backend and reward function, all registered from this module alone, run through
`run_training` on real actors. The run names this file in `plugins`, so the driver and every actor
import it; nothing outside this module knows these names.

- algorithm `contract_margin`: a reference-free hinge on the pair's log-prob margin, whose rounds
  pass through an extra `critic` role (its actor class is defined here) before scoring;
- generation backend `contract_marked`: HF generation whose texts carry a marker;
- reward function `marked_reward`: refuses any text without that marker, then scores the task.
"""

from __future__ import annotations

import sys
from typing import Literal

import pytest
import ray
import torch
from pydantic import Field

from alignrl.algorithms import AlgorithmParams, AlgorithmSpec, ExtraRole, RoleCall, RoundPlan, register
from alignrl.algorithms.common import LossOutput, pairwise_diagnostics
from alignrl.generation import register_backend
from alignrl.generation.hf import HFBackend
from alignrl.runtime.wiring import register_role

pytestmark = pytest.mark.cpu
MARK = " [contract]"

# Actors defined here travel to the workers by value: this file is not importable there by name.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


class MarginParams(AlgorithmParams):
    name: Literal["contract_margin"] = "contract_margin"
    margin: float = Field(1.0, ge=0, description="hinge margin on logp(chosen) - logp(rejected)")
    samples_per_prompt: int = Field(4, ge=2, description="samples per prompt")


def margin_loss(batch, params: MarginParams) -> LossOutput:
    gap = batch.policy_chosen - batch.policy_rejected
    per_pair = torch.relu(params.margin - gap)
    metrics = pairwise_diagnostics(batch.policy_chosen, batch.policy_rejected, None, None, 1.0, sources=batch.sources)
    metrics["contract/hinge"] = per_pair.detach().mean().item()
    return LossOutput(per_pair.mean(), metrics, per_pair)


@ray.remote
class CriticActor:
    """The extra role: it sees every scored round before the reference and stamps what it saw."""

    def __init__(self):
        self.rounds = 0

    def review(self, samples: list[dict], tag: str) -> list[dict]:
        self.rounds += 1
        return [dict(s, critic=tag) for s in samples]

    def stats(self) -> dict:
        return {"rounds": self.rounds}


def _critic_metrics(samples: list[dict]) -> dict[str, float]:
    return {"contract/critic_seen": sum(s.get("critic") == "seen" for s in samples) / max(1, len(samples))}


class MarkedBackend(HFBackend):
    def generate(self, *args, **kwargs):
        out = super().generate(*args, **kwargs)
        for gen in out:
            gen.text += MARK
        return out


class TensorIdsBackend(HFBackend):
    """Breaks the sample contract the way plug-ins do: token ids left as a tensor."""

    def generate(self, *args, **kwargs):
        out = super().generate(*args, **kwargs)
        for gen in out:
            gen.token_ids = torch.tensor(gen.token_ids)
        return out


def marked_reward(prompt: str, response: str) -> float:
    from alignrl.tasks import verify

    if not response.endswith(MARK):
        raise ValueError(f"response {response!r} did not come from the contract backend")
    return verify(prompt=prompt, response=response[: -len(MARK)])


# Registered once per process: the driver reuses pytest's import of this file, each actor imports it once.
register(AlgorithmSpec(
    "contract_margin", MarginParams, "pairwise", margin_loss, summary="test-only: hinge on the pair margin",
    sources=("online",), uses_reference=lambda params: False,
    rounds=lambda params: RoundPlan(steps=(RoleCall("critic", "review", lambda inputs: ("seen",)),)),
    roles=lambda params: (ExtraRole("critic", lambda cfg, out, policy: ""),),
    round_metrics=_critic_metrics))
register_role("critic", lambda cfg, options, model_dir, threads: CriticActor.options(**options).remote())
register_backend("contract_marked", MarkedBackend)
register_backend("contract_tensor_ids", TensorIdsBackend)


def test_plugins_run_through_the_runtime(ray_cluster, warm_policy, tmp_path):
    from alignrl.metrics import read_metrics
    from alignrl.runtime.train import run_training
    from tests.conftest import e2e_config

    cfg = e2e_config(warm_policy, algorithm={"name": "contract_margin", "margin": 2.0},
                     plugins=[__file__], generation={"backend": "contract_marked"},
                     reward={"function": f"{__name__}:marked_reward"},
                     runtime={"total_steps": 4}, eval={"num_prompts": 16})
    assert cfg.plugins == [__file__]
    result = run_training(cfg, tmp_path)
    rows = read_metrics(tmp_path / "metrics.jsonl")
    steps = [r for r in rows if r.get("loss") is not None]
    assert result.steps == 4 and len(steps) == 4
    # The test-only loss trained (its own metric), on rounds the extra role saw, scored by the test-only
    # reward, which raises on any text that did not come from the test-only backend.
    assert all("contract/hinge" in r for r in steps)
    seen = [r["contract/critic_seen"] for r in steps if "contract/critic_seen" in r]
    assert seen and all(v == 1.0 for v in seen)
    assert 0.0 <= result.reward_before <= 1.0 and 0.0 <= result.reward_after <= 1.0
    final = rows[-1]
    assert final["buffer/lost"] == 0 and final["buffer/duplicated"] == 0
    assert final["buffer/admitted"] == final["buffer/trained"] + final["buffer/evicted"] + final["buffer/dropped"] \
        + final["buffer/pending"]


def test_a_backend_breaking_the_sample_contract_is_named_with_the_field(ray_cluster, warm_policy, tmp_path):
    from alignrl.data.schemas import SampleContractError
    from alignrl.runtime.train import run_training
    from tests.conftest import e2e_config

    cfg = e2e_config(warm_policy, plugins=[__file__], generation={"backend": "contract_tensor_ids"},
                     runtime={"total_steps": 2}, eval={"num_prompts": 16})
    with pytest.raises(SampleContractError, match=r"generator-0: sample 'r\d+-0': field 'response_token_ids' "
                                                  r"must be a list of ints, got Tensor"):
        run_training(cfg, tmp_path)
