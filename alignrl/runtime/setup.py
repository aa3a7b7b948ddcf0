"""Run setup and saving: the initial policy directory, and checkpoint writing."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer

from alignrl.buffer import write_state
from alignrl.config.loader import ConfigError, sections_fingerprint
from alignrl.config.schema import RunConfig
from alignrl.models.policy import policy_from_config
from alignrl.models.sft import run_sft
from alignrl.models.tiny import save_model_dir
from alignrl.runtime.calls import call
from alignrl.runtime.checkpoint import atomic_checkpoint, config_fingerprint, step_dir, write_json
from alignrl.runtime.controller import Controller, Handles
from alignrl.runtime.stopping import guarded


def initial_policy(cfg: RunConfig, out: Path):
    """The policy every actor starts from, as a local safetensors dir; the SFT warm-up is cached."""
    if cfg.model.path is not None and Path(cfg.model.path).is_dir() and cfg.model.tokenizer is None:
        policy_dir = Path(cfg.model.path)
    elif cfg.model.path is None and cfg.model.sft_warmup:
        sft_dir = out / "sft"
        policy_dir = sft_dir / "policy"
        stamp = sft_dir / "fingerprint"
        key = sections_fingerprint(cfg, ("model", "data", "sft"))
        if not (policy_dir.is_dir() and stamp.is_file() and stamp.read_text() == key):
            result = run_sft(cfg, sft_dir)
            print(f"SFT warm-up: held-out reward {result.reward_before:.3f} -> {result.reward_after:.3f} "
                  f"in {result.seconds:.1f}s")
            stamp.write_text(key)
    else:  # the tiny model, a hub id, or a model dir with another tokenizer (model.tokenizer): saved together
        policy_dir = out / "init" / "policy"
        model, tokenizer = policy_from_config(cfg.model)
        save_model_dir(model, tokenizer, policy_dir)
    tokenizer = AutoTokenizer.from_pretrained(policy_dir)
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(f"the tokenizer of {cfg.model.tokenizer or cfg.model.path or policy_dir} has no chat "
                          f"template, and every prompt is rendered through one: use a chat/instruct model, point "
                          f"model.tokenizer at a tokenizer that has one, or add chat_template to its "
                          f"tokenizer_config.json")
    return policy_dir, tokenizer


def check_model_fit(cfg: RunConfig, policy_dir: Path) -> None:
    """What the config asks of the model, checked before any actor loads it: the lengths fit its positions,
    and LoRA's target modules exist (on an empty meta-device copy, so nothing is loaded)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    model_config = AutoConfig.from_pretrained(policy_dir)
    if cfg.model.lora is not None:
        from alignrl.learners.lora import target_problem

        with torch.device("meta"):
            skeleton = AutoModelForCausalLM.from_config(model_config)
        problem = target_problem(skeleton, cfg.model.lora.target_modules)
        if problem:
            raise ConfigError(problem)
    limit = getattr(model_config, "max_position_embeddings", None)
    cap, name = max((cfg.generation.max_new_tokens, "generation.max_new_tokens"),
                    (cfg.eval.max_new_tokens, "eval.max_new_tokens"))
    longest = cfg.data.max_prompt_tokens + cap
    if limit and longest > limit:
        raise ConfigError(f"data.max_prompt_tokens + {name} = {longest} exceeds the model's context of {limit} "
                          f"positions ({policy_dir}); lower them")


@guarded  # a stop waits for the checkpoint to be whole
def save_checkpoint(cfg: RunConfig, cfg_json: dict, out: Path, controller: Controller, handles: Handles) -> Path:
    """Write everything to a staging dir, then rename it into place (atomic on one filesystem)."""
    version, timeout = controller.state.version, cfg.runtime.rpc_timeout_s
    with atomic_checkpoint(out, version, cfg.checkpoint.keep_last) as staging:
        handles.learners.save(str(staging), "state")
        if controller.state.ref_version > 0 and handles.reference is not None:  # else the learner saved it
            call(handles.reference.save.remote(str(staging / "reference")), timeout, "reference-0 save")
        write_state(staging, controller.buffer("state"))
        write_json(staging / "controller.json", {"fingerprint": config_fingerprint(cfg_json),
                                                 "state": controller.state.to_json()})
    return step_dir(out, version)
