"""`alignrl submit / jobs / logs / stop`: Ray job submission for alignrl runs."""

from __future__ import annotations

import asyncio
import os
import shlex
import time

from alignrl.metrics import redact_text
from alignrl.runtime.session import use_ray_token_auth

# Never upload these with the job: virtualenvs, run outputs and checkpoints blow past Ray's size limit.
EXCLUDES = [".git", ".venv", ".venv-vllm", "runs", "wandb", "**/wandb", "**/checkpoints", "**/__pycache__",
            "*.egg-info", ".pytest_cache"]
DEFAULT_ADDRESS = "http://127.0.0.1:8265"  # `ray dashboard cluster.yaml` forwards the head's port here
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def job_client(address: str | None):
    use_ray_token_auth()
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(address or os.environ.get("RAY_ADDRESS") or DEFAULT_ADDRESS)


def train_entrypoint(config: str, overrides: list[str], out: str | None) -> str:
    parts = ["alignrl", "train", config, *[arg for o in overrides for arg in ("--set", o)]]
    if out:
        parts += ["--out", out]
    return shlex.join(parts + ["--ray-address", "auto"])


def submit(config: str, overrides: list[str], address: str | None, out: str | None = None,
           working_dir: str = ".", agent_wait_s: float = 120.0) -> str:
    """Submit `alignrl train` as a Ray job whose working dir is this checkout (without the heavy parts).

    A head that has just started answers before its job agent is up ("No available agent"):
    that case is retried for `agent_wait_s`, every other error is raised at once.
    """
    client = job_client(address)
    deadline = time.monotonic() + agent_wait_s
    while True:
        try:
            return client.submit_job(
                entrypoint=train_entrypoint(config, overrides, out),
                runtime_env={"working_dir": working_dir, "excludes": EXCLUDES},
                metadata={"alignrl_config": os.path.basename(config)},
            )
        except RuntimeError as err:
            if "No available agent" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(2.0)


def follow(job_id: str, address: str | None, printer=print) -> str:
    """Stream a job's logs until it ends; returns its final status."""
    client = job_client(address)

    async def tail():
        async for chunk in client.tail_job_logs(job_id):
            printer(redact_text(chunk), end="")

    asyncio.run(tail())
    return wait(job_id, address, timeout_s=60)


def wait(job_id: str, address: str | None, timeout_s: float) -> str:
    client = job_client(address)
    deadline = time.monotonic() + timeout_s
    while True:
        status = str(client.get_job_status(job_id)).split(".")[-1]
        if status in TERMINAL or time.monotonic() > deadline:
            return status
        time.sleep(1.0)


def list_jobs(address: str | None) -> list[dict]:
    return [{"job_id": j.submission_id, "status": str(j.status).split(".")[-1], "entrypoint": j.entrypoint}
            for j in job_client(address).list_jobs()]


def logs(job_id: str, address: str | None) -> str:
    return redact_text(job_client(address).get_job_logs(job_id))


def stop(job_id: str, address: str | None) -> bool:
    return job_client(address).stop_job(job_id)
