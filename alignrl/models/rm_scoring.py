"""Score (prompt, response) inputs with a reward model: each distinct input once, in length-sorted batches.

Pair files repeat answers (every AlpacaEval judgment has the reference's answer on side a), so
scoring distinct inputs halves the work there; sorting by token length keeps padding small.
"""

from __future__ import annotations

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from alignrl.models.rm_inputs import RMSpec, encode_inputs, padded


def score_inputs(model, tokenizer, inputs: list[tuple[str, str]], spec: RMSpec, batch_size: int = 64,
                 progress: bool = False) -> list[float]:
    """Reward of each (prompt, response): the classifier's logit plus its length term, in input order."""
    distinct = list(dict.fromkeys(inputs))
    if not distinct:
        return []
    encoded = encode_inputs(tokenizer, [p for p, _ in distinct], [r for _, r in distinct], spec.max_length,
                            spec.input_format)
    order = sorted(range(len(distinct)), key=lambda i: len(encoded["input_ids"][i]))
    scores: dict[tuple[str, str], float] = {}
    columns = (TextColumn("[bold]scoring answers"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar, torch.no_grad():
        task = bar.add_task("score", total=len(distinct))
        for start in range(0, len(order), batch_size):
            chunk = order[start: start + batch_size]
            logits = model(**padded(tokenizer, encoded, chunk)).logits[:, 0].float().tolist()
            for i, logit in zip(chunk, logits):
                scores[distinct[i]] = logit + spec.length(distinct[i][1])
            bar.update(task, advance=len(chunk))
    return [scores[item] for item in inputs]
