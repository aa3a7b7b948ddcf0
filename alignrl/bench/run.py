"""`alignrl bench`: offline vs online DPO and sync vs async, measured side by side in one process,
then the bare DeepSpeed floor (bench_floor), TRL on the same setup (bench_trl) and weight sync
against model size (bench_sync).

Every run is a real `run_training` (same model, task, batch and loss) on one shared Ray
session; figures come from each run's metrics.jsonl, skipping the first step (start-up).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import yaml

from alignrl.config import load_config_dict
from alignrl.bench.config import BenchConfig
from alignrl.config.loader import load_config, merge_sections, read_config_mapping
from alignrl.metrics import MetricsSink, read_metrics
from alignrl.offline import offline_sections
from alignrl.bench.floor import run_floor
from alignrl.bench.report import write_plots, write_table
from alignrl.bench.sync import measure_weight_sync
from alignrl.bench.trl import compare, require_trl
from alignrl.runtime.session import RaySession
from alignrl.runtime.setup import initial_policy
from alignrl.runtime.train import run_training

# Measured runs keep W&B and progress bars off (W&B's writer process would share the cores with the run);
# the bench logs its own figures to W&B once, in the base config's mode.
MEASURED_LOGGING = {"wandb_mode": "disabled", "progress": False}


def _mean(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.fmean(values) if values else math.nan


def run_figures(out: Path, train_batch: int, result) -> dict:
    """Throughput, busy fractions and the reward-vs-wall-clock curve of one finished run."""
    rows = read_metrics(out / "metrics.jsonl")
    steps = [r for r in rows if r.get("loss") is not None]
    measured = steps[1:]  # step 1 carries start-up (first generation, engine warm-up)
    step_s = _mean(measured, "perf/step_seconds")
    learner_busy = 1.0 - _mean(measured, "perf/learner_idle_fraction")
    generator_busy = 1.0 - _mean(measured, "perf/generator_idle_fraction")
    elapsed, by_step = 0.0, {}
    for r in steps:
        elapsed += r["perf/step_seconds"]
        by_step[r["step"]] = elapsed
    curve = [[by_step.get(step, 0.0), reward] for step, reward in
             [(r["step"], r["eval/reward_mean"]) for r in rows if r.get("eval/reward_mean") is not None]]
    loop_s = sum(r["perf/step_seconds"] for r in measured)
    return {
        "steps": len(steps),
        "step_seconds": step_s,
        "samples_per_s": train_batch / step_s,
        "tokens_per_s": _mean(measured, "perf/gen_tokens_per_s"),
        "weight_sync_seconds": _mean(measured, "perf/weight_sync_seconds"),
        "peak_rss_gb": max((r.get("learner/peak_rss_gb") or 0.0 for r in steps), default=0.0),
        "learner_busy": learner_busy,
        "generator_busy": generator_busy,
        # max(gen, train) / step time: 1.0 means the longer of the two stages fills every step.
        "overlap_efficiency": max(learner_busy, generator_busy),
        "reward_before": result.reward_before,
        "reward_after": result.reward_after,
        "reward_gain_per_s": (result.reward_after - result.reward_before) / max(loop_s, 1e-9),
        "curve": curve,
    }


def _run_config(base: dict, bench: BenchConfig, name: str, source: str, staleness: int):
    sections = {
        "algorithm": {"name": "dpo", "beta": bench.dpo_beta, "samples_per_prompt": bench.samples_per_prompt},
        "data": {"source": source},
        "runtime": {"total_steps": bench.steps, "max_staleness": staleness},
        "eval": {"interval": bench.eval_interval, "num_prompts": bench.eval_prompts},
        "checkpoint": {"interval": 0, "keep_last": 1},
        "logging": MEASURED_LOGGING | {"run_name": name},
    }
    return load_config_dict(merge_sections(base, sections), f"bench run {name}")


def run_bench(config_path: str | Path, out_dir: str | Path, overrides: list[str] | None = None) -> dict:
    config_path = Path(config_path)
    bench = load_config(config_path, overrides, model=BenchConfig)
    base = merge_sections(read_config_mapping(config_path.parent / bench.base), bench.base_overrides)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = [("offline", "offline", 1)] + [(f"online_s{s}", "online", s) for s in bench.staleness]
    if 1 not in bench.staleness:
        plan.append(("online_s1", "online", 1))
    if bench.trl:
        require_trl()  # before minutes of runs, not after
    runs: dict[str, dict] = {}
    configs, extra = {}, {}
    # ALIGNRL_OFFLINE=1: hub ids -> offline builds once, so every run (and TRL) reads the same files.
    base = merge_sections(base, offline_sections(load_config_dict(base, "bench base")))
    first = _run_config(base, bench, *plan[0])
    policy_dir, _ = initial_policy(first, out)  # one starting policy (and SFT warm-up) for every run
    base = merge_sections(base, {"model": {"path": str(policy_dir)}})
    with RaySession(first):  # one Ray for every run: start-up is paid once and never measured
        for name, source, staleness in plan:
            cfg = configs[name] = _run_config(base, bench, name, source, staleness)
            result = run_training(cfg, out / "runs" / name)
            runs[name] = {"source": source, "max_staleness": staleness, "layout": cfg.resources.layout,
                          **run_figures(out / "runs" / name, cfg.runtime.train_batch_size, result)}
        if bench.trl:  # alternating repeats, alignrl first, in the same session
            extra["trl"] = {kind: compare(base, str(policy_dir), kind, bench, out / "trl")
                            for kind in ("grpo", "online_dpo")}
        if bench.sync_hidden_sizes:
            extra["weight_sync"] = measure_weight_sync(base, bench.sync_hidden_sizes, bench.sync_repeats,
                                                       out / "sync_models")
    ratios = {"online_over_offline_samples_ratio": runs["online_s1"]["samples_per_s"] / runs["offline"]["samples_per_s"]}
    if "online_s0" in runs:
        sync = runs["online_s0"]["step_seconds"]
        for s in bench.staleness:
            if s > 0:
                ratios[f"async_s{s}_over_sync_steps_ratio"] = sync / runs[f"online_s{s}"]["step_seconds"]
    if bench.floor:
        # The same learner work with no runtime around it: what the offline run would cost bare.
        floor = extra["floor"] = run_floor(configs["offline"], str(policy_dir), bench.steps)
        ratios["runtime_overhead_ratio"] = runs["offline"]["step_seconds"] / floor["step_seconds"] - 1.0
    for kind, result in extra.get("trl", {}).items():
        ratios[f"alignrl_over_trl_{kind}_ratio"] = result["ratio"]
    report = {"config": bench.model_dump(mode="json"), **extra, "base": yaml.safe_dump(base)[:4000], "runs": runs, **ratios}
    (out / "bench.json").write_text(json.dumps(report, indent=2))
    write_table(out / "bench.md", runs, ratios, extra)
    write_plots(out, runs, extra)
    base_cfg = load_config_dict(base, str(config_path.parent / bench.base))
    with MetricsSink(out, base_cfg.logging.wandb_mode, base_cfg.logging.project, "bench", report["config"]) as sink:
        figures = {f"{name}/{k}": v for name, run in runs.items() for k, v in run.items() if isinstance(v, (int, float))}
        figures.update({f"trl/{kind}/{k}": v for kind, r in extra.get("trl", {}).items() for k, v in r.items()
                        if isinstance(v, (int, float))})
        figures.update({f"weight_sync/hidden{row['hidden_size']}/{k}": v for row in extra.get("weight_sync", [])
                        for k, v in row.items() if isinstance(v, (int, float))})
        figures.update({f"floor/{k}": v for k, v in extra.get("floor", {}).items() if isinstance(v, (int, float))})
        sink.log(0, {**ratios, **figures})
    return report
