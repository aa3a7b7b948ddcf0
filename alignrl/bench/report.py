"""The bench's outputs beside bench.json: a Markdown table and two PNG plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLUMNS = [("samples_per_s", "samples/s", "{:.1f}"), ("tokens_per_s", "response tokens/s", "{:.0f}"),
           ("step_seconds", "s/step", "{:.3f}"), ("learner_busy", "learner busy", "{:.2f}"),
           ("generator_busy", "generator busy", "{:.2f}"), ("overlap_efficiency", "overlap eff.", "{:.2f}"),
           ("reward_before", "reward before", "{:.3f}"), ("reward_after", "reward after", "{:.3f}"),
           ("reward_gain_per_s", "gain / s", "{:.4f}"), ("weight_sync_seconds", "sync s/step", "{:.2f}"),
           ("peak_rss_gb", "learner peak RSS GB", "{:.1f}")]


def write_table(path: Path, runs: dict[str, dict], ratios: dict[str, float], extra: dict) -> None:
    lines = ["| run | source | max_staleness | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 3) + "|"]
    for name, run in runs.items():
        cells = [fmt.format(run[key]) for key, _, fmt in COLUMNS]
        lines.append(f"| {name} | {run['source']} | {run['max_staleness']} | " + " | ".join(cells) + " |")
    if "floor" in extra:
        floor = extra["floor"]
        lines += ["", ("Bare DeepSpeed loop (the floor: same learner class, ranks, batches and reference scoring; "
                       "no Ray):"), "", "| run | samples/s | s/step |", "|---|---|---|",
                  f"| bare_deepspeed | {floor['samples_per_s']:.1f} | {floor['step_seconds']:.3f} |"]
    if "trl" in extra:
        lines += ["", "alignrl against TRL (trained completions/s, medians of alternating repeats):", "",
                  "| algorithm | alignrl | TRL | alignrl / TRL | repeats | TRL bf16 |", "|---|---|---|---|---|---|"]
        for kind, r in extra["trl"].items():
            lines.append(f"| {kind} | {r['alignrl_median']:.1f} | {r['trl_median']:.1f} | {r['ratio']:.2f} | "
                         f"{r['repeats']} | {r.get('trl_bf16', False)} |")
    if extra.get("weight_sync"):
        lines += ["", "Weight sync, learner rank 0 -> generator (median seconds):", "",
                  "| hidden | params | MB | path | export | transfer + load | total | GB/s |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in extra["weight_sync"]:
            lines.append(f"| {row['hidden_size']} | {row['params']:,} | {row['megabytes']:.1f} | {row['path']} | "
                         f"{row['export_seconds']:.3f} | {row['load_seconds']:.3f} | {row['total_seconds']:.3f} | "
                         f"{row['gb_per_s']:.2f} |")
    lines += ["", "| ratio | value |", "|---|---|"] + [f"| {k} | {v:.3f} |" for k, v in ratios.items()]
    path.write_text("\n".join(lines) + "\n")


def write_plots(out: Path, runs: dict[str, dict], extra: dict) -> None:
    names = list(runs)
    bars = {n: runs[n]["samples_per_s"] for n in names}
    if "floor" in extra:
        bars["bare DeepSpeed"] = extra["floor"]["samples_per_s"]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(list(bars), list(bars.values()))
    ax.set(title="training throughput", ylabel="trained samples / s")
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in names:
        curve = runs[name]["curve"]
        if curve:
            ax.plot([t for t, _ in curve], [r for _, r in curve], marker="o", label=name)
    ax.set(title="held-out reward against pipeline time", xlabel="seconds (evaluation excluded)",
           ylabel="held-out reward")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "reward_vs_time.png", dpi=100)
    plt.close(fig)
    if extra.get("weight_sync"):
        rows = extra["weight_sync"]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([r["megabytes"] for r in rows], [r["total_seconds"] for r in rows], marker="o",
                label=rows[0]["path"])
        ax.set(title="weight sync against model size", xlabel="weights (MB, fp32)", ylabel="seconds per sync")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "weight_sync.png", dpi=100)
        plt.close(fig)
