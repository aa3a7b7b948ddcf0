"""Fault drills on a real local Ray cluster: crashed actors restart and lose nothing; hangs are named."""

import random
import threading
import time

import pytest
import ray

from alignrl.metrics import read_metrics
from alignrl.runtime.calls import RuntimeTimeout
from alignrl.runtime.train import run_training
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu

ROLES = ("generator-0", "reward-0", "reference-0", "replay-buffer-0")


class Killer(threading.Thread):
    """Kills each restartable role `per_role` times at random moments once training has started."""

    def __init__(self, out, namespace, per_role=2, seed=0):
        super().__init__(daemon=True)
        self.out, self.namespace = out, namespace
        self.plan = [role for role in ROLES for _ in range(per_role)]
        random.Random(seed).shuffle(self.plan)
        self.rng = random.Random(seed)
        self.killed: list[str] = []
        self.stop = threading.Event()

    def _training_started(self) -> bool:
        path = self.out / "metrics.jsonl"
        return path.is_file() and any(r.get("loss") is not None for r in read_metrics(path))

    def run(self):
        while not self.stop.is_set() and not self._training_started():
            time.sleep(0.2)
        for role in self.plan:
            if self.stop.wait(self.rng.uniform(1.0, 2.5)):
                return
            try:
                ray.kill(ray.get_actor(role, namespace=self.namespace), no_restart=False)
                self.killed.append(role)
            except ValueError:  # between death and restart the name is briefly unregistered
                continue


def test_killed_actors_restart_and_nothing_is_lost(ray_cluster, warm_policy, tmp_path):
    # The reference as its own actor (learner.reference: actor), so that it can be killed as well.
    cfg = e2e_config(warm_policy, runtime={"total_steps": 40, "max_actor_restarts": 20}, learner={"reference": "actor"})
    killer = Killer(tmp_path, cfg.runtime.namespace)
    killer.start()
    try:
        result = run_training(cfg, tmp_path)
    finally:
        killer.stop.set()
        killer.join(10)
    metrics = read_metrics(tmp_path / "metrics.jsonl")
    final = metrics[-1]
    assert result.steps == 40
    assert len(killer.killed) >= 6 and set(killer.killed) == set(ROLES), killer.killed
    assert final["buffer/lost"] == 0 and final["buffer/duplicated"] == 0
    assert final["buffer/admitted"] == (final["buffer/trained"] + final["buffer/evicted"] + final["buffer/dropped"]
                                        + final["buffer/pending"])
    last_step = [r for r in metrics if r.get("faults/reissued_rounds") is not None][-1]
    assert last_step["faults/reissued_rounds"] + last_step["faults/actor_restarts"] > 0


def test_a_hanging_reward_is_reported_within_its_timeout(ray_cluster, warm_policy, tmp_path):
    cfg = e2e_config(warm_policy, reward={"function": "alignrl.testing:hanging_reward"},
                     runtime={"rpc_timeout_s": 15})  # room for the evaluation's generation on a loaded box
    started = time.monotonic()
    with pytest.raises(RuntimeTimeout, match=r"evaluation scoring \(reward-0\) did not finish within 15s"):
        run_training(cfg, tmp_path)
    # Start-up included (it took 140 s on a heavily loaded box); the reward itself would hang for an hour.
    assert time.monotonic() - started < 300


def test_learner_death_stops_with_a_clear_error_and_resume_recovers(ray_cluster, warm_policy, tmp_path):
    from alignrl.learners.group import LearnerError

    cfg = e2e_config(warm_policy, runtime={"total_steps": 40}, checkpoint={"interval": 10}, eval={"interval": 20})
    straight = run_training(cfg, tmp_path / "straight")

    out = tmp_path / "faulty"

    def kill_rank_after_step_15():
        while True:
            path = out / "metrics.jsonl"
            if path.is_file() and any((r.get("step") or 0) >= 15 for r in read_metrics(path)):
                ray.kill(ray.get_actor("learner-1", namespace=cfg.runtime.namespace))
                return
            time.sleep(0.1)

    threading.Thread(target=kill_rank_after_step_15, daemon=True).start()
    with pytest.raises(LearnerError, match=r"learner rank 1 died during train step; resume from the last checkpoint"):
        run_training(cfg, out)
    resumed = run_training(cfg, out, resume=str(out))
    assert resumed.steps == 40
    assert (out / "checkpoints" / "step_000040").is_dir()
    assert abs(resumed.reward_after - straight.reward_after) < 0.05, (resumed.reward_after, straight.reward_after)
    assert resumed.reward_after > straight.reward_before
