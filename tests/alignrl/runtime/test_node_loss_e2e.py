"""Node loss: the node hosting the generator disappears mid-run. The run must end with a clear
message naming what it lost within 60 s (or finish on what is left), never hang."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cpu


def test_losing_the_generator_node_fails_clearly_within_a_minute(warm_policy, tmp_path, repo_root):
    done = subprocess.run([sys.executable, "-m", "tests.alignrl.runtime.node_loss_drill", str(warm_policy),
                           str(tmp_path)], cwd=repo_root, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"outcome"')]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(lines[-1])
    assert report["seconds_after_removal"] is not None and report["seconds_after_removal"] < 60, report
    if report["outcome"] == "error":
        assert "generator-0" in report["message"], report
