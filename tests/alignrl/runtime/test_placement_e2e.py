"""Per-role placement on a simulated multi-node cluster (ray.cluster_utils), in a process of its own."""

import json
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.cpu


def test_roles_land_where_the_config_says(warm_policy, tmp_path, repo_root):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tests.alignrl.runtime.multinode_drill", str(warm_policy),
                           str(tmp_path)], cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"generator"')]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(lines[-1])
    assert report["generator"] == report["gen_node"]
    assert report["learners"] == [report["learn_node"]] * 2  # packed onto the learner node
    assert report["steps"] == 2
    assert "tpu_node: need 1, cluster has 0" in report["unsatisfiable"]
    assert time.monotonic() - started < 600
