"""A progress bar with ETA over learner steps, showing the loss and the latest held-out reward."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


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

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
