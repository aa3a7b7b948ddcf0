"""`alignrl train`: start (or join) Ray, place the actors, run the controller, evaluate, checkpoint, report."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from alignrl.algorithms import get_algorithm
from alignrl.buffer import read_state
from alignrl.config.schema import RunConfig
from alignrl.data.encoding import encode_prompt, fit_prompt
from alignrl.data.offline import left_out_text, load_offline_pairs
from alignrl.metrics import MetricsSink, drop_rows_after
from alignrl.offline import use_offline_builds
from alignrl.data.prompts import DatasetPrompt, prompt_splits
from alignrl.runtime.checkpoint import CheckpointError, latest_checkpoint, read_controller_state, step_dir
from alignrl.runtime.calls import call
from alignrl.runtime.controller import Controller, ControllerState
from alignrl.runtime.evaluation import Evaluator
from alignrl.runtime.hooks import build_hooks
from alignrl.runtime.pipelines import Pipeline, needs_offline_pairs
from alignrl.runtime.progress import RunProgress, eval_line
from alignrl.runtime.quiet import RunOutput
from alignrl.runtime.report import write_report
from alignrl.runtime.session import RaySession
from alignrl.runtime.stopping import STOP, StopRequested
from alignrl.runtime.setup import check_model_fit, initial_policy, save_checkpoint
from alignrl.runtime.telemetry import Telemetry
from alignrl.runtime.wiring import place_actors
from alignrl.transport import TRANSPORTS


@dataclass
class TrainResult:
    reward_before: float
    reward_after: float
    steps: int
    seconds: float
    out_dir: str
    checkpoint: str


def _encode_prompts(cfg: RunConfig, tokenizer, prompts) -> list[dict]:
    where = cfg.data.prompt_dataset or "task prompt"
    return [
        {"prompt_id": p.prompt_id, "prompt": p.text,
         "prompt_token_ids": fit_prompt(encode_prompt(tokenizer, p.chat if isinstance(p, DatasetPrompt) else p.text),
                                        cfg.data.max_prompt_tokens, cfg.data.overlong_prompts,
                                        f"{where}: prompt {p.prompt_id} ({p.text[:30]!r})")}
        for p in prompts
    ]


def _offline_pairs(cfg: RunConfig, tokenizer) -> tuple[list, dict[str, int]]:
    """The dataset's pairs, and what was left out of them by reason (printed: a user sees it at once)."""
    left_out = Counter()
    pairs = load_offline_pairs(cfg, tokenizer, skipped=left_out)
    if left_out:
        print(f"offline data: {len(pairs)} pairs from {cfg.data.preference_dataset}; left out: "
              f"{left_out_text(left_out)}", flush=True)
    return pairs, dict(left_out)


def _last_checkpoint(out: Path) -> str | None:
    try:
        return str(latest_checkpoint(out))
    except CheckpointError:
        return None


def run_training(cfg: RunConfig, out_dir: str | Path, resume: str | None = None,
                 ray_address: str | None = None, checkpoint_on_stop: bool = False,
                 verbose: bool = False) -> TrainResult:
    """Train; a first SIGINT/SIGTERM raises StopRequested (with the step and checkpoint to resume from).
    Unless `verbose`, library notices and actor output go to OUT/logs/run.log, not the terminal."""
    out = Path(out_dir)
    with STOP.installed(), RunOutput(out, verbose) as output:
        try:
            return _run_training(cfg, out, resume, ray_address, checkpoint_on_stop, output)
        except StopRequested as stop:
            stop.checkpoint = stop.checkpoint or _last_checkpoint(out) or (resume and _last_checkpoint(Path(resume)))
            raise


def _run_training(cfg: RunConfig, out: Path, resume: str | None, ray_address: str | None,
                  checkpoint_on_stop: bool, output: RunOutput) -> TrainResult:
    out.mkdir(parents=True, exist_ok=True)
    cfg = use_offline_builds(cfg)  # ALIGNRL_OFFLINE=1: hub ids -> their offline builds, before anything loads
    cfg_json = cfg.model_dump(mode="json", by_alias=True)
    (out / "config.json").write_text(json.dumps(cfg_json, indent=2))
    started = time.perf_counter()

    ckpt = latest_checkpoint(resume) if resume else None
    state = ControllerState(**read_controller_state(ckpt, cfg_json)["state"]) if ckpt else ControllerState()
    policy_dir, tokenizer = initial_policy(cfg, out)
    check_model_fit(cfg, policy_dir)
    splits = prompt_splits(cfg)
    train_prompts = _encode_prompts(cfg, tokenizer, splits.train)
    heldout = _encode_prompts(cfg, tokenizer, splits.heldout[: cfg.eval.num_prompts])
    offline_pairs, left_out = (_offline_pairs(cfg, tokenizer) if needs_offline_pairs(cfg) else (None, None))
    # Which prompts (and dataset pairs) this run may train on and which it evaluates on, for the user to audit.
    (out / "prompt_split.json").write_text(json.dumps({
        "source": cfg.data.prompt_dataset or f"tasks {cfg.data.tasks}",
        "train": [p["prompt_id"] for p in train_prompts], "heldout": [p["prompt_id"] for p in heldout],
        **({"offline_pairs": [p.prompt_id for p in offline_pairs], "offline_left_out": left_out}
           if offline_pairs is not None else {})}))
    pipeline = Pipeline(cfg, train_prompts, offline_pairs)
    # Extra roles (ReAlign's reviser) get their models before any actor starts (trained once, cached).
    spec = get_algorithm(cfg.algorithm.name)
    role_dirs = {role.name: role.prepare(cfg, out, policy_dir) for role in spec.roles(cfg.algorithm)}

    with RaySession(cfg, ray_address) as session:
        STOP.install()  # again: ray.init replaces SIGTERM's handler with a native stack dump
        output.attach_ray()
        shutil.rmtree(out / "buffer_state", ignore_errors=True)  # a crash-restart snapshot of an earlier run
        handles = place_actors(cfg, session, policy_dir, ckpt, pipeline.schema, state.version,
                               state.ref_version if ckpt and (ckpt / "reference").is_dir() else 0, out, role_dirs)
        handles.learners.setup(cfg_json, str(policy_dir), cfg.runtime.total_steps)
        if TRANSPORTS.get(cfg.runtime.weight_sync).collective:
            handles.learners.connect_transport(cfg.runtime.weight_sync, handles.synced_generators())
        if ckpt is not None:
            handles.learners.load(str(ckpt), "state", state.ref_version)
            call(handles.buffer.load_state.remote(read_state(ckpt)), cfg.runtime.rpc_timeout_s,
                 "replay-buffer-0 restore")
            drop_rows_after(out / "metrics.jsonl", state.version)  # steps after the checkpoint are run again
        sink = MetricsSink(out, cfg.logging.wandb_mode, cfg.logging.project, cfg.logging.run_name or out.name, cfg_json)
        telemetry = Telemetry(sink, len(handles.generators), cfg.runtime.train_batch_size)
        evaluate = Evaluator(cfg, handles, heldout, out, sink, resumed=ckpt is not None)
        hooks = build_hooks(cfg, handles, tokenizer, sink)
        if ckpt is None:
            first = evaluate(None, 0)
            state.history.append([0, first["eval/reward_mean"]])
            sink.log(0, first)
        before = state.history[0][1]

        def after_step(controller: Controller) -> None:
            version = controller.state.version
            paused = time.monotonic()
            for hook in hooks:  # the algorithm's own between-step work (reference reset, boundary probe)
                if hook.due(version, cfg.runtime.total_steps):
                    hook.run(controller, version)
            if version % cfg.eval.interval == 0 and version < cfg.runtime.total_steps:
                scores = evaluate(controller, version)
                controller.state.history.append([version, scores["eval/reward_mean"]])
                telemetry.sink.log(version, scores)
                progress.set_reward(scores["eval/reward_mean"])
                progress.note(eval_line(version, scores))
            if cfg.checkpoint.interval and version % cfg.checkpoint.interval == 0:
                controller.drain()
                save_checkpoint(cfg, cfg_json, out, controller, handles)
            telemetry.pause(time.monotonic() - paused)

        controller = Controller(cfg, handles, pipeline, telemetry, state, on_step=after_step)
        try:
            if ckpt is None:
                for hook in hooks:
                    if hook.due(0, cfg.runtime.total_steps):
                        hook.run(controller, 0)
            with RunProgress(cfg.runtime.total_steps, state.version, cfg.logging.progress) as progress:
                if ckpt is None:
                    progress.note(eval_line(0, first))
                if state.history:
                    progress.set_reward(state.history[-1][1])
                controller.run(progress)
            last = evaluate(controller, controller.state.version)
            after = last["eval/reward_mean"]
            controller.state.history.append([controller.state.version, after])
            sink.log(controller.state.version, {**last, **controller.buffer("stats")})
            final = save_checkpoint(cfg, cfg_json, out, controller, handles)
        except StopRequested as stop:
            if checkpoint_on_stop:  # finish the step in flight, then save it (a second signal exits at once)
                controller.settle()
                saved = step_dir(out, controller.state.version)
                if not (saved / "controller.json").is_file():  # not saved by the interval already
                    saved = save_checkpoint(cfg, cfg_json, out, controller, handles)
                stop.checkpoint = str(saved)
            stop.step = controller.state.version
            raise
        finally:
            sink.close()
    write_report(out, f"{cfg.algorithm.name}: held-out reward {before:.3f} -> {after:.3f}")
    result = TrainResult(before, after, controller.state.version, time.perf_counter() - started, str(out), str(final))
    (out / "summary.json").write_text(json.dumps(result.__dict__, indent=2))
    return result
