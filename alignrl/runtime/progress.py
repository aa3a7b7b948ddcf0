"""A progress bar with ETA over learner steps, showing the loss and the latest held-out reward."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def eval_line(step: int, scores: dict) -> str:
    """One terminal line per evaluation: the held-out reward with its standard error, and the win rate."""
    line = f"step {step}: held-out reward {scores['eval/reward_mean']:.3f} ± {scores.get('eval/reward_sem', 0.0):.3f}"
    if "eval/win_rate_vs_start" in scores:
        line += f", win rate vs start {scores['eval/win_rate_vs_start']:.2f}"
    return line


class RunProgress:
    def __init__(self, total: int, completed: int, enabled: bool, label: str = "train"):
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]:.4f}  eval {task.fields[reward]}"),
                                 TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), disable=not enabled)
        self.task = self.progress.add_task(label, total=total, completed=completed, loss=float("nan"), reward="-")

    def advance(self, loss: float) -> None:
        self.progress.update(self.task, advance=1, loss=loss)

    def set_reward(self, reward: float) -> None:
        self.progress.update(self.task, reward=f"{reward:.3f}")

    def note(self, line: str) -> None:
        """A line printed above the bar (printed plainly when the bar is off)."""
        if self.progress.disable:
            print(line, flush=True)
        else:
            self.progress.console.print(line, highlight=False, markup=False)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
