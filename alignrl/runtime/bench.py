"""`alignrl bench`: offline vs online DPO and sync vs async, measured side by side in one process.

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
from alignrl.config.bench import BenchConfig
from alignrl.config.loader import load_config, merge_sections, read_config_mapping
from alignrl.metrics import MetricsSink, read_metrics
from alignrl.runtime.bench_report import write_plots, write_table
from alignrl.runtime.session import RaySession
from alignrl.runtime.setup import initial_policy
from alignrl.runtime.train import run_training


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
        "runtime": {"total_steps": bench.steps, "max_staleness": staleness, "async": staleness > 0},
        "eval": {"interval": bench.eval_interval, "num_prompts": bench.eval_prompts},
        "checkpoint": {"interval": 0, "keep_last": 1},
        "logging": {"run_name": name, "progress": False},
    }
    return load_config_dict(merge_sections(base, sections), f"bench run {name}")


def run_bench(config_path: str | Path, out_dir: str | Path, overrides: list[str] | None = None) -> dict:
    config_path = Path(config_path)
    bench = load_config(config_path, overrides, model=BenchConfig)
    base = read_config_mapping(config_path.parent / bench.base)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = [("offline", "offline", 1)] + [(f"online_s{s}", "online", s) for s in bench.staleness]
    if 1 not in bench.staleness:
        plan.append(("online_s1", "online", 1))
    runs: dict[str, dict] = {}
    first = _run_config(base, bench, plan[0][0], plan[0][1], plan[0][2])
    policy_dir, _ = initial_policy(first, out)  # one starting policy (and SFT warm-up) for every run
    base = merge_sections(base, {"model": {"path": str(policy_dir)}})
    with RaySession(first):  # one Ray for every run: start-up is paid once and never measured
        for name, source, staleness in plan:
            cfg = _run_config(base, bench, name, source, staleness)
            result = run_training(cfg, out / "runs" / name)
            runs[name] = {"source": source, "max_staleness": staleness,
                          **run_figures(out / "runs" / name, cfg.runtime.train_batch_size, result)}
    ratios = {"online_over_offline_samples_ratio": runs["online_s1"]["samples_per_s"] / runs["offline"]["samples_per_s"]}
    if "online_s0" in runs:
        sync = runs["online_s0"]["step_seconds"]
        for s in bench.staleness:
            if s > 0:
                ratios[f"async_s{s}_over_sync_steps_ratio"] = sync / runs[f"online_s{s}"]["step_seconds"]
    report = {"config": bench.model_dump(mode="json"), "base": yaml.safe_dump(base)[:4000], "runs": runs, **ratios}
    (out / "bench.json").write_text(json.dumps(report, indent=2))
    write_table(out / "bench.md", runs, ratios)
    write_plots(out, runs)
    base_cfg = load_config_dict(base, str(config_path.parent / bench.base))
    with MetricsSink(out, base_cfg.logging.wandb_mode, base_cfg.logging.project, "bench", report["config"]) as sink:
        sink.log(0, {**ratios, **{f"{name}/{k}": v for name, run in runs.items() for k, v in run.items()
                                  if isinstance(v, (int, float))}})
    return report
