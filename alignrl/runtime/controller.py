"""The controller: prompts -> generators -> reward -> reference -> builder -> buffer -> learner -> sync.

One event loop drives every actor through futures. Generation for policy version v starts only
while `learner_version - v <= max_staleness`; `max_staleness: 0` is the synchronous mode of the
same code. Every wait has a deadline, so a hung actor is reported by name instead of stalling.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import ray

from alignrl.config.schema import RunConfig
from alignrl.runtime.calls import RuntimeTimeout, WeightSyncError, wait_any
from alignrl.runtime.fill import FillWatch
from alignrl.runtime.pipelines import Pipeline
from alignrl.runtime.recovery import Recovery, actor_died
from alignrl.runtime.progress import RunProgress
from alignrl.runtime.stopping import guarded
from alignrl.runtime.telemetry import Telemetry
from alignrl.transport import SNAPSHOT_TRANSPORT, TRANSPORTS


@dataclass
class Handles:
    generators: list
    reward: object
    reference: object | None  # None: the learner ranks score the reference (learner.reference: learner)
    buffer: object
    learners: object
    roles: dict = field(default_factory=dict)  # the algorithm's extra roles by name (ReAlign: reviser)
    colocated: int = 0  # the first generator slots are learner ranks sampling from their live weights

    def generator_name(self, g: int) -> str:
        return f"learner-{g}" if g < self.colocated else f"generator-{g - self.colocated}"

    def synced_generators(self) -> list:
        """The slots that take weights through the transport (generator actors, not colocated ranks)."""
        return self.generators[self.colocated:]


@dataclass
class ControllerState:
    """Everything that must survive a restart besides weights and the buffer."""

    version: int = 0
    ref_version: int = 0
    round_id: int = 0
    cursor: int = 0
    epoch: int = 0
    history: list = field(default_factory=list)  # (step, eval reward) pairs
    source: str = ""  # the data source rounds draw from (online/offline); switched by the boundary probe

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class WeightPush:
    """One push of the learner's current weights: the sender's ref (collective transports) and each receiver's."""

    version: int
    message: object
    send: object | None
    receives: list


def start_weight_push(handles: Handles, transport: str, bucket_mb: float, zero_stage: int,
                      timeout_s: float) -> WeightPush:
    """Pack the weights on learner rank 0 and start every generator's receive (and the sender, if collective)."""
    version, message = handles.learners.prepare_weights(transport, bucket_mb, zero_stage)
    send = handles.learners.send_weights_async(transport, timeout_s) if TRANSPORTS.get(transport).collective else None
    receives = [gen.receive_weights.remote(transport, version, message, timeout_s)
                for gen in handles.synced_generators()]
    return WeightPush(version, message, send, receives)


@dataclass
class _Pending:
    kind: str  # gen, rollout, send (broadcast root), sync (one generator)
    deadline: float
    what: str
    index: int = 0
    version: int = 0
    started: float = 0.0
    round: tuple | None = None  # (prompts, round_id) of a rollout, to re-issue it after a crash


class Controller:
    def __init__(self, cfg: RunConfig, handles: Handles, pipeline: Pipeline, telemetry: Telemetry,
                 state: ControllerState, on_step=None):
        self.cfg, self.h, self.state = cfg, handles, state
        self.pipeline = pipeline
        if state.source:
            pipeline.source = state.source
        state.source = pipeline.source
        self.telemetry = telemetry
        self.on_step = on_step  # callback(controller) after each learner step: eval, checkpoint
        rt = cfg.runtime
        self.n_gen = len(handles.generators)
        self.gen_version = [state.version] * self.n_gen
        self.gen_busy = [False] * self.n_gen
        self.syncing = [False] * self.n_gen
        self.pending: dict = {}
        self.learner_refs: list | None = None
        self.learner_deadline = 0.0
        self._in_flight_step: tuple | None = None  # (batch token, example ids, start time) of the learner step
        self._snapshot = None  # point-to-point weights of the current version, for restores and resets
        self.transport = rt.weight_sync
        self.collective = TRANSPORTS.get(rt.weight_sync).collective
        self.rollouts_in_flight = 0
        self.recovery = Recovery(handles, rt.rpc_timeout_s, rt.max_actor_restarts, telemetry)
        self.fill = FillWatch(cfg, pipeline.examples_per_round())
        self.recovery.ref_version = state.ref_version
        self.buffer_size = self.buffer("size")
        self.order = self._shuffled(state.epoch)

    # -- prompts or dataset rows -----------------------------------------------------------------
    def _shuffled(self, epoch: int) -> list[int]:
        order = list(range(len(self.pipeline.items())))
        random.Random(f"{self.cfg.runtime.seed}:{self.pipeline.source}:{epoch}").shuffle(order)
        return order

    def _next_items(self, n: int) -> list:
        items, out = self.pipeline.items(), []
        while len(out) < n:
            if self.state.cursor >= len(self.order):
                self.state.epoch += 1
                self.state.cursor = 0
                self.order = self._shuffled(self.state.epoch)
            out.append(items[self.order[self.state.cursor]])
            self.state.cursor += 1
        return out

    def switch_source(self, source: str) -> None:
        """Draw later rounds from `source` (the boundary probe's decision), from a fresh shuffle."""
        if source != self.pipeline.source:
            self.pipeline.source = self.state.source = source
            self.state.cursor, self.state.epoch = 0, 0
            self.order = self._shuffled(0)

    # -- launching work --------------------------------------------------------------------------
    def _trained_at(self) -> int:
        """Samples started now are trained at the learner's next free version at the earliest."""
        return self.state.version + (1 if self.learner_refs is not None else 0)

    def _admitted(self, g: int) -> bool:
        rt = self.cfg.runtime
        if self.pipeline.online:
            if self.gen_busy[g] or self.syncing[g]:
                return False
            if self._trained_at() - self.gen_version[g] > rt.max_staleness:
                return False
        elif g > 0:
            return False  # dataset rounds need no generator: one loader slot
        # Back-pressure: sync mode prepares exactly what the next step needs (deterministic, no waste);
        # async mode keeps up to two batches ahead so the learner never waits on a fresh round.
        expected = self.buffer_size + self.rollouts_in_flight * self.pipeline.examples_per_round()
        ahead = 1 if rt.max_staleness == 0 else 2
        return expected < ahead * rt.train_batch_size

    def buffer(self, method: str, *args):
        """A replay-buffer call, retried across a buffer restart (its methods are idempotent)."""
        started = time.monotonic()
        try:
            return self.recovery.with_retries(lambda: getattr(self.h.buffer, method).remote(*args),
                                              f"replay-buffer-0 {method}")
        finally:
            self.telemetry.on_buffer(time.monotonic() - started)

    @guarded
    def _launch_rollout(self, g: int, round_spec: tuple | None = None) -> None:
        rt = self.cfg.runtime
        if round_spec is None:
            round_spec = (self._next_items(rt.prompts_per_step), self.state.round_id, self._trained_at())
            self.state.round_id += 1
        items, round_id, version = round_spec
        generation, annotated = self.pipeline.launch(self.h, g, items, round_id, version)
        now = time.monotonic()
        if generation is not None:
            self.pending[generation] = _Pending("gen", now + rt.rpc_timeout_s,
                                                f"generation on {self.h.generator_name(g)}", g, started=now,
                                                round=round_spec)
            self.gen_busy[g] = True
        self.pending[annotated] = _Pending("rollout", now + 3 * rt.rpc_timeout_s,
                                           f"scoring round {round_id} (reward + reference)", g, round=round_spec)
        self.rollouts_in_flight += 1

    @guarded
    def _launch_sync(self) -> None:
        """Push the new weights to every generator actor through the configured weight transport."""
        if not self.h.synced_generators():
            return  # colocated ranks sample from their live weights: nothing to push
        rt = self.cfg.runtime
        started = time.monotonic()
        deadline = started + rt.sync_timeout_s
        push = start_weight_push(self.h, self.transport, rt.sync_bucket_mb, rt.zero_stage, rt.sync_timeout_s)
        version = push.version
        if push.send is not None:  # the sender runs alongside the receivers
            self.pending[push.send] = _Pending("send", deadline, f"{self.transport} weight push v{version} from "
                                               f"learner rank 0", 0, version, started)
        elif self.transport == SNAPSHOT_TRANSPORT:
            self._snapshot = push.message  # the same objects serve restores and a reference reset of this version
        self.telemetry.export_seconds = time.monotonic() - started
        for g, ref in enumerate(push.receives, start=self.h.colocated):
            self.pending[ref] = _Pending("sync", deadline, f"weight sync v{version} to {self.h.generator_name(g)}", g,
                                         version, started)
            self.syncing[g] = True

    def weight_buckets(self):
        """Point-to-point weights of the current version (restores, the reference reset), made once per version."""
        if self._snapshot is None:
            rt = self.cfg.runtime
            _, self._snapshot = self.h.learners.prepare_weights(SNAPSHOT_TRANSPORT, rt.sync_bucket_mb, rt.zero_stage)
        return self._snapshot

    @guarded
    def reset_reference(self, version: int) -> None:
        """ref = the current policy (iterative DPO); queued examples scored under the old one are evicted."""
        if self.h.reference is None:  # the learner ranks score at train time: in place, nothing is stale
            self.h.learners.reset_reference(version)
            self.state.ref_version = self.recovery.ref_version = version
            return
        buckets, timeout = self.weight_buckets(), self.cfg.runtime.sync_timeout_s
        self.recovery.with_retries(
            lambda: self.h.reference.receive_weights.remote(SNAPSHOT_TRANSPORT, version, buckets, timeout),
            f"reference reset to v{version}")
        self.recovery.ref_buckets, self.recovery.ref_version = buckets, version
        self.state.ref_version = version
        self.buffer("evict_where", "ref_version", version)

    # -- completions -----------------------------------------------------------------------------
    def _on_rollout(self, ref, item: _Pending) -> None:
        try:
            samples = ray.get(ref)
        except Exception as err:  # noqa: BLE001 - crashes are recovered, everything else stops the run
            if not actor_died(err):
                raise
            self._reissue(item)
            return
        self.rollouts_in_flight -= 1
        built = self.pipeline.build(samples, self.state.ref_version)
        self.buffer_size = self.buffer("ingest", [s["sample_id"] for s in samples], built.examples, built.dropped,
                                       built.evicted)
        self.telemetry.on_rollout(samples, self.pipeline.round_metrics(samples), built)
        self.fill.record(built, len(samples))

    def _reissue(self, item: _Pending) -> None:
        """An actor in the round's chain crashed: restore the restarted actors, then run the round again."""
        g = item.index
        for ref, other in list(self.pending.items()):  # the round's generation entry died with it
            if other.kind == "gen" and other.round is item.round:
                del self.pending[ref]
        self.gen_version[g] = self.recovery.restore_generator(g, self.state.version, self.weight_buckets)
        self.recovery.restore_reference()
        self.recovery.with_retries(lambda: self.h.reward.ping.remote(), "reward-0 after a crash")
        self.rollouts_in_flight -= 1  # _launch_rollout counts the re-issued round again
        self.telemetry.faults["faults/reissued_rounds"] += 1
        self._launch_rollout(g, item.round)

    def _wait(self, extra: list) -> list:
        """Wait for the next finished call; past the earliest deadline, name the late call."""
        refs = list(self.pending) + extra
        deadlines = [(p.deadline, p.what) for p in self.pending.values()]
        if extra:
            deadlines.append((self.learner_deadline, "learner train step"))
        deadline, what = min(deadlines)
        ready = wait_any(refs, deadline)
        if not ready:
            raise RuntimeTimeout(f"{what} did not finish within its timeout")
        return ready

    # -- the loop --------------------------------------------------------------------------------
    @guarded
    def _launch_step(self) -> None:
        """Start a learner step on the next batch, if the buffer has one."""
        rt = self.cfg.runtime
        batch, self.buffer_size = self.buffer("take", rt.train_batch_size, self.state.version)
        if batch is not None:
            started = time.monotonic()
            self._in_flight_step = (batch["batch_token"][0].as_py(), batch["example_id"].to_pylist(), started)
            self.learner_refs = self.h.learners.train_step_async(batch.drop_columns(["batch_token"]).to_pylist())
            self.learner_deadline = started + rt.rpc_timeout_s

    @guarded
    def _commit_step(self) -> None:
        """The learner step finished: mark its batch trained and move to the next version."""
        batch_token, batch_ids, started = self._in_flight_step
        metrics = self.h.learners.finish_step(self.learner_refs)
        self.learner_refs = self._in_flight_step = None
        self.buffer("commit", batch_token, self.state.version, batch_ids)
        self.state.version += 1
        for g in range(self.h.colocated):  # a colocated rank holds the new version the moment it steps
            self.gen_version[g] = self.state.version
        self.fill.reset()
        self.telemetry.on_step(metrics, time.monotonic() - started)
        self._snapshot = None

    def run(self, progress: RunProgress) -> None:
        rt = self.cfg.runtime
        while self.state.version < rt.total_steps:
            for g in range(self.n_gen):
                if self._admitted(g):
                    self._launch_rollout(g)
            # A take can only succeed once the queue holds a batch: the sizes the buffer returned say when,
            # so the loop's other wake-ups (a generation, a sync) cost no buffer call.
            if self.learner_refs is None and self.buffer_size >= rt.train_batch_size:
                self._launch_step()
            if not self.pending and self.learner_refs is None:
                self._launch_step()  # the known size may be stale (a restarted buffer re-queues its batch)
                for g in range(self.n_gen):  # `take` refreshed the buffer size (e.g. after an eviction)
                    if self._admitted(g):
                        self._launch_rollout(g)
            if not self.pending and self.learner_refs is None:
                raise RuntimeError("the pipeline is idle with nothing to train: no generator is admitted "
                                   "and the buffer holds too few examples (check batch sizes and staleness)")
            ready = self._wait(self.learner_refs[:1] if self.learner_refs else [])
            for ref in ready:
                if self.learner_refs and ref == self.learner_refs[0]:
                    self._commit_step()
                    if self.pipeline.online:
                        self._launch_sync()
                    if self.on_step is not None:
                        self.on_step(self)
                    self.telemetry.log_step(self.state.version, self.buffer("stats"))
                    progress.advance(self.telemetry.last_loss)
                    continue
                self._dispatch(ref)
        self.drain()

    def settle(self) -> None:
        """After a stop: finish the learner step in flight and the calls already started, start nothing new."""
        if self.learner_refs is not None:
            ready = wait_any(self.learner_refs[:1], self.learner_deadline)
            if not ready:
                raise RuntimeTimeout("learner train step did not finish within its timeout")
            self._commit_step()
            self.telemetry.log_step(self.state.version, self.buffer("stats"))
        self.drain()

    @guarded
    def _dispatch(self, ref) -> None:
        item = self.pending.pop(ref)
        if item.kind == "gen":
            self.gen_busy[item.index] = False
            self.telemetry.on_generation(time.monotonic() - item.started)
        elif item.kind == "rollout":
            self._on_rollout(ref, item)
        elif item.kind in ("send", "sync"):
            try:
                ray.get(ref)
            except (ray.exceptions.RayTaskError, ray.exceptions.RayActorError) as err:
                if item.kind == "send" or self.collective or not actor_died(err):
                    raise WeightSyncError(f"{item.what} failed: {err}") from err
                # The generator restarted from its initial weights: push the current ones (a restarted
                # actor is in no collective group, so only point-to-point transports recover this way).
                self.gen_version[item.index] = self.recovery.restore_generator(item.index, self.state.version,
                                                                               self.weight_buckets)
                self.syncing[item.index] = False
                return
            if item.kind == "send":
                return
            self.syncing[item.index] = False
            self.gen_version[item.index] = max(self.gen_version[item.index], item.version)
            self.telemetry.on_sync(time.monotonic() - item.started)

    def drain(self) -> None:
        """Wait for in-flight work so the final state (and the accounting) is settled."""
        while self.pending:
            for ref in self._wait([]):
                self._dispatch(ref)

    def wait_for_generator(self, g: int, version: int) -> None:
        """Block until generator g holds `version` (used before evaluating it)."""
        if self.gen_version[g] < version and not any(self.syncing):
            self._launch_sync()  # offline runs push weights only when a generator needs them
        while self.gen_version[g] < version:
            for ref in self._wait([]):
                self._dispatch(ref)
