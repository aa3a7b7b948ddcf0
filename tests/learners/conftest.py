"""One in-process gloo rank for the learner tests that drive PolicyEngine without Ray."""

import datetime
import os

import pytest

from alignrl.resources import free_port


@pytest.fixture(scope="session")
def one_rank():
    """Initialised once per session (DeepSpeed caches its groups, so it cannot be re-initialised); the
    rendezvous env is restored at once, but for LOCAL_RANK=0, which DeepSpeed reads at every initialize."""
    import deepspeed
    import torch.distributed as dist

    saved = dict(os.environ)
    os.environ.update({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port("127.0.0.1"))})
    try:
        deepspeed.init_distributed(dist_backend="gloo", auto_mpi_discovery=False,
                                   timeout=datetime.timedelta(seconds=60))
    finally:
        os.environ.clear()
        os.environ.update(saved, LOCAL_RANK=saved.get("LOCAL_RANK", "0"))
    yield
    dist.destroy_process_group()
