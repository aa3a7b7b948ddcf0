"""The algorithm seam: every algorithm is one registered `AlgorithmSpec` that says what the runtime needs.

The spec names the algorithm's typed parameters, its data kind and loss, and answers the
runtime's questions for given parameters: which data sources it trains from, whether its loss
reads reference log-probs, how many samples a round draws per prompt, which extra steps a round
takes (an extra role's call, a per-prompt route to the dataset), which hooks run after learner
steps, and what extra values the learner's forward computes. The runtime reads these answers and
never tests an algorithm's name. This module is pure: no Ray, no actors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alignrl.registry import Registry
from alignrl.typed import StrictModel

SOURCES = ("online", "offline")


class AlgorithmParams(StrictModel):
    """Base of every algorithm's parameter block; `name` selects the algorithm."""

    name: str


@dataclass(frozen=True)
class RoundShape:
    """How many samples a round draws per prompt, and how many samples make one example block."""

    per_prompt: int = 1
    block: int = 1  # > 1: examples are fixed blocks of this many samples (VAR's micro-batches)


@dataclass(frozen=True)
class RoundInputs:
    """What an algorithm's round steps may read. The runtime makes every actor call itself."""

    prompts: list[dict]  # the round's prompts (prompt_id, prompt, prompt_token_ids)
    dataset: dict[str, Any]  # prompt_id -> that prompt's preference-dataset pair, when the run loaded one
    sampling: dict  # max_new_tokens, temperature, top_p, top_k
    seed: int  # the round's sampling seed
    round_id: int
    version: int  # the learner version the round's samples are meant for
    params: AlgorithmParams
    run_seed: int  # runtime.seed, for the algorithm's own seeded choices
    # (dataset pair, tag) -> the samples that pair contributes, in the algorithm's data kind
    dataset_samples: Callable[[Any, str], list[dict]] = lambda pair, tag: []


@dataclass(frozen=True)
class RoleCall:
    """A round step: `method` of an extra role's actor gets the round's scored samples and `args(inputs)`;
    what it returns is scored (samples with no reward yet) and continues down the round."""

    role: str
    method: str
    args: Callable[[RoundInputs], tuple] = lambda inputs: ()


@dataclass(frozen=True)
class RoundPlan:
    """What an online round does beyond generate -> score -> (reference) -> build."""

    # (prompts to generate, dataset samples that join them): e.g. SimpleMix's per-prompt coin.
    route: Callable[[RoundInputs], tuple[list[dict], list[dict]]] | None = None
    steps: tuple[RoleCall, ...] = ()  # after scoring the generations, before the reference
    reads_dataset: bool = False  # the run must load the preference dataset (routes, strong pools, a probe)


@dataclass(frozen=True)
class ExtraRole:
    """A frozen server role the algorithm adds (ReAlign's reviser), placed like the reference."""

    name: str
    # (cfg, out_dir, policy_dir) -> the model dir the role serves, built (and cached) before the run.
    prepare: Callable[[Any, Any, Any], str]


@dataclass(frozen=True)
class StepHook:
    """A runtime hook to run every `every` learner steps (and before the first step with `at_start`).

    `name` picks the hook from the runtime's hook registry (reset_reference, boundary_probe);
    `options` is handed to it as is.
    """

    name: str
    every: int
    at_start: bool = False
    at_end: bool = True  # also after the run's last step
    options: Any = None


def _always(params) -> bool:
    return True


def _samples_per_prompt(params) -> RoundShape:
    return RoundShape(per_prompt=params.samples_per_prompt)


def _nothing(params) -> tuple:
    return ()


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    params: type[AlgorithmParams]
    kind: str  # a registered data kind (alignrl.kinds)
    loss: Callable  # (batch, params) -> LossOutput
    summary: str
    sources: tuple[str, ...] = ("offline", "online")  # data sources it trains from; the first is its default
    uses_reference: Callable[[Any], bool] = _always  # whether the loss reads reference log-probs
    shape: Callable[[Any], RoundShape] = _samples_per_prompt
    rounds: Callable[[Any], RoundPlan] = field(default=lambda params: RoundPlan())
    roles: Callable[[Any], tuple[ExtraRole, ...]] = _nothing
    hooks: Callable[[Any], tuple[StepHook, ...]] = _nothing
    # (learning.forward.TokenForward) -> {name: per-sequence tensor}, detached, for the loss
    forward_extras: Callable | None = None
    # What the loss averages over: examples, sequences or (response) tokens. The learner weights each
    # micro-batch by its share of these across the whole train batch, on every rank, so a token-mean
    # loss is the global token mean however the batch is split.
    loss_units: Callable[[Any], str] = field(default=lambda params: "examples")
    # A parameter that is the response-length cap again (GRPO's L_max): null takes generation.max_new_tokens,
    # any other value must equal it, so the cap has one source of truth.
    length_field: str | None = None
    round_metrics: Callable[[list[dict]], dict[str, float]] = field(default=lambda samples: {})  # per scored round
    # (params, data source) -> an error message when the runtime cannot run these parameters
    check: Callable[[Any, str], str | None] = field(default=lambda params, source: None)

    @property
    def default_source(self) -> str:
        return self.sources[0]


ALGORITHMS: Registry[AlgorithmSpec] = Registry("algorithm", "register one with alignrl.algorithms.register")


def register(spec: AlgorithmSpec) -> AlgorithmSpec:
    if spec.params.model_fields["name"].default != spec.name:
        raise ValueError(f"{spec.params.__name__}.name must default to {spec.name!r}")
    unknown = [s for s in spec.sources if s not in SOURCES]
    if not spec.sources or unknown:
        raise ValueError(f"algorithm {spec.name!r}: sources must be a non-empty subset of {SOURCES}, got {spec.sources}")
    return ALGORITHMS.register(spec.name, spec)


def get_algorithm(name: str) -> AlgorithmSpec:
    return ALGORITHMS.get(name)
