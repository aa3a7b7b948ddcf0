"""Held-out evaluation during a run: reward, its standard error, win rate against the starting policy,
and every generation on disk for external judges."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from alignrl.config.schema import RunConfig
from alignrl.metrics import MetricsSink
from alignrl.runtime.calls import ActorLostError, call
from alignrl.runtime.controller import Controller, Handles
from alignrl.runtime.recovery import actor_died

TABLE_ROWS = 8  # generations per evaluation shown in W&B


def eval_file(out: Path, version: int) -> Path:
    return out / "eval" / f"step_{version:06d}.jsonl"


def win_rate(rewards: dict[str, float], start: dict[str, float]) -> float | None:
    """Share of held-out prompts where this policy's answer out-scores the starting policy's (ties: half)."""
    shared = [p for p in rewards if p in start]
    if not shared:
        return None
    return sum(1.0 if rewards[p] > start[p] else 0.5 if rewards[p] == start[p] else 0.0 for p in shared) / len(shared)


class Evaluator:
    """Scores the policy version a generator holds on the held-out prompts (greedy by default).

    Each evaluation writes `eval/step_<version>.jsonl` (AlpacaEval-style `instruction` / `output`, plus the
    prompt id and the configured reward's score) and logs `eval/reward_mean`, `eval/reward_sem` and, after
    the first, `eval/win_rate_vs_start`: the starting policy judged against by the configured reward.
    """

    def __init__(self, cfg: RunConfig, handles: Handles, heldout: list[dict], out: Path, sink: MetricsSink,
                 resumed: bool = False):
        self.cfg, self.h, self.heldout, self.out, self.sink = cfg, handles, heldout, out, sink
        ev = cfg.eval
        self.sampling = dict(max_new_tokens=ev.max_new_tokens, temperature=0.0 if ev.greedy else cfg.generation.temperature,
                             top_p=cfg.generation.top_p, top_k=cfg.generation.top_k)
        # A resumed run judges against the start it wrote; a new one in the same dir against its own.
        self.start = self._read(0) if resumed else None

    def __call__(self, controller: Controller | None, version: int) -> dict[str, float]:
        samples, rewards = self._generate_and_score(controller, version)
        path = eval_file(self.out, version)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for s, r in zip(samples, rewards):
                fh.write(json.dumps({"prompt_id": s["prompt_id"], "instruction": s["prompt"], "output": s["response"],
                                     "reward": r, "finished": s.get("finished"),
                                     "generator": f"alignrl/{self.out.name}/step_{version}"}) + "\n")
        scored = {s["prompt_id"]: r for s, r in zip(samples, rewards)}
        sd = statistics.stdev(rewards) if len(rewards) > 1 else 0.0
        metrics = {"eval/reward_mean": statistics.fmean(rewards), "eval/reward_sem": sd / math.sqrt(len(rewards))}
        if version == 0 and self.start is None:
            self.start = scored
        elif self.start is not None:
            rate = win_rate(scored, self.start)
            if rate is not None:
                metrics["eval/win_rate_vs_start"] = rate
        self.sink.table(version, "eval/generations", ["prompt", "response", "reward"],
                        [[s["prompt"], s["response"], r] for s, r in zip(samples[:TABLE_ROWS], rewards)])
        return metrics

    def _read(self, version: int) -> dict[str, float] | None:
        path = eval_file(self.out, version)
        if not path.is_file():
            return None
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return {r["prompt_id"]: r["reward"] for r in rows}

    def _generate_and_score(self, controller: Controller | None, version: int) -> tuple[list[dict], list[float]]:
        timeout, restarts = self.cfg.runtime.rpc_timeout_s, self.cfg.runtime.max_actor_restarts
        for attempt in range(restarts + 1):
            try:
                if controller is not None:
                    controller.wait_for_generator(0, version)
                samples = call(self.h.generators[0].generate.remote(self.heldout, 1, self.sampling, 0), timeout,
                               f"evaluation generation ({self.h.generator_name(0)})")
                rewards = call(self.h.reward.score.remote(samples), timeout, "evaluation scoring (reward-0)")
                return samples, list(rewards)
            except Exception as err:  # noqa: BLE001 - a crash is retried on the restarted actors
                if not actor_died(err):
                    raise
                if attempt == restarts:
                    raise ActorLostError(f"evaluation on {self.h.generator_name(0)} / reward-0: the actor did not come back after "
                                         f"{restarts} restart(s) (its node may be gone)") from err
                if controller is not None:
                    controller.gen_version[0] = controller.recovery.restore_generator(
                        0, controller.state.version, controller.weight_buckets)
        raise AssertionError("unreachable")
