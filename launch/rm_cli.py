"""`alignrl train-rm` and `alignrl eval-rm`: Bradley-Terry reward models on preference pairs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from alignrl.config import load_config


def cmd_train_rm(args) -> int:
    from alignrl.config.reward_model import RewardModelConfig
    from alignrl.models.reward_model import train_reward_model

    cfg = load_config(args.config, args.overrides, model=RewardModelConfig)
    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    result = train_reward_model(cfg, out)
    print(f"reward model: held-out pair accuracy {result.heldout_accuracy:.3f} "
          f"(length baseline {result.length_baseline_accuracy:.3f}, classifier logit alone "
          f"{result.content_only_accuracy:.3f}) on {result.heldout_pairs} pairs, "
          f"trained on {result.train_pairs} in {result.seconds:.1f}s; saved to {result.model_dir}")
    return 0


def cmd_eval_rm(args) -> int:
    from alignrl.data.alpaca_eval import read_judgment_file
    from alignrl.models.reward_model import hard_pairs, length_baseline, load_reward_model, pair_accuracy

    pairs = hard_pairs(read_judgment_file(args.pairs, args.prompts))
    model, tokenizer, max_length, length_weight = load_reward_model(args.model_dir)
    report = {"pairs": len(pairs), "accuracy": pair_accuracy(model, tokenizer, pairs, max_length, length_weight),
              "length_baseline_accuracy": length_baseline(pairs)}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"pair accuracy {report['accuracy']:.3f} on {report['pairs']} pairs "
              f"(length baseline {report['length_baseline_accuracy']:.3f}; soft ties skipped)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-rm", help="train a Bradley-Terry reward model (HF sequence classifier) on pairs")
    p.add_argument("config", help="reward-model config (YAML)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", help="output directory (default runs/<config stem>)")
    p.set_defaults(func=cmd_train_rm)
    p = sub.add_parser("eval-rm", help="pair accuracy of a reward model on a judgments-schema Parquet file")
    p.add_argument("model_dir", help="reward model dir (safetensors)")
    p.add_argument("pairs", help="Parquet with prompt_id, output_a, output_b, preference")
    p.add_argument("--prompts", help="prompts.parquet with the prompt texts (default: beside PAIRS, else AlpacaEval)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_eval_rm)
