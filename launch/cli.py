"""`alignrl`: train, warm up, inspect configs, list algorithms and tasks, make datasets."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from alignrl.config import ConfigError, dump_config, load_config
from alignrl.data.readers import DataError
from alignrl.metrics import redact_text
from alignrl.launch import rm_cli


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="run config (YAML)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field, e.g. --set runtime.max_staleness=0 (repeatable)")


def _out_dir(args, config_path: str) -> Path:
    return Path(args.out) if args.out else Path("runs") / Path(config_path).stem


def cmd_config(args) -> int:
    if args.fields:
        from alignrl.config.loader import describe_fields

        for key, kind, default, doc in describe_fields():
            print(f"{key:38s} {kind:10s} {default:14s} {doc}")
        return 0
    if not args.config:
        raise ConfigError("alignrl config needs a CONFIG file (or --fields)")
    cfg = load_config(args.config, args.overrides)
    print(dump_config(cfg), end="")
    return 0


def cmd_sft(args) -> int:
    from alignrl.models.sft import run_sft

    cfg = load_config(args.config, args.overrides)
    out = _out_dir(args, args.config)
    result = run_sft(cfg, out)
    print(f"SFT warm-up: held-out reward {result.reward_before:.3f} -> {result.reward_after:.3f} "
          f"(exact match {result.exact_match_after:.2f}) in {result.seconds:.1f}s; policy saved to {result.model_dir}")
    return 0


def stop_message(stop, args) -> str:
    """One line: what stopped the run, where it stood, and the exact command that resumes it."""
    where = f"after step {stop.step}" if stop.step is not None else "before the first step"
    if not stop.checkpoint:
        return f"stopped by {stop.name} {where}; no checkpoint was written (--checkpoint-on-stop saves one)"
    command = ["alignrl", "train", args.config, *[a for o in args.overrides for a in ("--set", o)],
               "--out", str(_out_dir(args, args.config)), "--resume", stop.checkpoint]
    if args.ray_address:
        command += ["--ray-address", args.ray_address]
    return f"stopped by {stop.name} {where}; resume from {Path(stop.checkpoint).name} with: {shlex.join(command)}"


def cmd_train(args) -> int:
    cfg = load_config(args.config, args.overrides)  # every key is checked before anything starts
    from alignrl.runtime.quiet import LOG_NAME as RUN_LOG
    from alignrl.runtime.stopping import StopRequested
    from alignrl.runtime.train import run_training

    out = _out_dir(args, args.config)
    try:
        result = run_training(cfg, out, resume=args.resume, ray_address=args.ray_address,
                              checkpoint_on_stop=args.checkpoint_on_stop, verbose=args.verbose)
    except StopRequested as stop:
        print(stop_message(stop, args), file=sys.stderr)
        return stop.exit_code
    except Exception:
        if not args.verbose and (out / RUN_LOG).is_file():
            print(f"actor output and library notices of this run: {out / RUN_LOG}", file=sys.stderr)
        raise
    print(f"{cfg.algorithm.name}: held-out reward {result.reward_before:.3f} -> {result.reward_after:.3f} "
          f"after {result.steps} steps in {result.seconds:.1f}s; outputs in {result.out_dir}")
    return 0


def cmd_submit(args) -> int:
    from alignrl.launch import jobs

    load_config(args.config, args.overrides)  # fail here, not on the cluster, on a bad config
    job_id = jobs.submit(args.config, args.overrides, args.address, args.out)
    print(f"submitted job {job_id}")
    if args.no_follow:
        return 0
    status = jobs.follow(job_id, args.address)
    print(f"job {job_id}: {status}")
    return 0 if status == "SUCCEEDED" else 1


def cmd_jobs(args) -> int:
    from alignrl.launch import jobs

    for job in jobs.list_jobs(args.address):
        print(f"{job['job_id']:28s} {job['status']:10s} {job['entrypoint']}")
    return 0


def cmd_logs(args) -> int:
    from alignrl.launch import jobs

    if args.follow:
        jobs.follow(args.job_id, args.address)
    else:
        print(jobs.logs(args.job_id, args.address), end="")
    return 0


def cmd_stop(args) -> int:
    from alignrl.launch import jobs

    jobs.stop(args.job_id, args.address)
    print(f"job {args.job_id}: {jobs.wait(args.job_id, args.address, timeout_s=60)}")
    return 0


def cmd_bench(args) -> int:
    from alignrl.bench.run import run_bench

    out = _out_dir(args, args.config)
    report = run_bench(args.config, out, args.overrides)
    print((out / "bench.md").read_text(), end="")
    print(f"bench: {len(report['runs'])} runs; bench.json, bench.md and plots in {out}")
    return 0


def cmd_algorithms(args) -> int:
    from alignrl.algorithms import ALGORITHMS

    for name, spec in sorted(ALGORITHMS.items()):
        sources = "/".join(spec.sources)  # the default source first
        print(f"{name:14s} {spec.kind:13s} {sources:15s} {spec.summary}")
    return 0


def cmd_tasks(args) -> int:
    from alignrl.tasks import TASKS

    for name, cls in sorted(TASKS.items()):
        print(f"{name:14s} prefix {cls.prefix!r:8s} {(cls.__doc__ or '').strip()}")
    return 0


def cmd_oracle_prefs(args) -> int:
    from alignrl.data.oracle_prefs import write_oracle_preferences

    cfg = load_config(args.config, args.overrides)
    n = write_oracle_preferences(cfg, args.out, per_oracle=args.per_oracle)
    print(f"wrote {n} preference pairs to {args.out}")
    return 0


def cmd_models(args) -> int:
    from alignrl.models.smollm2 import HUB_ID, build_smollm2

    out = build_smollm2(args.out)
    print(f"{HUB_ID} (offline build) in {out}: use it as model.path")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alignrl", description="Distributed RLHF on Ray: DPO, ReAlign, VAR, RAO, GRPO")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="run an alignment job from a config")
    _add_config_args(p)
    p.add_argument("--out", help="output directory (default runs/<config stem>)")
    p.add_argument("--resume", help="run or checkpoint directory to continue from")
    p.add_argument("--ray-address", help="join this Ray cluster instead of starting an embedded local one")
    p.add_argument("--checkpoint-on-stop", action="store_true",
                   help="on Ctrl-C/SIGTERM, finish the step in flight and write a checkpoint before exiting")
    p.add_argument("--verbose", action="store_true",
                   help="print Ray's and DeepSpeed's notices and every actor's output (default: OUT/logs/run.log)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sft", help="SFT warm-up of the policy on the config's tasks")
    _add_config_args(p)
    p.add_argument("--out", help="output directory (default runs/<config stem>)")
    p.set_defaults(func=cmd_sft)

    p = sub.add_parser("config", help="validate a config and print it resolved, or document every field")
    p.add_argument("config", nargs="?", help="run config (YAML)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--show", action="store_true", help="print the resolved config (the default action)")
    p.add_argument("--fields", action="store_true", help="list every config field with its type, default and doc")
    p.set_defaults(func=cmd_config)

    address_help = "Ray job server (default $RAY_ADDRESS or http://127.0.0.1:8265, what `ray dashboard` forwards)"
    p = sub.add_parser("submit", help="run `alignrl train` as a job on a Ray cluster and stream its logs")
    _add_config_args(p)
    p.add_argument("--address", help=address_help)
    p.add_argument("--out", help="output directory on the cluster")
    p.add_argument("--no-follow", action="store_true", help="print the job id and return at once")
    p.set_defaults(func=cmd_submit)
    p = sub.add_parser("jobs", help="list the cluster's jobs")
    p.add_argument("--address", help=address_help)
    p.set_defaults(func=cmd_jobs)
    p = sub.add_parser("logs", help="print (or --follow) a job's logs")
    p.add_argument("job_id")
    p.add_argument("--address", help=address_help)
    p.add_argument("--follow", action="store_true", help="stream until the job ends")
    p.set_defaults(func=cmd_logs)
    p = sub.add_parser("stop", help="stop a job")
    p.add_argument("job_id")
    p.add_argument("--address", help=address_help)
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("bench", help="offline vs online and sync vs async throughput, side by side (bench.json/md/png)")
    _add_config_args(p)
    p.add_argument("--out", help="output directory (default runs/<config stem>)")
    p.set_defaults(func=cmd_bench)

    sub.add_parser("algorithms", help="list the registered algorithms").set_defaults(func=cmd_algorithms)
    sub.add_parser("tasks", help="list the verifiable tasks").set_defaults(func=cmd_tasks)

    p = sub.add_parser("oracle-prefs", help="write an offline preference dataset from the scripted oracles")
    _add_config_args(p)
    p.add_argument("--out", required=True, help="output .parquet or .jsonl file")
    p.add_argument("--per-oracle", type=int, default=5, help="samples per oracle per prompt")
    p.set_defaults(func=cmd_oracle_prefs)
    p = sub.add_parser("models", help="build a real model as a plain HF dir offline (smollm2: SmolLM2-135M-Instruct)")
    p.add_argument("name", choices=["smollm2"], help="which model")
    p.add_argument("--out", required=True, help="directory to write (reused when already complete)")
    p.set_defaults(func=cmd_models)
    rm_cli.add_commands(sub)
    return parser


def _runtime_errors() -> tuple[type[BaseException], ...]:
    """Failures of a started run, printed as one line (the traceback adds nothing for users)."""
    from alignrl.rewards import RewardError
    from alignrl.runtime.checkpoint import CheckpointError
    from alignrl.runtime.calls import ActorLostError, FillError
    from alignrl.runtime.controller import RuntimeTimeout, WeightSyncError
    from alignrl.learners.group import LearnerError
    from alignrl.models.smollm2 import ModelBuildError
    from alignrl.runtime.session import ClusterConnectError

    return (RewardError, CheckpointError, RuntimeTimeout, WeightSyncError, LearnerError, ActorLostError, FillError,
            ModelBuildError, ClusterConnectError)


def _root_cause(err: BaseException) -> BaseException:
    """Unwrap Ray's task errors down to the exception the actor raised."""
    cause = getattr(err, "cause", None)
    return _root_cause(cause) if isinstance(cause, BaseException) else err


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:  # before a run installs its own handlers (imports, config loading)
        print("interrupted", file=sys.stderr)
        return 130
    except (ConfigError, DataError, FileNotFoundError) as err:
        print(f"error: {redact_text(str(err))}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - classify, then re-raise what we do not recognise
        root = _root_cause(err)
        if isinstance(root, _runtime_errors()) or isinstance(root, (ConfigError, DataError)):
            print(f"error: {redact_text(str(root))}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
