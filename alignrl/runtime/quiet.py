"""Quiet runs: the terminal gets the progress bar, one line per evaluation and the final line.

Library notices below ERROR (Ray, DeepSpeed, transformers), model-I/O progress bars and every
actor's stdout/stderr go to OUT/logs/run.log instead. Errors still reach the terminal whole.
`verbose` (`alignrl train --verbose`) leaves everything as the libraries print it.
"""

from __future__ import annotations

import logging
from pathlib import Path

NOISY_LOGGERS = ("ray", "DeepSpeed", "transformers", "accelerate", "datasets")
LOG_NAME = "logs/run.log"


class _Divert(logging.Filter):
    """On a library's logger and its handlers: records below ERROR go to the run log and nowhere else.
    (A logger's own filter never sees its children's records, hence the handlers too.)"""

    def __init__(self, handler: logging.Handler):
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        self.handler.handle(record)
        return False


class RunOutput:
    """Context manager for one run's terminal output; `attach_ray()` once Ray is up."""

    def __init__(self, out: Path, verbose: bool):
        self.path = Path(out) / LOG_NAME
        self.verbose = verbose
        self.file = None
        self._divert: _Divert | None = None
        self._bars_were_on = True

    def __enter__(self) -> RunOutput:
        if self.verbose:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("a", buffering=1)
        handler = logging.StreamHandler(self.file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._divert = _Divert(handler)
        for name in NOISY_LOGGERS:
            logger = logging.getLogger(name)
            for target in (logger, *logger.handlers):
                target.addFilter(self._divert)
        from transformers.utils import logging as hf_logging

        self._bars_were_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # "Writing model shards", "Loading weights"
        return self

    def attach_ray(self) -> None:
        """Actor output lines go to the run log instead of the terminal (a driver that logs them at all)."""
        if self.verbose:
            return
        try:
            from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher
        except ImportError:  # another Ray layout: keep Ray's own printing
            return
        dispatcher.remove_handler("ray_print_logs")
        dispatcher.remove_handler("alignrl_run_log")
        dispatcher.add_handler("alignrl_run_log", self._actor_lines)

    def _actor_lines(self, batch: dict) -> None:
        pid = batch.get("pid")
        who = batch.get("actor_name") or batch.get("task_name")
        prefix = f"({who} pid={pid})" if who else f"({pid})"  # Ray's own: autoscaler, raylet
        for line in batch.get("lines", []):
            self.file.write(f"{prefix} {line}\n")

    def __exit__(self, *exc) -> None:
        if self.verbose or self.file is None:
            return
        try:
            from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher

            dispatcher.remove_handler("alignrl_run_log")
        except ImportError:
            pass
        for name in NOISY_LOGGERS:
            logger = logging.getLogger(name)
            for target in (logger, *logger.handlers):
                target.removeFilter(self._divert)
        if self._bars_were_on:
            from transformers.utils import logging as hf_logging

            hf_logging.enable_progress_bar()
        self.file.close()
        self.file = None
