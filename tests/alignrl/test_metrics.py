import math

from alignrl.metrics import MetricsSink, read_metrics, redact


def test_jsonl_sink(tmp_path):
    with MetricsSink(tmp_path) as sink:
        sink.log(0, {"eval/reward_mean": 0.25})
        sink.log(1, {"loss": 0.5, "bad": math.nan})
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert rows == [{"step": 0, "eval/reward_mean": 0.25}, {"step": 1, "loss": 0.5, "bad": None}]


def test_redaction():
    assert redact({"wandb": {"api_key": "abc", "project": "p"}, "token": "t"}) == {
        "wandb": {"api_key": "***", "project": "p"}, "token": "***"}
