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
           ("reward_gain_per_s", "gain / s", "{:.4f}")]


def write_table(path: Path, runs: dict[str, dict], ratios: dict[str, float]) -> None:
    lines = ["| run | source | max_staleness | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 3) + "|"]
    for name, run in runs.items():
        cells = [fmt.format(run[key]) for key, _, fmt in COLUMNS]
        lines.append(f"| {name} | {run['source']} | {run['max_staleness']} | " + " | ".join(cells) + " |")
    lines += ["", "| ratio | value |", "|---|---|"] + [f"| {k} | {v:.3f} |" for k, v in ratios.items()]
    path.write_text("\n".join(lines) + "\n")


def write_plots(out: Path, runs: dict[str, dict]) -> None:
    names = list(runs)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(names, [runs[n]["samples_per_s"] for n in names])
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
