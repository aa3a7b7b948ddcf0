"""`alignrl train`: start (or join) Ray, place the actors, run the controller, evaluate, checkpoint, report."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path


from alignrl.buffer import read_state
from alignrl.config.schema import RunConfig
from alignrl.data.encoding import encode_prompt, fit_prompt
from alignrl.data.offline import load_offline_pairs
from alignrl.metrics import MetricsSink
from alignrl.models.sft import splits_from_config
from alignrl.runtime.checkpoint import latest_checkpoint, read_controller_state
from alignrl.runtime.calls import ActorLostError, call
from alignrl.runtime.boundary_probe import BoundaryProbe
from alignrl.runtime.controller import Controller, ControllerState, Handles
from alignrl.runtime.pipelines import Pipeline, needs_offline_pairs
from alignrl.runtime.recovery import actor_died
from alignrl.runtime.progress import RunProgress
from alignrl.runtime.report import write_report
from alignrl.runtime.session import RaySession
from alignrl.runtime.setup import initial_policy, place_actors, reviser_model, save_checkpoint
from alignrl.runtime.telemetry import Telemetry


@dataclass
class TrainResult:
    reward_before: float
    reward_after: float
    steps: int
    seconds: float
    out_dir: str
    checkpoint: str


def _encode_prompts(cfg: RunConfig, tokenizer, prompts) -> list[dict]:
    return [
        {"prompt_id": p.prompt_id, "prompt": p.text,
         "prompt_token_ids": fit_prompt(encode_prompt(tokenizer, p.text), cfg.data.max_prompt_tokens,
                                        cfg.data.overlong_prompts, f"prompt {p.prompt_id} ({p.text[:30]!r})")}
        for p in prompts
    ]


class Evaluator:
    """Held-out reward of the policy version a generator holds (greedy by default)."""

    def __init__(self, cfg: RunConfig, handles: Handles, heldout: list[dict]):
        self.cfg, self.h, self.heldout = cfg, handles, heldout
        ev = cfg.eval
        self.sampling = dict(max_new_tokens=ev.max_new_tokens, temperature=0.0 if ev.greedy else cfg.generation.temperature,
                             top_p=cfg.generation.top_p, top_k=cfg.generation.top_k)

    def __call__(self, controller: Controller | None, version: int) -> float:
        timeout, restarts = self.cfg.runtime.rpc_timeout_s, self.cfg.runtime.max_actor_restarts
        for attempt in range(restarts + 1):
            try:
                if controller is not None:
                    controller.wait_for_generator(0, version)
                samples = self.h.generators[0].generate.remote(self.heldout, 1, self.sampling, 0)
                rewards = call(self.h.reward.score.remote(samples), timeout, "evaluation (generator-0, then reward-0)")
                return sum(rewards) / len(rewards)
            except Exception as err:  # noqa: BLE001 - a crash is retried on the restarted actors
                if not actor_died(err):
                    raise
                if attempt == restarts:
                    raise ActorLostError(f"evaluation on generator-0 / reward-0: the actor did not come back after "
                                         f"{restarts} restart(s) (its node may be gone)") from err
                if controller is not None:
                    controller.gen_version[0] = controller.recovery.restore_generator(
                        0, controller.state.version, controller.weight_buckets)
        raise AssertionError("unreachable")


def run_training(cfg: RunConfig, out_dir: str | Path, resume: str | None = None,
                 ray_address: str | None = None) -> TrainResult:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_json = cfg.model_dump(mode="json", by_alias=True)
    (out / "config.json").write_text(json.dumps(cfg_json, indent=2))
    started = time.perf_counter()

    ckpt = latest_checkpoint(resume) if resume else None
    state = ControllerState(**read_controller_state(ckpt, cfg_json)["state"]) if ckpt else ControllerState()
    policy_dir, tokenizer = initial_policy(cfg, out)
    splits = splits_from_config(cfg)
    train_prompts = _encode_prompts(cfg, tokenizer, splits.train)
    heldout = _encode_prompts(cfg, tokenizer, splits.heldout[: cfg.eval.num_prompts])
    boundary = getattr(cfg.algorithm, "boundary", None)
    probing = boundary is not None and boundary.enabled
    pipeline = Pipeline(cfg, train_prompts, load_offline_pairs(cfg, tokenizer) if needs_offline_pairs(cfg) else None)
    reviser_dir = reviser_model(cfg, out, policy_dir) if cfg.algorithm.name == "realign" else None

    with RaySession(cfg, ray_address) as session:
        shutil.rmtree(out / "buffer_state", ignore_errors=True)  # a crash-restart snapshot of an earlier run
        handles = place_actors(cfg, session, policy_dir, ckpt, pipeline.schema, state.version,
                               state.ref_version if ckpt and (ckpt / "reference").is_dir() else 0, out, reviser_dir)
        handles.learners.setup(cfg_json, str(policy_dir), cfg.runtime.total_steps)
        if cfg.runtime.weight_sync == "broadcast":
            handles.learners.init_broadcast(handles.generators)
        if ckpt is not None:
            handles.learners.load(str(ckpt), "state")
            call(handles.buffer.load_state.remote(read_state(ckpt)), cfg.runtime.rpc_timeout_s,
                 "replay-buffer-0 restore")
        sink = MetricsSink(out, cfg.logging.wandb_mode, cfg.logging.project, cfg.logging.run_name or out.name, cfg_json)
        telemetry = Telemetry(sink, len(handles.generators), cfg.runtime.train_batch_size)
        evaluate = Evaluator(cfg, handles, heldout)
        probe = BoundaryProbe(cfg, handles, tokenizer, sink) if probing else None
        if ckpt is None:
            before = evaluate(None, 0)
            state.history.append([0, before])
            sink.log(0, {"eval/reward_mean": before})
        before = state.history[0][1]

        def after_step(controller: Controller) -> None:
            version = controller.state.version
            paused = time.monotonic()
            algo = cfg.algorithm
            if getattr(algo, "reset_reference", False) and version % algo.steps_per_iteration == 0:
                controller.reset_reference(version)
            if probe is not None and version % algo.steps_per_iteration == 0 and version < cfg.runtime.total_steps:
                controller.switch_source(probe(controller, version))
            if version % cfg.eval.interval == 0 and version < cfg.runtime.total_steps:
                reward = evaluate(controller, version)
                controller.state.history.append([version, reward])
                telemetry.sink.log(version, {"eval/reward_mean": reward})
                progress.set_reward(reward)
            if cfg.checkpoint.interval and version % cfg.checkpoint.interval == 0:
                controller.drain()
                save_checkpoint(cfg, cfg_json, out, controller, handles)
            telemetry.pause(time.monotonic() - paused)

        controller = Controller(cfg, handles, pipeline, telemetry, state, on_step=after_step)
        if probe is not None and ckpt is None:
            controller.switch_source(probe(controller, 0))
        with RunProgress(cfg.runtime.total_steps, state.version, cfg.logging.progress) as progress:
            if state.history:
                progress.set_reward(state.history[-1][1])
            controller.run(progress)
        after = evaluate(controller, controller.state.version)
        controller.state.history.append([controller.state.version, after])
        sink.log(controller.state.version, {"eval/reward_mean": after, **controller.buffer("stats")})
        final = save_checkpoint(cfg, cfg_json, out, controller, handles)
        sink.close()
    write_report(out, f"{cfg.algorithm.name}: held-out reward {before:.3f} -> {after:.3f}")
    result = TrainResult(before, after, controller.state.version, time.perf_counter() - started, str(out), str(final))
    (out / "summary.json").write_text(json.dumps(result.__dict__, indent=2))
    return result
