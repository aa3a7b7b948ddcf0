"""The cluster-launcher configs validate against Ray's own schema and keep the dashboard private."""

import copy

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CONFIGS = ["cluster.yaml", "configs/cluster.local.yaml"]


def _load(repo_root, name):
    return yaml.safe_load((repo_root / name).read_text())


@pytest.mark.parametrize("name", CONFIGS)
def test_validates_with_ray(repo_root, name):
    config = prepare_config(copy.deepcopy(_load(repo_root, name)))  # the pair `ray up` itself runs
    validate_config(config)


@pytest.mark.parametrize("name", CONFIGS)
def test_dashboard_and_job_server_stay_on_loopback(repo_root, name):
    config = _load(repo_root, name)
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    assert any("alignrl[gpu]" in cmd for cmd in config["setup_commands"])


def test_aws_cluster_has_a_head_and_a_gpu_worker_type(repo_root):
    config = _load(repo_root, "cluster.yaml")
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    assert any(t["node_config"]["InstanceType"].startswith(("g5", "p4", "p5")) for t in types.values())
