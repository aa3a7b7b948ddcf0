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
    similar = (f"{result.similar_length_accuracy:.3f} (length baseline {result.similar_length_baseline:.3f})"
               if result.similar_length_pairs else "none")
    print(f"reward model: held-out pair accuracy {result.heldout_accuracy:.3f} "
          f"[{result.heldout_low:.3f}, {result.heldout_high:.3f}] (length baseline "
          f"{result.length_baseline_accuracy:.3f}, classifier logit alone {result.content_only_accuracy:.3f}) "
          f"on {result.heldout_pairs} pairs; on the {result.similar_length_pairs} of similar length: {similar}; "
          f"trained on {result.train_pairs} in {result.seconds:.1f}s; saved to {result.model_dir}")
    return 0


def cmd_eval_rm(args) -> int:
    from collections import Counter

    from alignrl.data.alpaca_eval import read_judgment_file
    from alignrl.data.readers import DataError
    from alignrl.models.reward_model import hard_pairs, load_reward_model
    from alignrl.models.rm_eval import evaluate_reward_model

    skipped = Counter()
    pairs = hard_pairs(read_judgment_file(args.pairs, args.prompts, skipped), skipped)
    if not pairs:
        raise DataError(f"{args.pairs}: no pair to score; skipped " +
                        ", ".join(f"{n} {why}" for why, n in skipped.items()))
    model, tokenizer, spec = load_reward_model(args.model_dir)
    report = evaluate_reward_model(model, tokenizer, pairs, spec, skipped, args.batch_size,
                                   progress=not args.json and not args.no_progress)
    print(json.dumps(report.to_dict()) if args.json else "\n".join(report.lines()))
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-rm", help="train a Bradley-Terry reward model (HF sequence classifier) on pairs")
    p.add_argument("config", help="reward-model config (YAML)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", help="output directory (default runs/<config stem>)")
    p.set_defaults(func=cmd_train_rm)
    p = sub.add_parser("eval-rm", help="pair accuracy of a reward model on a judgments-schema Parquet file, with "
                       "its 95%% interval, the length baseline, similar-length pairs and each generator")
    p.add_argument("model_dir", help="reward model dir (safetensors)")
    p.add_argument("pairs", help="Parquet with prompt_id, output_a, output_b, preference")
    p.add_argument("--prompts", help="prompts.parquet with the prompt texts (default: beside PAIRS, else AlpacaEval)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="answers per forward pass (sorted by length)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object (the whole report)")
    p.set_defaults(func=cmd_eval_rm)
