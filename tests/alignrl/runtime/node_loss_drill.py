"""Run by test_node_loss_e2e.py in its own process: remove the node hosting the generator mid-run.

Prints one JSON line: how the run ended ("finished" or "error"), the error message, and the
seconds from the node's removal to that end.
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

# Declare a lost node dead in seconds, not the default ~15-65 s (docs/architecture.md, Faults and timeouts).
os.environ.update({"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "1000",
                   "RAY_health_check_failure_threshold": "3"})

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from alignrl.runtime.train import run_training  # noqa: E402
from tests.conftest import e2e_config  # noqa: E402


def _steps(metrics: Path) -> int:
    if not metrics.is_file():
        return 0
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    return max((r["step"] for r in rows if "loss" in r), default=0)


def main(policy_dir: str, out: str) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 4})
    gen_node = cluster.add_node(num_cpus=1, resources={"gen_node": 1})
    ray.init(address=cluster.address, namespace="alignrl")
    removed_at: list[float] = []

    def remove_after_three_steps() -> None:
        while _steps(Path(out) / "metrics.jsonl") < 3:
            time.sleep(0.2)
        removed_at.append(time.monotonic())
        cluster.remove_node(gen_node, allow_graceful=False)

    cfg = e2e_config(policy_dir, runtime={"total_steps": 400, "rpc_timeout_s": 30, "sync_timeout_s": 20,
                                          "max_actor_restarts": 1},
                     resources={"placement": {"generator": {"resources": {"gen_node": 1}}}})
    threading.Thread(target=remove_after_three_steps, daemon=True).start()
    try:
        run_training(cfg, out)
        report = {"outcome": "finished", "message": ""}
    except Exception as err:  # noqa: BLE001 - the drill reports whatever ended the run
        report = {"outcome": "error", "message": f"{type(err).__name__}: {err}"[:2000]}
    report["seconds_after_removal"] = time.monotonic() - removed_at[0] if removed_at else None
    print(json.dumps(report))
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
