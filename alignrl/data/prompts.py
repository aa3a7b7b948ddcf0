"""The prompts a run trains and evaluates on: the user's prompt dataset, or prompts of the verifiable tasks.

A prompt dataset (`data.prompt_dataset`) is split by a hash of each prompt's content, so a prompt is
held out whatever the file's order, the seed or the sizes, and never trained on. With
`data.heldout_every: N` it is split by row position instead (rows 0, N, 2N, ... are held out), to keep
a dataset's own evaluation split. Identical prompts collapse into one (the first row's id is kept).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from alignrl.config.schema import RunConfig
from alignrl.data.readers import DataError, last_user_text, read_prompts
from alignrl.tasks import make_task
from alignrl.tasks.base import is_heldout
from alignrl.tasks.splits import PromptSplits, make_splits


@dataclass(frozen=True)
class DatasetPrompt:
    """One prompt of a user's dataset: `text` is what rewards see, `chat` what the chat template renders."""

    prompt_id: str
    text: str
    chat: str | list = field(default="", compare=False)  # the prompt as read: text or messages
    task: str | None = None


def content_key(prompt) -> str:
    """A hex digest of the prompt's content (text or messages): its identity and its split."""
    payload = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def task_splits(cfg: RunConfig) -> PromptSplits:
    """Prompts of the configured verifiable tasks (the SFT warm-up and the reviser always use these)."""
    tasks = [make_task(name, **cfg.data.task_options.get(name, {})) for name in cfg.data.tasks]
    return make_splits(tasks, cfg.data.n_train, cfg.data.n_heldout, cfg.data.seed, cfg.data.heldout_fraction)


def dataset_splits(cfg: RunConfig) -> PromptSplits:
    """The prompt dataset's rows, split as configured; at most n_train / n_heldout of each, in file order."""
    data = cfg.data
    train, heldout = [], []
    for prompt, held in _split_rows(cfg):
        (heldout if held else train).append(prompt)
    if not train or not heldout:
        rule = (f"data.heldout_every={data.heldout_every}" if data.heldout_every
                else f"data.heldout_fraction={data.heldout_fraction}")
        raise DataError(f"{data.prompt_dataset}: {len(train) + len(heldout)} distinct prompts give {len(train)} "
                        f"training and {len(heldout)} held-out ones at {rule}; a run needs both (add prompts or "
                        f"change the split)")
    return PromptSplits(train=train[: data.n_train], heldout=heldout[: data.n_heldout])


def heldout_test(cfg: RunConfig) -> Callable[[str | list], bool]:
    """Whether a prompt (text or messages) is held out by the prompt dataset's split, for data read beside it.

    The hash split places any prompt; the every-N split knows only the dataset's rows, and a prompt the
    dataset lacks counts as a training prompt.
    """
    data = cfg.data
    if not data.heldout_every:
        return lambda prompt: is_heldout(content_key(prompt), data.heldout_fraction)
    held = {content_key(p.chat) for p, is_held in _split_rows(cfg) if is_held}
    return lambda prompt: content_key(prompt) in held


def _split_rows(cfg: RunConfig) -> list[tuple[DatasetPrompt, bool]]:
    """Each distinct prompt of the dataset (first row kept) and whether it is held out."""
    data = cfg.data
    rows = read_prompts(data.prompt_dataset, split=data.dataset_split, columns=data.columns)
    out, seen, ids = [], set(), {}
    for index, row in enumerate(rows):
        key = content_key(row["prompt"])
        if key in seen:
            continue
        seen.add(key)
        if row["prompt_id"] in ids:
            raise DataError(f"{data.prompt_dataset}: rows {ids[row['prompt_id']]} and {index} share prompt_id "
                            f"{row['prompt_id']!r} but differ in content")
        ids[row["prompt_id"]] = index
        held = index % data.heldout_every == 0 if data.heldout_every else is_heldout(key, data.heldout_fraction)
        out.append((DatasetPrompt(row["prompt_id"], last_user_text(row["prompt"]), row["prompt"], row.get("task")),
                    held))
    return out


def prompt_splits(cfg: RunConfig) -> PromptSplits:
    """What a run trains and evaluates on: the prompt dataset when one is given, else task prompts."""
    return dataset_splits(cfg) if cfg.data.prompt_dataset else task_splits(cfg)
