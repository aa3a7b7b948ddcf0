"""Run by test_placement_e2e.py in its own process: a simulated 3-node Ray cluster, per-role placement.

Prints one JSON line: the node each role landed on, the nodes' custom resources, and the steps run.
"""

import json
import sys

import ray
from ray.cluster_utils import Cluster

from alignrl.metrics import MetricsSink
from alignrl.data.prompts import prompt_splits
from alignrl.runtime.controller import Controller, ControllerState
from alignrl.runtime.pipelines import Pipeline
from alignrl.runtime.placement import PlacementError
from alignrl.runtime.progress import RunProgress
from alignrl.runtime.session import RaySession
from alignrl.runtime.setup import initial_policy
from alignrl.runtime.wiring import place_actors
from alignrl.runtime.telemetry import Telemetry
from alignrl.runtime.train import _encode_prompts
from tests.conftest import e2e_config


def main(policy_dir: str, out: str) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    gen_node = cluster.add_node(num_cpus=2, resources={"gen_node": 2})
    learn_node = cluster.add_node(num_cpus=3, resources={"learn_node": 3})
    ray.init(address=cluster.address, namespace="alignrl")
    try:
        cfg = e2e_config(policy_dir, runtime={"total_steps": 2}, resources={"placement": {
            "generator": {"resources": {"gen_node": 1}},
            "learner": {"resources": {"learn_node": 1}, "strategy": "pack"},
            "reference": {"resources": {"learn_node": 0.1}},
        }}, learner={"reference": "actor"})
        from pathlib import Path

        policy, tokenizer = initial_policy(cfg, Path(out))
        prompts = _encode_prompts(cfg, tokenizer, prompt_splits(cfg).train)
        with RaySession(cfg) as session:
            pipeline = Pipeline(cfg, prompts, None)
            handles = place_actors(cfg, session, policy, None, pipeline.schema)
            handles.learners.setup(cfg.model_dump(mode="json", by_alias=True), str(policy), 2)
            with MetricsSink(out) as sink:
                controller = Controller(cfg, handles, pipeline, Telemetry(sink, 1, 16), ControllerState())
                controller.run(RunProgress(2, 0, enabled=False))
            report = {
                "generator": ray.get(handles.generators[0].stats.remote())["node_id"],
                "learners": ray.get([w.node_id.remote() for w in handles.learners.workers]),
                "gen_node": gen_node.node_id,
                "learn_node": learn_node.node_id,
                "steps": controller.state.version,
            }
        too_big = e2e_config(policy_dir, resources={"placement": {"generator": {"resources": {"tpu_node": 1}}}})
        try:
            with RaySession(too_big) as session:
                place_actors(too_big, session, policy, None, pipeline.schema)
            report["unsatisfiable"] = "placed?!"
        except PlacementError as err:
            report["unsatisfiable"] = str(err)
        print(json.dumps(report))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
