"""`OUT/report.png`: held-out reward and training loss over learner steps."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on clusters without a display
import matplotlib.pyplot as plt  # noqa: E402

from alignrl.metrics import read_metrics  # noqa: E402


def write_report(out_dir: str | Path, title: str) -> Path:
    out = Path(out_dir)
    rows = read_metrics(out / "metrics.jsonl")
    evals = [(r["step"], r["eval/reward_mean"]) for r in rows if r.get("eval/reward_mean") is not None]
    losses = [(r["step"], r["loss"]) for r in rows if r.get("loss") is not None]
    fig, (ax_r, ax_l) = plt.subplots(1, 2, figsize=(10, 4))
    if evals:
        ax_r.plot(*zip(*evals), marker="o")
    ax_r.set(title="held-out reward", xlabel="learner step", ylabel="eval/reward_mean")
    if losses:
        ax_l.plot(*zip(*losses))
    ax_l.set(title="training loss", xlabel="learner step", ylabel="loss")
    fig.suptitle(title)
    fig.tight_layout()
    path = out / "report.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
