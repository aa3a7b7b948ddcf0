"""The typed run config: one block per concern, every field documented, unknown keys rejected."""

from __future__ import annotations

import importlib
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SerializeAsAny, field_validator, model_validator

from alignrl.algorithms import ALGORITHMS, AlgorithmParams, get_algorithm
from alignrl.tasks import TASKS
from alignrl.typed import StrictModel


def algorithm_block(value):
    """The `algorithm` mapping -> the registered algorithm's typed parameters, picked by `name`.

    Looked up at validation time, so algorithms registered by plug-ins are accepted too.
    """
    if isinstance(value, AlgorithmParams):
        return value
    if not isinstance(value, dict) or "name" not in value:
        raise ValueError(f"the algorithm block needs a `name`; registered: {', '.join(ALGORITHMS.names())}")
    try:
        spec = get_algorithm(value["name"])
    except KeyError as err:
        raise ValueError(err.args[0]) from None
    return spec.params.model_validate(value)


AlgorithmConfig = Annotated[SerializeAsAny[AlgorithmParams], BeforeValidator(algorithm_block)]


def registered(module: str, attribute: str) -> AfterValidator:
    """A str field that must name an entry of the registry `module.attribute`.

    The registry is imported at validation time: some pull in transformers, and plug-ins have
    registered theirs by then.
    """
    def check(name: str) -> str:
        registry = getattr(importlib.import_module(module), attribute)
        if name not in registry:
            raise ValueError(f"unknown {registry.what} {name!r}; registered: {', '.join(registry.names())} "
                             f"(plug-ins listed in `plugins` can register more)")
        return name

    return AfterValidator(check)


class TinyModelConfig(StrictModel):
    hidden_size: int = Field(128, ge=32, description="width of the tiny Llama built offline")
    num_layers: int = Field(4, ge=1, description="decoder layers")
    num_heads: int = Field(4, ge=1, description="attention heads; hidden_size / num_heads must be >= 32")
    intermediate_size: int = Field(384, ge=1, description="MLP width")
    max_position_embeddings: int = Field(1024, ge=16, description="longest sequence the model accepts")
    seed: int = Field(0, description="initialisation seed")

    @model_validator(mode="after")
    def _head_dim(self):
        if self.hidden_size % self.num_heads or self.hidden_size // self.num_heads < 32:
            raise ValueError(
                f"hidden_size/num_heads = {self.hidden_size}/{self.num_heads} must divide evenly to a head_dim >= 32"
            )
        return self


class LoRAConfig(StrictModel):
    r: int = Field(16, ge=1, description="adapter rank")
    alpha: float = Field(32.0, gt=0, description="adapter scale numerator: the update is alpha / r * B A")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on each adapter's input")
    target_modules: list[str] = Field(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], min_length=1,
        description="names of the linear layers that get adapters (Llama/Qwen/Mistral naming)")


class ModelConfig(StrictModel):
    path: str | None = Field(None, description="HF model dir or hub id of the policy; null builds the tiny model offline")
    tokenizer: str | None = Field(None, description="tokenizer dir or hub id; null uses `path` (or the char tokenizer)")
    dtype: Literal["float32", "bfloat16"] = Field("float32", description="training and inference dtype")
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig, description="architecture when `path` is null")
    sft_warmup: bool = Field(True, description="when `path` is null, start from the SFT warm-up (cached under OUT/sft)")
    lora: LoRAConfig | None = Field(
        None, description="train LoRA adapters (peft) instead of every weight; null: full fine-tuning")


COLUMN_ROLES = ("prompt", "prompt_id", "chosen", "rejected", "response")


class DataConfig(StrictModel):
    tasks: list[str] = Field(["digit_sort"], min_length=1, description="verifiable task families to draw prompts from")
    task_options: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="per-task constructor options, e.g. {digit_sort: {max_len: 5}}")
    n_train: int = Field(2000, ge=1, description="most training prompts (drawn from the tasks, or the dataset's first)")
    n_heldout: int = Field(128, ge=1, description="most held-out prompts for evaluation (never trained on)")
    heldout_fraction: float = Field(
        0.2, gt=0, lt=1, description="share of prompts held out, by a hash of each prompt's content (tasks or dataset)")
    heldout_every: int | None = Field(
        None, ge=2, description="hold out the prompt dataset's rows 0, N, 2N, ... instead of the hash split (AlpacaEval's "
        "evaluation split, prompt_id % 5 == 0, is 5); null: the hash split at heldout_fraction")
    seed: int = Field(0, description="seed of the task prompt draw")
    prompt_dataset: str | None = Field(
        None, description="prompts to train and evaluate on instead of task prompts: .parquet/.jsonl file, save_to_disk dir or hub id")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="dataset column per role when names differ, e.g. {prompt: instruction}; roles: prompt, prompt_id, chosen, rejected, response")
    dataset_split: str = Field("train", description="split read from a hub dataset or a saved DatasetDict")
    preference_dataset: str | None = Field(
        None, description="offline data: preference pairs (chosen, rejected), or a pool of answers (several `response` "
        "rows per prompt, best vs worst by the run's reward); file, save_to_disk dir or hub id; null ranks the task "
        "oracles' pools")
    max_response_tokens: int | None = Field(
        None, ge=1, description="longest dataset answer, in tokens: longer pairs are left out (pool answers, before "
        "ranking), and counted; null keeps all")
    source: Literal["auto", "online", "offline"] = Field(
        "auto", description="where training data comes from: generators (online), the dataset (offline), or the algorithm's default")
    pool_per_oracle: int = Field(5, ge=1, description="samples per scripted oracle in a task's strong pool (offline data)")
    max_prompt_tokens: int = Field(256, ge=1, description="longest templated prompt, in tokens")
    overlong_prompts: Literal["reject", "truncate"] = Field(
        "reject", description="what to do with a prompt over max_prompt_tokens: stop with an error, or keep its tail")


    @model_validator(mode="after")
    def _row_split_needs_a_dataset(self):
        if self.heldout_every is not None and not self.prompt_dataset:
            raise ValueError("data.heldout_every splits data.prompt_dataset by row, and no prompt_dataset is set "
                             "(task prompts are split by hash at data.heldout_fraction)")
        return self

    @field_validator("columns")
    @classmethod
    def _known_column_roles(cls, columns):
        for role in columns:
            if role not in COLUMN_ROLES:
                raise ValueError(f"unknown column role {role!r}; roles are {', '.join(COLUMN_ROLES)}")
        return columns

    @field_validator("tasks", "task_options")
    @classmethod
    def _known_tasks(cls, names):
        for name in names:
            if name not in TASKS:
                raise ValueError(f"unknown task {name!r}; registered tasks: {', '.join(sorted(TASKS))}")
        return names


ROLES = ("generator", "learner", "reference", "reward", "buffer")  # algorithms may add roles (ReAlign: reviser)


class RolePlacement(StrictModel):
    resources: dict[str, float] = Field(
        default_factory=dict, description="custom Ray resources each replica needs, e.g. {gpu_worker: 1} to pin a node type")
    strategy: Literal["pack", "spread"] = Field("pack", description="replicas of the role on as few nodes as possible, or spread")


class ResourcesConfig(StrictModel):
    layout: Literal["disaggregated", "colocated"] = Field(
        "disaggregated", description="colocated: each learner rank also generates from its live weights (no weight "
        "sync, no generator copy); disaggregated: generation only in generator actors")
    num_generators: int = Field(
        1, ge=0, description="generator actor replicas (colocated: extra ones beside the learner ranks, for overlap)")
    generator_cpus: float = Field(1.0, ge=0, description="CPUs reserved per generator")
    generator_gpus: float = Field(0.0, ge=0, description="GPUs per generator (vLLM on GPU)")
    num_learners: int = Field(2, ge=1, description="DeepSpeed learner ranks")
    learner_cpus: float = Field(1.0, ge=0, description="CPUs reserved per learner rank")
    learner_gpus: float = Field(0.0, ge=0, description="GPUs per learner rank")
    server_cpus: float = Field(0.5, ge=0, description="CPUs for each frozen server (reference, reward, reviser)")
    server_gpus: float = Field(0.0, ge=0, description="GPUs for each frozen server")
    placement: dict[str, RolePlacement] = Field(
        default_factory=dict,
        description="per role (generator, learner, reference, reward, buffer, and an algorithm's own, e.g. reviser): where it runs")

    def where(self, role: str) -> RolePlacement:
        return self.placement.get(role, RolePlacement())


class GenerationConfig(StrictModel):
    backend: Annotated[str, registered("alignrl.generation", "BACKENDS")] = Field(
        "hf", description="registered generation backend: hf (transformers generate, the CPU default) or vllm")
    max_new_tokens: int = Field(16, ge=1, description="cap on sampled response length (the one response-length cap)")
    truncated: Literal["auto", "drop", "keep", "penalize"] = Field(
        "auto", description="responses cut at max_new_tokens (no EOS): drop, keep, or penalize them; auto: the data kind's default")
    truncation_penalty: float = Field(
        1.0, ge=0, description="with truncated: penalize, subtracted from a cut response's reward before pairing or advantages")
    temperature: float = Field(1.0, ge=0, description="sampling temperature (0 = greedy)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling mass")
    top_k: int = Field(0, ge=0, description="top-k sampling (0 = off)")


class RewardConfig(StrictModel):
    kind: Annotated[str, registered("alignrl.rewards", "REWARD_KINDS")] = Field(
        "function", description="registered reward kind: function (a verifier), classifier (an HF RM) or http")
    function: str = Field("alignrl.tasks:verify", description="module:function called as fn(prompt=, response=) -> float")
    model: str | None = Field(None, description="HF sequence-classifier dir when kind is classifier")
    url: str | None = Field(None, description="endpoint when kind is http: POST prompts/responses, get rewards")
    timeout_s: float = Field(30.0, gt=0, description="timeout of one HTTP scoring call")

    @model_validator(mode="after")
    def _required_settings(self):
        from alignrl.rewards import missing_settings  # the kind's registry entry says what it needs

        missing = missing_settings(self.kind, self.model_dump())
        if missing:
            raise ValueError(f"reward.kind={self.kind} needs {' and '.join(f'reward.{m}' for m in missing)}")
        return self


class RuntimeConfig(StrictModel):
    max_staleness: int = Field(
        1, ge=0, description="max policy versions a trained sample may lag: 0 is synchronous, > 0 overlaps generation with training")
    total_steps: int = Field(40, ge=1, description="learner optimizer steps in the run")
    prompts_per_step: int = Field(16, ge=1, description="prompts sampled per generation round")
    train_batch_size: int = Field(16, ge=1, description="examples (pairs, groups' rows or points) per optimizer step")
    micro_batch_size: int = Field(8, ge=1, description="most examples per forward/backward; the rest accumulates")
    max_tokens_per_micro_batch: int | None = Field(
        None, ge=1, description="most token positions per forward (packed: their sum; padded: rows x longest); null: count only examples")
    zero_stage: int = Field(0, ge=0, le=3, description="DeepSpeed ZeRO stage")
    namespace: str = Field("alignrl", description="Ray namespace; actors are named <role>-<i> inside it")
    rpc_timeout_s: float = Field(120.0, gt=0, description="timeout of every actor call (generation, scoring, steps)")
    setup_timeout_s: float = Field(600.0, gt=0, description="timeout of placement, learner setup and checkpoint I/O")
    sync_timeout_s: float = Field(60.0, gt=0, description="timeout of one weight sync to all generators")
    weight_sync: Annotated[str, registered("alignrl.transport", "TRANSPORTS")] = Field(
        "object_store",
        description="registered weight transport: object_store (bucketed Ray objects, anywhere) or broadcast (NCCL/gloo collective)")
    sync_bucket_mb: float = Field(64.0, gt=0, description="size of one weight-sync bucket")
    seed: int = Field(0, description="seed of sampling, shuffling and initialisation")
    fill_patience: float = Field(
        10.0, gt=0, description="rounds a learner step may wait for, as a multiple of the rounds a full batch needs; then the run stops and says why")
    max_actor_restarts: int = Field(
        3, ge=0, description="restarts of a crashed generator, reward, reference or buffer actor; its work is re-issued")



class LearnerConfig(StrictModel):
    gradient_checkpointing: bool = Field(
        False, description="recompute the decoder's activations in the backward: far less memory, about a third more compute")
    autocast: Literal["off", "bfloat16"] = Field(
        "off", description="bf16 autocast of the learner's forward over fp32 weights (CPUs with avx512_bf16, GPUs)")
    packing: bool = Field(
        False, description="padding-free forwards: a micro-batch's sequences in one row, position ids reset per sequence")
    logits_chunk_tokens: int | None = Field(
        1024, ge=1, description="positions per output-head chunk, so [tokens x vocab] logits never exist at once; null: all")
    reference: Literal["learner", "actor"] = Field(
        "learner", description="where reference log-probs come from: each learner rank scores its own share "
        "(base model with LoRA adapters disabled, else a frozen copy; no extra process), or the reference-0 actor")


class OptimConfig(StrictModel):
    lr: float = Field(1e-4, gt=0, description="peak learning rate of the policy")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="share of steps spent warming up the lr")
    schedule: Literal["cosine", "constant"] = Field("cosine", description="lr schedule after warm-up")
    grad_clip: float = Field(1.0, gt=0, description="max global gradient norm")


class SFTConfig(StrictModel):
    steps: int = Field(400, ge=1, description="optimizer steps of the SFT warm-up")
    batch_size: int = Field(64, ge=1, description="sequences per SFT step")
    lr: float = Field(3e-3, gt=0, description="peak SFT learning rate")
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="share of SFT steps warming up")
    target_error_rate: float = Field(0.0, ge=0, le=1, description="error rate of the oracle that writes SFT targets")


class EvalConfig(StrictModel):
    interval: int = Field(10, ge=1, description="learner steps between held-out evaluations")
    num_prompts: int = Field(128, ge=1, description="held-out prompts scored per evaluation")
    max_new_tokens: int = Field(16, ge=1, description="response cap at evaluation")
    greedy: bool = Field(True, description="greedy decoding at evaluation (else the sampling settings)")


class LoggingConfig(StrictModel):
    wandb_mode: Literal["online", "offline", "disabled"] = Field("disabled", description="W&B mode; the key comes only from WANDB_API_KEY")
    project: str = Field("alignrl", description="W&B project")
    run_name: str | None = Field(None, description="W&B run name (default: the config file stem)")
    progress: bool = Field(True, description="show a progress bar with ETA")


class CheckpointConfig(StrictModel):
    interval: int = Field(0, ge=0, description="learner steps between checkpoints (0 = only at the end)")
    keep_last: int = Field(2, ge=1, description="checkpoints kept on disk")


class RunConfig(StrictModel):
    plugins: list[str] = Field(
        default_factory=list,
        description="modules (pkg.mod) or .py files imported in the driver and every actor first; they register algorithms, kinds, backends, transports, rewards")
    model: ModelConfig = Field(default_factory=ModelConfig, description="policy model and tokenizer")
    data: DataConfig = Field(default_factory=DataConfig, description="tasks, prompt splits and datasets")
    algorithm: AlgorithmConfig = Field(default_factory=lambda: ALGORITHMS["iterative_dpo"].params(),
                                       description="algorithm name and its parameters")
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig, description="actor counts and their CPUs/GPUs")
    reward: RewardConfig = Field(default_factory=RewardConfig, description="how samples are scored")
    generation: GenerationConfig = Field(default_factory=GenerationConfig, description="sampling settings")
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig, description="async pipeline, batches and timeouts")
    learner: LearnerConfig = Field(default_factory=LearnerConfig, description="learner memory and speed levers")
    optim: OptimConfig = Field(default_factory=OptimConfig, description="policy optimizer")
    sft: SFTConfig = Field(default_factory=SFTConfig, description="SFT warm-up of the policy")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="held-out evaluation")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="W&B, JSONL metrics and progress")
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig, description="checkpoint cadence")

    @model_validator(mode="after")
    def _fits_the_algorithm(self):
        """What only the algorithm's spec can tell: its data sources, its roles, the runtime's limits."""
        spec = get_algorithm(self.algorithm.name)
        source = self.data.source if self.data.source != "auto" else spec.default_source
        if source not in spec.sources:
            raise ValueError(f"data.source: {spec.name} trains only from {' or '.join(spec.sources)} data "
                             f"(set data.source: {spec.default_source})")
        if spec.length_field:
            value = getattr(self.algorithm, spec.length_field)
            if value is not None and value != self.generation.max_new_tokens:
                raise ValueError(f"algorithm.{spec.length_field}: {value} differs from generation.max_new_tokens "
                                 f"{self.generation.max_new_tokens}; both are the response-length cap, so leave "
                                 f"{spec.length_field} unset (it follows generation.max_new_tokens)")
        longest = self.data.max_prompt_tokens + self.generation.max_new_tokens
        budget = self.runtime.max_tokens_per_micro_batch
        if budget is not None and budget < longest:
            raise ValueError(f"runtime.max_tokens_per_micro_batch {budget} is smaller than one sequence can be "
                             f"(data.max_prompt_tokens {self.data.max_prompt_tokens} + generation.max_new_tokens "
                             f"{self.generation.max_new_tokens} = {longest}); raise it or lower those caps")
        if self.runtime.train_batch_size % self.resources.num_learners:
            raise ValueError(f"runtime.train_batch_size {self.runtime.train_batch_size} must split evenly over "
                             f"resources.num_learners {self.resources.num_learners}")
        if self.model.lora is not None and self.runtime.zero_stage == 3 and self.learner.reference == "learner":
            raise ValueError("learner.reference: learner with model.lora needs runtime.zero_stage < 3 (ZeRO-3 gathers "
                             "the shared base weights in lockstep); set learner.reference: actor or a lower stage")
        problem = spec.check(self.algorithm, source)
        if problem:
            raise ValueError(problem)
        roles = ROLES + tuple(role.name for role in spec.roles(self.algorithm))
        for role in self.resources.placement:
            if role not in roles:
                raise ValueError(f"resources.placement: unknown role {role!r}; this run's roles are {', '.join(roles)}")
        if self.resources.layout == "colocated":
            if self.generation.backend != "hf":
                raise ValueError(f"resources.layout: colocated samples with the learner's own model through "
                                 f"transformers (generation.backend: hf), not {self.generation.backend!r}")
            if self.runtime.zero_stage == 3:
                raise ValueError("resources.layout: colocated needs runtime.zero_stage < 3: each rank samples "
                                 "alone, and ZeRO-3 ranks hold only a shard of the weights")
        elif self.resources.num_generators == 0:
            raise ValueError("resources.num_generators: 0 leaves nothing to generate with; use at least 1, or "
                             "resources.layout: colocated (the learner ranks generate)")
        if "reference" in self.resources.placement and self.learner.reference != "actor":
            raise ValueError("resources.placement.reference places the reference-0 actor, which runs only with "
                             "learner.reference: actor (now the learner ranks score the reference)")
        from alignrl.kinds import KINDS  # the kind registry imports torch models; the schema stays light

        if spec.kind not in KINDS:
            raise ValueError(f"algorithm {spec.name} names data kind {spec.kind!r}, which is not registered")
        return self
